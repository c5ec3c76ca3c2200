"""Smaller, faster copies of a seqkit ONNX file -- written only when they still do the task.

``int8``
    onnxruntime's *dynamic* quantization (``onnxruntime.quantization.quantize_dynamic``): weights of ``MatMul``
    (the quantizer turns ``Gemm`` heads into one), ``LSTM`` and embedding ``Gather`` nodes stored as int8,
    activations quantized per call. Native ``RNN`` / ``GRU`` nodes and the recurrence inside a ``Scan`` body
    have no dynamic int8 form in onnxruntime: they stay float32 and are listed. For the CPU.
``fp16``
    every float tensor and node in float16, inputs and outputs kept float32 (onnxruntime's ``float16``
    converter, shipped with onnxruntime, the maintained fork of onnxconverter-common's). For the GPU; on the CPU
    onnxruntime runs most float16 nodes through inserted casts (checked, not fast). Graphs with control flow
    (a ``Scan`` lowering) are refused: onnxruntime 1.32 crashed loading such a converted graph on the CPU.

:func:`quantize` reports size, latency and the task's own metric (on ``data``, e.g. a built-in dataset's test
split) for the float and the quantized model, compares their outputs on random inputs at the verification
shapes with the precision's tolerances, and refuses to write a model whose main metric got worse by more than
``max_drop`` (relative) or whose outputs exceed the tolerances, unless ``force``.
"""
from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch

from seqkit.core.compose import compose_from_config
from seqkit.core.task import TensorSpec, sample_inputs
from seqkit.errors import SeqkitError, described
from seqkit.files import atomic_path
from seqkit.onnx import TRACE_SHAPE
from seqkit.onnx.verify import META_PREFIX, compare, read_metadata, verification_shapes
from seqkit.runtime.session import open_session

MODES = ("int8", "fp16")
#: (atol, rtol) against the float model, elementwise |q - f| <= atol + rtol * |f|, per precision, on random
#: inputs at the verification shapes. Measured on trained basic-motions models (docs/performance.md): int8 up to
#: 0.43 on logits (random inputs are off the data's distribution; the metric on --data is the real check, this
#: catches a broken model), float16 up to 2e-3.
TOLERANCES = {"int8": (1.0, 0.25), "fp16": (2e-2, 1e-2)}
#: default largest relative worsening of the task's main metric (2%: accuracy 0.90 may fall to 0.882)
DEFAULT_MAX_DROP = 0.02
#: ops onnxruntime's dynamic int8 quantization handles (onnxruntime.quantization.registry.IntegerOpsRegistry)
INT8_OPS = ("MatMul", "LSTM", "Gather", "Conv", "Attention")
LATENCY_SHAPE = (32, 100)


@dataclass
class Side:
    """One model's facts: file size, median latency, the task's metrics on the data."""

    size_bytes: int
    latency_ms: float
    metrics: dict = field(default_factory=dict)


@dataclass
class QuantizeResult:
    mode: str
    source: str
    output: str | None
    written: bool
    provider: str
    float_model: Side
    quantized: Side
    main_metric: str | None
    direction: str | None            # "max" or "min": which way the main metric is better
    drop: float | None               # relative worsening of the main metric (negative: it improved)
    max_drop: float
    tolerances: tuple
    max_abs_err: float
    max_rel_err: float
    outputs_ok: bool
    float_nodes: dict                # op type -> count of nodes that stay float32 (int8: compute nodes only)
    quantized_nodes: dict            # op type -> count of quantized / float16 nodes
    data: str | None
    samples: int
    refused: str | None = None
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _ops(graph: onnx.GraphProto) -> Counter:
    out = Counter()
    for node in graph.node:
        out[node.op_type] += 1
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                out.update(_ops(attr.g))
    return out


#: compute nodes whose float weights matter (what "stays float" means for int8)
_WEIGHTED = ("MatMul", "Gemm", "RNN", "GRU", "LSTM", "Gather", "Conv")


