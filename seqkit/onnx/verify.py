"""Proof that an ONNX file computes what its PyTorch model computes -- at shapes it was not traced at.

:func:`check_file` inspects the file alone (onnx.checker, declared names, every declared axis symbolic).
:func:`verify_against_torch` runs it on onnxruntime next to the PyTorch model at the trace shape and at
batch 1, time 1, a time longer than the trace and larger batches, all with padded batches of mixed lengths.
:func:`verify_file` runs a seqkit ONNX file without its PyTorch model (finite outputs, consistent shapes).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np
import onnx
import torch

from seqkit.core.task import TensorSpec, sample_inputs
from seqkit.errors import SeqkitError
from seqkit.onnx import TRACE_SHAPE
from seqkit.runtime import session as runtime

META_PREFIX = "seqkit."


def verification_shapes(trace: tuple[int, int]) -> list[tuple[int, int]]:
    """(batch, time) points: the trace shape, batch 1, time 1, longer than the trace, a larger batch."""
    b, t = trace
    shapes = [(b, t), (1, 1), (1, 3 * t + 2), (b + 2, 1), (b + 2, 2 * t + 3), (2, max(2, t - 3))]
    return list(dict.fromkeys(shapes))


@dataclass
class Check:
    batch: int
    time: int
    output: str
    max_abs: float
    max_rel: float
    ok: bool
    note: str = ""


@dataclass
class Report:
    """What a verification found. ``ok`` is False on any mismatch or file problem."""

    path: str
    provider: str
    providers_used: list[str]
    atol: float | None
    rtol: float | None
    checks: list[Check] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and all(c.ok for c in self.checks)

    def failures(self) -> list[str]:
        out = list(self.problems)
        out += [f"output '{c.output}' at batch={c.batch} time={c.time}: max abs {c.max_abs:.3g}, max rel "
                f"{c.max_rel:.3g}{' ' + c.note if c.note else ''}" for c in self.checks if not c.ok]
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ok"] = self.ok
        return d


def read_metadata(proto: onnx.ModelProto) -> dict:
    """seqkit's metadata from a model: JSON values decoded."""
    meta = {}
    for prop in proto.metadata_props:
        if prop.key.startswith(META_PREFIX):
            key = prop.key[len(META_PREFIX):]
            try:
                meta[key] = json.loads(prop.value)
            except ValueError:
                meta[key] = prop.value
    return meta


def _dims(value_info) -> list:
    return [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else None)
            for d in value_info.type.tensor_type.shape.dim]


def check_file(proto: onnx.ModelProto, inputs: list[TensorSpec], outputs: list[TensorSpec]) -> list[str]:
    """Problems with the file's form: checker errors, names, and any declared axis that is not symbolic."""
    problems = []
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:  # onnx raises several types
        problems.append(f"onnx.checker: {str(exc).splitlines()[0]}")
    for kind, specs, values in (("input", inputs, proto.graph.input), ("output", outputs, proto.graph.output)):
        by_name = {v.name: v for v in values}
        if [v.name for v in values] != [s.name for s in specs]:
            problems.append(f"{kind} names are {[v.name for v in values]}, declared {[s.name for s in specs]}")
        for spec in specs:
            if spec.name not in by_name:
                continue
            dims = _dims(by_name[spec.name])
            if len(dims) != len(spec.shape):
                problems.append(f"{kind} '{spec.name}' has rank {len(dims)}, declared {len(spec.shape)}")
                continue
            for axis, (want, got) in enumerate(zip(spec.shape, dims)):
                if isinstance(want, str) and not isinstance(got, str):
                    problems.append(f"{kind} '{spec.name}' axis {axis} ('{want}') is fixed to {got} in the file; "
                                    f"it must be symbolic")
                elif isinstance(want, int) and got != want:
                    problems.append(f"{kind} '{spec.name}' axis {axis} is {got}, declared {want}")
    return problems


