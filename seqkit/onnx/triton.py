"""A Triton Inference Server model repository from an exported file: ``REPO/NAME/1/model.onnx`` + ``config.pbtxt``.

Triton's onnxruntime backend (``platform: "onnxruntime_onnx"``) serves the file; ``max_batch_size`` > 0 lets
Triton batch requests, and then every tensor must be batch-first, its config ``dims`` without the batch axis
(dynamic axes as -1; a ``[batch]`` tensor such as ``lengths`` is ``dims: [1]`` reshaped to ``[]``).

Plain files get ``dynamic_batching``. A ``--streaming`` file gets ``sequence_batching`` with *implicit state*:
Triton keeps each sequence's recurrent state between requests, feeding every state input from its paired state
output (``state_in_h`` <- ``state_out_h``: names that sort the same on both sides), zeros at a sequence's start.
Its ONNX state is ``[layers, batch, hidden]``, so the copy in the repository is rewritten at its edges: state
inputs and outputs become batch-first ``[batch, layers, hidden]`` (a Transpose each), and a ``START`` control
input (``int32 [batch, 1]``, 1 on a sequence's first request) zeroes the incoming state, so a reused batch slot
never leaks another sequence's state. Nothing else in the graph changes. Needs ``onnx`` (not torch).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from seqkit.errors import SeqkitError

TYPES = {"float32": "TYPE_FP32", "int64": "TYPE_INT64"}
START = "START"


def _dims(shape) -> list[int]:
    return [a if isinstance(a, int) else -1 for a in shape]


def _tensor(spec, dims) -> str:
    text = f'  {{\n    name: "{spec.name}"\n    data_type: {TYPES[spec.dtype]}\n    dims: {dims}\n'
    if dims == [1] and len(spec.shape) == 1:
        text += "    reshape: { shape: [ ] }\n"
    return text + "  }"


def config(name: str, model, max_batch_size: int, state_dims: dict | None = None) -> str:
    """The ``config.pbtxt`` text for ``model`` (a :class:`seqkit.runtime.Model`)."""
    state = {s.name for s in model.inputs if s.kind == "state"} | {s.name for s in model.outputs
                                                                   if s.kind == "state"}
    blocks = [f'name: "{name}"', 'platform: "onnxruntime_onnx"', f"max_batch_size: {max_batch_size}"]
    for kind, specs in (("input", model.inputs), ("output", model.outputs)):
        entries = []
        for spec in specs:
            if spec.kind == "state" and kind == "input":
                continue  # implicit state: Triton feeds it
            shape = list(spec.shape)
            if spec.name in state:  # batch-first at the file's edges
                shape = ["batch"] + [a for a in shape if a != "batch"]
            if max_batch_size > 0:
                if shape[0] != "batch":
                    raise SeqkitError(f"{model.path}: {kind} '{spec.name}' {spec.pretty()} is not batch-first; "
                                      f"Triton batches only batch-first tensors (use --max-batch-size 0)")
                shape = shape[1:]
            entries.append(_tensor(spec, _dims(shape) or [1]))
        blocks.append(f"{kind} [\n" + ",\n".join(e for e in entries if e) + "\n]")
    if state_dims is None:
        blocks.append("dynamic_batching { }")
    else:
        states = []
        for d in model.streaming["state"]:
            dims = state_dims[d["input"]]
            dtype = TYPES[d.get("dtype", "float32")]
            states.append(f'    {{\n      input_name: "{d["input"]}"\n      output_name: "{d["output"]}"\n'
                          f"      data_type: {dtype}\n      dims: {dims}\n"
                          f'      initial_state: {{ data_type: {dtype} dims: {dims} zero_data: true name: "zero" }}\n'
                          f"    }}")
        blocks.append("sequence_batching {\n  max_sequence_idle_microseconds: 60000000\n"
                      f'  control_input [\n    {{\n      name: "{START}"\n      control [\n'
                      "        { kind: CONTROL_SEQUENCE_START int32_false_true: [ 0, 1 ] }\n      ]\n    }\n  ]\n"
                      "  state [\n" + ",\n".join(states) + "\n  ]\n}")
    return "\n".join(blocks) + "\n"


def batch_first_state(onnx_model, model) -> dict[str, list[int]]:
    """Rewrite ``onnx_model`` in place: state inputs/outputs batch-first, a START input that zeroes the incoming
    state; returns each state input's dims without the batch axis."""
    from onnx import TensorProto, helper

    graph = onnx_model.graph
    pairs = {d["input"]: d["output"] for d in model.streaming["state"]}
    nodes, dims = [], {}
    start_f = "seqkit_triton_start_f"
    nodes += [helper.make_node("Cast", [START], ["seqkit_triton_start_cast"], to=TensorProto.FLOAT),
              helper.make_node("Reshape", ["seqkit_triton_start_cast", "seqkit_triton_shape"], [start_f]),
              helper.make_node("Sub", ["seqkit_triton_one", start_f], ["seqkit_triton_keep"])]
    inits = [helper.make_tensor("seqkit_triton_shape", TensorProto.INT64, [3], [-1, 1, 1]),
             helper.make_tensor("seqkit_triton_one", TensorProto.FLOAT, [], [1.0])]
    for value in list(graph.input):
        if value.name not in pairs:
            continue
        old = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in value.type.tensor_type.shape.dim]
        if len(old) != 3:
            raise SeqkitError(f"{model.path}: state input '{value.name}' has rank {len(old)}; expected "
                              f"[layers, batch, hidden]")
        dims[value.name] = [int(old[0]), int(old[2])]
        outer = f"{value.name}__batch_first"
        new = helper.make_tensor_value_info(value.name, value.type.tensor_type.elem_type, ["batch", old[0], old[2]])
        nodes += [helper.make_node("Mul", [value.name, "seqkit_triton_keep"], [outer]),
                  helper.make_node("Transpose", [outer], [f"{value.name}__inner"], perm=[1, 0, 2])]
        for node in graph.node:
            node.input[:] = [f"{value.name}__inner" if i == value.name else i for i in node.input]
        graph.input.remove(value)
        graph.input.append(new)
    graph.input.append(helper.make_tensor_value_info(START, TensorProto.INT32, ["batch", 1]))
    tail = []
    for value in list(graph.output):
        if value.name not in pairs.values():
            continue
        old = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in value.type.tensor_type.shape.dim]
        inner = f"{value.name}__inner"
        for node in graph.node:
            node.output[:] = [inner if o == value.name else o for o in node.output]
            node.input[:] = [inner if i == value.name else i for i in node.input]
        tail.append(helper.make_node("Transpose", [inner], [value.name], perm=[1, 0, 2]))
        graph.output.remove(value)
        graph.output.append(helper.make_tensor_value_info(value.name, value.type.tensor_type.elem_type,
                                                          ["batch", old[0], old[2]]))
    body = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + body + tail)
    graph.initializer.extend(inits)
    return dims


def write_repository(path: str | os.PathLike, repo: str | os.PathLike, name: str | None = None,
                     max_batch_size: int = 64, force: bool = False) -> Path:
    """Write ``REPO/NAME/1/model.onnx`` and ``REPO/NAME/config.pbtxt`` for the exported file at ``path``."""
    import onnx

    from seqkit.files import atomic_write
    from seqkit.runtime import load

    model = load(path)
    name = name or Path(path).stem
    target = Path(repo) / name
    if target.exists() and not force:
        raise SeqkitError(f"{target} exists; use --force to replace it")
    proto = onnx.load(str(path))
    state_dims = None
    if model.streaming:
        if max_batch_size < 1:
            raise SeqkitError("a --streaming file needs --max-batch-size >= 1 for Triton's sequence batcher")
        state_dims = batch_first_state(proto, model)
        onnx.checker.check_model(proto)
    text = config(name, model, max_batch_size, state_dims)
    if target.exists():
        shutil.rmtree(target)
    (target / "1").mkdir(parents=True)
    atomic_write(target / "1" / "model.onnx", proto.SerializeToString())
    atomic_write(target / "config.pbtxt", text.encode())
    return target