def _fold_recurrent_weights(proto: onnx.ModelProto) -> None:
    """Turn the W / R / B inputs of native recurrent nodes into initializers (the exporter leaves e.g. an
    Unsqueeze of a large weight unfolded), so that dynamic quantization can see them."""
    from onnx import numpy_helper

    from seqkit.onnx.lowering.rewrite import _Rewriter, _set_live, recurrent_nodes

    rw = _Rewriter(proto.graph, proto.opset_import)
    for node in recurrent_nodes(proto):
        for i in (1, 2, 3):
            if len(node.input) > i and node.input[i] and node.input[i] not in rw.inits:
                value = rw.constant(node.input[i])
                if value is not None:
                    name = f"{node.input[i]}_folded"
                    proto.graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), name))
                    node.input[i] = name
    _set_live(proto.graph, list(proto.graph.node))


def to_int8(proto: onnx.ModelProto) -> tuple[onnx.ModelProto, dict, dict]:
    """Dynamic int8 quantization; returns (model, quantized ops, ops that stay float)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    _fold_recurrent_weights(model)
    before = _ops(model.graph)
    with tempfile.TemporaryDirectory(prefix="seqkit-quantize-") as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, src)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # "Please consider to run pre-processing before quantization" on every call
        try:
            quantize_dynamic(src, dst, weight_type=QuantType.QInt8, op_types_to_quantize=list(INT8_OPS))
        except Exception as exc:
            raise SeqkitError(f"onnxruntime's dynamic quantization failed: {described(exc)}") from None
        finally:
            root.setLevel(level)
        out = onnx.load(dst)
    after = _ops(out.graph)
    quantized = {op: n for op, n in after.items() if op in ("MatMulInteger", "DynamicQuantizeLSTM",
                                                              "DynamicQuantizeMatMul", "ConvInteger")}
    if before.get("Gather") and after.get("DequantizeLinear"):
        quantized["Gather (embedding)"] = after["DequantizeLinear"]
    stays = {op: n for op, n in after.items() if op in _WEIGHTED and not (op == "Gather" and "Gather (embedding)"
                                                                           in quantized)}
    return out, quantized, stays


def to_fp16(proto: onnx.ModelProto) -> tuple[onnx.ModelProto, dict, dict]:
    """float16 conversion (inputs and outputs stay float32); returns (model, float16 ops, ops left float32)."""
    control = [n.op_type for n in proto.graph.node if n.op_type in ("Scan", "Loop", "If")]
    if control:
        raise SeqkitError(f"--fp16 does not convert graphs with control flow ({control[0]}: a 'scan' lowering); "
                          f"fp16 is for the GPU: re-export with --provider cuda or --lowering native-masked")
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    try:
        out = convert_float_to_float16(model, keep_io_types=True, op_block_list=list(DEFAULT_OP_BLOCK_LIST))
    except Exception as exc:
        raise SeqkitError(f"float16 conversion failed: {type(exc).__name__}: {exc}") from None
    half, kept = Counter(), Counter()
    types = {vi.name: vi.type.tensor_type.elem_type for vi in [*out.graph.value_info, *out.graph.output,
                                                               *out.graph.input]}
    types.update({t.name: t.data_type for t in out.graph.initializer})
    for node in out.graph.node:
        if node.op_type in ("Cast", "Shape", "Constant"):
            continue
        kinds = {types.get(o) for o in node.output}
        if onnx.TensorProto.FLOAT16 in kinds:
            half[node.op_type] += 1
        elif onnx.TensorProto.FLOAT in kinds:
            kept[node.op_type] += 1
    return out, dict(half), dict(kept)


def _latency(float_sess, quant_sess, inputs: list[TensorSpec], clock: str) -> tuple[float, float]:
    from seqkit.onnx.bench import time_interleaved

    feeds = sample_inputs(inputs, {"batch": LATENCY_SHAPE[0], "time": LATENCY_SHAPE[1]}, np.random.default_rng(0),
                          full_lengths=True)
    timed = time_interleaved({"f": lambda: float_sess.run(feeds), "q": lambda: quant_sess.run(feeds)}, repeats=9,
                             clock=clock)
    return timed["f"][0] * 1e3, timed["q"][0] * 1e3


def _compare_outputs(float_sess, quant_sess, inputs, tol) -> tuple[float, float, bool, str]:
    """The quantized model's outputs against the float model's on random inputs at the verification shapes, each
    by :func:`seqkit.onnx.verify.compare` at ``tol`` (atol, rtol): the largest absolute and relative errors,
    whether every value is within the tolerances, and the first mismatch's note (a shape or non-finite value)."""
    atol, rtol = tol
    rng = np.random.default_rng(1234)
    max_abs = max_rel = 0.0
    ok, first_note = True, ""
    for batch, time in verification_shapes(TRACE_SHAPE):
        feeds = sample_inputs(inputs, {"batch": batch, "time": time}, rng)
        for f, q in zip(float_sess.run(feeds), quant_sess.run(feeds)):
            abs_err, rel_err, within, note = compare(q, f, atol, rtol, "the float model")
            if not math.isfinite(abs_err):  # a wrong shape or non-finite values: nothing more to measure
                return abs_err, rel_err, False, note
            max_abs, max_rel = max(max_abs, abs_err), max(max_rel, rel_err)
            first_note = first_note or ("" if within else note)
            ok = ok and within
    return max_abs, max_rel, ok, first_note


