"""Fixed-shape serving with IO binding, and CUDA graphs on the CUDA provider (numpy + onnxruntime only).

A :class:`BoundSession` keeps its inputs and outputs in buffers on the device, bound once. Each call copies the
new inputs into those buffers (``OrtValue.update_inplace``) and runs. With ``cuda_graph=True`` (CUDA provider,
``enable_cuda_graph``) the first run is *captured* and every later run replays the whole graph with one launch:
no per-node launch overhead, which dominates small batches. The price: the shapes are fixed at capture (a fixed
batch, a streaming chunk); another shape needs another BoundSession.

onnxruntime refuses capture for graphs with copies between host and GPU or with control flow (see
:mod:`seqkit.runtime.placement`); export with ``--provider cuda`` (``--lowering native-masked``) for a graph
without them.
"""
from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort

from seqkit.errors import ProviderError, SeqkitError
from seqkit.runtime.session import open_session

DTYPES = {"float32": np.float32, "int64": np.int64, "float16": np.float16, "int32": np.int32}


class BoundSession:
    """Runs a seqkit ONNX file at the shapes of ``example`` (``{input name: array}``) through IO binding.

    ``provider``: cpu or cuda; ``cuda_graph``: capture on the first run and replay afterwards (cuda only);
    ``precision``: float32 or tf32 (cuda). Output shapes come from the file's ``seqkit.outputs`` metadata.
    """

    def __init__(self, model: str | bytes, example: dict[str, np.ndarray], provider: str = "cuda",
                 cuda_graph: bool = True, precision: str = "float32", threads: int | None = None):
        if cuda_graph and provider != "cuda":
            raise ProviderError("CUDA graphs need the CUDA provider; use provider='cuda' or cuda_graph=False")
        options = {"enable_cuda_graph": "1"} if cuda_graph else {}
        try:
            self.session = open_session(model, provider, threads=threads, precision=precision,
                                        provider_options=options)
        except SeqkitError as exc:
            if cuda_graph:
                raise SeqkitError(f"{exc}; CUDA graphs need a graph without host copies or control flow (check "
                                  f"with 'seqkit verify MODEL --provider cuda'; export with --provider cuda)") from None
            raise
        sess = self.session.session
        self.device = "cuda" if provider == "cuda" else "cpu"
        self.cuda_graph = cuda_graph
        names = [i.name for i in sess.get_inputs()]
        missing = sorted(set(names) - set(example))
        if missing:
            raise SeqkitError(f"example inputs lack {', '.join(missing)}; the model's inputs are {', '.join(names)}")
        self.shapes = {n: tuple(np.asarray(example[n]).shape) for n in names}
        self.binding = sess.io_binding()
        self.inputs = {}
        for name in names:
            # a copy: on the CPU the OrtValue shares the array's memory, and run() writes the next inputs there
            value = ort.OrtValue.ortvalue_from_numpy(np.array(example[name], order="C"), self.device, 0)
            self.inputs[name] = value
            self.binding.bind_ortvalue_input(name, value)
        self.outputs = {}
        for name, shape, dtype in self._output_shapes(sess):
            value = ort.OrtValue.ortvalue_from_shape_and_type(list(shape), dtype, self.device, 0)
            self.outputs[name] = value
            self.binding.bind_ortvalue_output(name, value)
        self.runs = 0

    def _output_shapes(self, sess) -> list[tuple[str, tuple, type]]:
        meta = sess.get_modelmeta().custom_metadata_map
        if "seqkit.outputs" not in meta or "seqkit.inputs" not in meta:
            raise SeqkitError("this file has no seqkit metadata (seqkit.inputs/outputs) to size the bound outputs; "
                              "give a file written by 'seqkit export'")
        sizes: dict[str, int] = {}
        for spec in json.loads(meta["seqkit.inputs"]):
            for axis, dim in zip(spec["shape"], self.shapes.get(spec["name"], ())):
                if isinstance(axis, str):
                    if sizes.setdefault(axis, dim) != dim:
                        raise SeqkitError(f"input '{spec['name']}' has {axis} = {dim}, another input has "
                                          f"{sizes[axis]}")
        out = []
        for spec in json.loads(meta["seqkit.outputs"]):
            shape = tuple(sizes[a] if isinstance(a, str) else a for a in spec["shape"])
            out.append((spec["name"], shape, DTYPES[spec.get("dtype", "float32")]))
        return out

    def run(self, feeds: dict[str, np.ndarray], copy_out: bool = True) -> list[np.ndarray] | None:
        """Run on ``feeds`` (the shapes of the example); the outputs as numpy arrays (``copy_out=False``: leave
        them on the device, e.g. to time the device work alone)."""
        for name, value in self.inputs.items():
            arr = np.ascontiguousarray(feeds[name])
            if arr.shape != self.shapes[name]:
                raise SeqkitError(f"input '{name}' has shape {arr.shape}, but this session was bound at "
                                  f"{self.shapes[name]}; open another BoundSession for that shape")
            value.update_inplace(arr)
        self.session.session.run_with_iobinding(self.binding)
        self.runs += 1
        if not copy_out:
            return None
        out = [value.numpy() for value in self.outputs.values()]
        # on the CPU numpy() is a view of the bound buffer, which the next run overwrites
        return [o.copy() for o in out] if self.device == "cpu" else out