def _compare(ours: np.ndarray, ref: np.ndarray, atol: float, rtol: float) -> tuple[float, float, bool, str]:
    if ours.shape != ref.shape:
        return float("inf"), float("inf"), False, f"(shape {ours.shape} vs torch {ref.shape})"
    if not np.all(np.isfinite(ours)):
        return float("inf"), float("inf"), False, "(non-finite values)"
    diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
    scale = np.abs(ref.astype(np.float64))
    max_abs = float(diff.max()) if diff.size else 0.0
    significant = scale > atol
    max_rel = float((diff[significant] / scale[significant]).max()) if significant.any() else 0.0
    ok = bool(np.all(diff <= atol + rtol * scale))
    return max_abs, max_rel, ok, ""


def verify_against_torch(model: torch.nn.Module, path: str, inputs: list[TensorSpec], outputs: list[TensorSpec],
                         provider: str = "cpu", atol: float | None = None, rtol: float | None = None,
                         trace: tuple[int, int] = TRACE_SHAPE, seed: int = 1234) -> Report:
    """Run ``path`` on onnxruntime and ``model`` in PyTorch on the same random padded inputs; compare."""
    d_atol, d_rtol = runtime.TOLERANCES[provider] if provider in runtime.TOLERANCES else (None, None)
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    proto = onnx.load(path)
    sess = runtime.open_session(proto.SerializeToString(), provider)
    report = Report(str(path), provider, sess.providers_used, atol, rtol, metadata=read_metadata(proto))
    report.problems += check_file(proto, inputs, outputs)
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    try:
        for batch, time in verification_shapes(trace):
            feeds = sample_inputs(inputs, {"batch": batch, "time": time}, rng)
            got = sess.run(feeds)
            with torch.no_grad():
                want = model(*[torch.from_numpy(feeds[s.name]) for s in inputs])
            for spec, g, w in zip(outputs, got, want):
                max_abs, max_rel, ok, note = _compare(g, w.cpu().numpy(), atol, rtol)
                report.checks.append(Check(batch, time, spec.name, max_abs, max_rel, ok, note))
    finally:
        model.train(was_training)
    return report


def verify_file(path: str, provider: str = "cpu", trace: tuple[int, int] = TRACE_SHAPE, seed: int = 1234) -> Report:
    """Run a seqkit ONNX file alone at several shapes: finite outputs whose shapes match the declared axes."""
    try:
        proto = onnx.load(path)
    except Exception as exc:
        raise SeqkitError(f"{path} is not a readable ONNX file ({type(exc).__name__}); give a file written by "
                          f"'seqkit export'") from None
    meta = read_metadata(proto)
    if "inputs" not in meta or "outputs" not in meta:
        raise SeqkitError(f"{path} has no seqkit metadata (seqkit.inputs / seqkit.outputs); it was not written by "
                          f"'seqkit export'")
    inputs = [TensorSpec.from_dict(d) for d in meta["inputs"]]
    outputs = [TensorSpec.from_dict(d) for d in meta["outputs"]]
    sess = runtime.open_session(proto.SerializeToString(), provider)
    report = Report(str(path), provider, sess.providers_used, None, None, metadata=meta)
    report.problems += check_file(proto, inputs, outputs)
    rng = np.random.default_rng(seed)
    for batch, time in verification_shapes(trace):
        sizes = {"batch": batch, "time": time}
        feeds = sample_inputs(inputs, sizes, rng)
        for spec, value in zip(outputs, sess.run(feeds)):
            want = tuple(sizes.get(a, a) if isinstance(a, str) else a for a in spec.shape)
            finite = bool(np.all(np.isfinite(value)))
            ok = finite and tuple(value.shape) == want
            note = "" if ok else (f"(shape {tuple(value.shape)}, expected {want})" if finite else "(non-finite)")
            report.checks.append(Check(batch, time, spec.name, float("nan"), float("nan"), ok, note))
    if isinstance(meta.get("streaming"), dict):  # chunks with the state carried == one call, on onnxruntime alone
        from seqkit.onnx.streaming import chunk_checks, ort_runner

        by_name = {s.name: s for s in inputs}
        state = [(by_name[d["input"]], d["output"]) for d in meta["streaming"]["state"]]
        atol, rtol = runtime.TOLERANCES.get(provider, runtime.TOLERANCES["cpu"])
        run = ort_runner(sess, outputs)
        report.checks += chunk_checks(run, {"onnxruntime": run}, [s for s in inputs if s.kind != "state"],
                                      [s for s in outputs if s.kind != "state"], state, atol, rtol, seed)
    return report