def _metrics(composition, sess, data, batch_size: int) -> dict:
    """The task's loss and metrics over ``data``, from onnxruntime outputs (means weighted by batch size)."""
    task = composition.task
    names = [s.name for s in task.inputs()]
    totals: Counter = Counter()
    count = 0
    for start in range(0, len(data), batch_size):
        samples = [data[i] for i in range(start, min(start + batch_size, len(data)))]
        inputs, target = task.collate(samples)
        feeds = {n: t.numpy() for n, t in zip(names, inputs)}
        outputs = tuple(torch.from_numpy(np.asarray(o, dtype=np.float32)) for o in sess.run(feeds))
        k = len(samples)
        totals["loss"] += float(task.loss(outputs, target)) * k
        for name, value in task.metrics(outputs, target).items():
            totals[name] += float(value) * k
        count += k
    return {name: value / count for name, value in totals.items()}


def default_output(path: str | os.PathLike, mode: str) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem}.{mode}.onnx")


def quantize(path: str | os.PathLike, mode: str, output: str | os.PathLike | None = None, data: str | None = None,
             split: str = "test", max_drop: float = DEFAULT_MAX_DROP, force: bool = False, provider: str = "cpu",
             threads: int | None = None, batch_size: int = 64) -> QuantizeResult:
    """Quantize the seqkit ONNX file ``path`` (``mode`` int8 or fp16), measure, and write it if it still does the
    task (see the module docstring). Nothing is written when refused; the result says why."""
    if mode not in MODES:
        raise SeqkitError(f"unknown quantization {mode!r}; choose --int8 or --fp16")
    if max_drop < 0:
        raise SeqkitError(f"--max-drop must be >= 0 (a fraction, e.g. 0.02 for 2%), got {max_drop}")
    path = Path(path)
    try:
        proto = onnx.load(str(path))
    except Exception as exc:
        raise SeqkitError(f"{path} is not a readable ONNX file ({type(exc).__name__}); give a file written by "
                          f"'seqkit export'") from None
    meta = read_metadata(proto)
    config = meta.get("config")
    if "inputs" not in meta or not isinstance(config, dict):
        raise SeqkitError(f"{path} has no seqkit metadata; quantize a file written by 'seqkit export'")
    if "quantization" in meta:
        raise SeqkitError(f"{path} is already quantized ({meta['quantization'].get('mode')}); quantize the float "
                          f"model instead")
    output = Path(output) if output else default_output(path, mode)
    if output.exists() and not force:
        raise SeqkitError(f"{output} already exists; pass --force to replace it (or -o another path)")
    if output.resolve() == path.resolve():
        raise SeqkitError(f"-o {output} is the input file; write the quantized model elsewhere")
    if not output.parent.is_dir():
        raise SeqkitError(f"cannot write {output}: folder {output.parent} does not exist; create it first")
    inputs = [TensorSpec.from_dict(d) for d in meta["inputs"]]
    # the task measures the metric on --data: rebuilt (and a damaged config refused) before any work
    composition = compose_from_config(config, where=f"{path}: its seqkit.config metadata") if data is not None else None

    quantized, done, stays = to_int8(proto) if mode == "int8" else to_fp16(proto)
    del quantized.metadata_props[:]
    quantized.metadata_props.extend(proto.metadata_props)

    float_sess = open_session(proto.SerializeToString(), provider, threads=threads)
    quant_sess = open_session(quantized.SerializeToString(), provider, threads=threads)
    tol = TOLERANCES[mode]
    max_abs, max_rel, outputs_ok, mismatch = _compare_outputs(float_sess, quant_sess, inputs, tol)
    clock = "cpu" if threads == 1 and provider == "cpu" else "wall"  # one thread: CPU time survives other load
    t_float, t_quant = _latency(float_sess, quant_sess, inputs, clock)

    notes = []
    main = direction = drop = None
    samples = 0
    f_metrics: dict = {}
    q_metrics: dict = {}
    notes.append(f"latency: median of 9 interleaved samples at batch {LATENCY_SHAPE[0]}, time {LATENCY_SHAPE[1]} "
                 f"({clock} clock)")
    if data is not None:
        items = composition.task.load_data(str(data), split)
        samples = len(items)
        if not samples:
            raise SeqkitError(f"{data} ({split}) has no samples to measure the metric on")
        f_metrics = _metrics(composition, float_sess, items, batch_size)
        q_metrics = _metrics(composition, quant_sess, items, batch_size)
        main, direction = composition.task.main_metric()
        f, q = f_metrics[main], q_metrics[main]
        worse = (f - q) if direction == "max" else (q - f)
        drop = worse / abs(f) if abs(f) > 1e-12 else worse
    else:
        notes.append("no --data: the task's metric was not measured; only the outputs were compared (pass --data, "
                     "e.g. the dataset the model was trained on, to check the metric)")

    refused = None
    if drop is not None and drop > max_drop:
        refused = (f"{main} got {drop:.1%} worse ({f_metrics[main]:.4g} -> {q_metrics[main]:.4g}), more than "
                   f"--max-drop {max_drop:.1%}")
    elif not outputs_ok:
        refused = (f"outputs differ from the float model beyond the {mode} tolerances (atol {tol[0]:g}, rtol "
                   f"{tol[1]:g}): max abs {max_abs:.3g}{' ' + mismatch if mismatch else ''}")
    written = False
    if refused is None or force:
        if refused:
            notes.append(f"written despite: {refused} (--force)")
        record = {"mode": mode, "source": path.name, "tolerances": list(tol), "float_nodes": stays,
                  "method": ("onnxruntime.quantization.quantize_dynamic (QInt8 weights)" if mode == "int8"
                             else "onnxruntime.transformers.float16.convert_float_to_float16 (keep_io_types)"),
                  "metric": {"name": main, "float": f_metrics.get(main), "quantized": q_metrics.get(main),
                             "data": data, "split": split} if main else None}
        quantized.metadata_props.add(key=META_PREFIX + "quantization", value=json.dumps(record, sort_keys=True))
        with atomic_path(output) as tmp:
            onnx.save(quantized, tmp)
        written = True
    return QuantizeResult(
        mode, str(path), str(output) if written else None, written, provider,
        Side(len(proto.SerializeToString()), round(t_float, 4), f_metrics),
        Side(len(quantized.SerializeToString()), round(t_quant, 4), q_metrics),
        main, direction, None if drop is None else round(drop, 6), max_drop, tol,
        _finite(max_abs), _finite(max_rel), outputs_ok, stays, done, data, samples, refused, notes)


def _finite(value: float) -> float:
    return value if math.isfinite(value) else float("inf")

