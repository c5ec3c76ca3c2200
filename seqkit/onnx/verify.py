"""Proof that an ONNX file computes what its PyTorch model computes -- at shapes it was not traced at.

:func:`check_file` inspects the file alone (onnx.checker, declared names, every declared axis symbolic).
:func:`verify_against_torch` runs it on onnxruntime next to the PyTorch model at the trace shape and at
batch 1, time 1, a time longer than the trace and larger batches, all with padded batches of mixed lengths.
:func:`verify_file` runs a seqkit ONNX file without its PyTorch model (finite outputs, consistent shapes).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import onnx
import torch

from seqkit.core.compose import eval_mode
from seqkit.core.task import TensorSpec, sample_inputs, spec_problems
from seqkit.errors import ConfigError, SeqkitError, described, first_line
from seqkit.onnx import TRACE_SHAPE
from seqkit.onnx.checks import Check, compare  # noqa: F401 (Check: also imported from here)
from seqkit.onnx.streaming import chunk_checks, ort_runner
from seqkit.runtime import session as runtime

META_PREFIX = "seqkit."


#: time steps of the long sequence every verification includes (hundreds of steps: state carried far)
LONG_TIME = 300
#: the reference evaluator (pure numpy, slow) runs only at shapes with at most this many batch x time steps
REFERENCE_STEPS = 32


def verification_shapes(trace: tuple[int, int], max_time: int | None = None) -> list[tuple[int, int]]:
    """(batch, time) points: the trace shape, batch 1, time 1, longer than the trace, a larger batch, and one
    long sequence (:data:`LONG_TIME` steps). ``max_time``: the longest input the file takes (a translation
    encoder's ``max_source_length``: the runtime cuts sources to it); longer times are cut to it."""
    b, t = trace
    shapes = [(b, t), (1, 1), (1, 3 * t + 2), (b + 2, 1), (b + 2, 2 * t + 3), (2, max(2, t - 3)), (2, LONG_TIME)]
    if max_time is not None:
        shapes = [(batch, min(time, max_time)) for batch, time in shapes]
    return list(dict.fromkeys(shapes))


def file_opset(proto: onnx.ModelProto) -> int | None:
    """The opset of the default ONNX domain that ``proto`` declares."""
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)


def check_tolerances(atol: float | None, rtol: float | None) -> None:
    for name, value in (("atol", atol), ("rtol", rtol)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value) or value < 0):
            raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")


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
    opset: int | None = None   # read from the file

    @property
    def ok(self) -> bool:
        return not self.problems and all(c.ok for c in self.checks)

    def failures(self) -> list[str]:
        out = list(self.problems)
        out += [f"{'reference evaluator: ' if c.runtime == 'reference' else ''}output '{c.output}' at batch={c.batch} "
                f"time={c.time}: max abs {c.max_abs:.3g}, max rel {c.max_rel:.3g}{' ' + c.note if c.note else ''}"
                for c in self.checks if not c.ok]
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
        problems.append(f"onnx.checker: {described(exc)}")
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


class _Reference:
    """onnx.reference.ReferenceEvaluator on a model: an implementation independent of onnxruntime (pure numpy,
    slow, so it runs only at shapes up to :data:`REFERENCE_STEPS` batch x time steps)."""

    #: ops whose ``sequence_lens`` onnx.reference ignores (onnx 1.17-1.23): it sees full-length inputs only
    IGNORES_LENGTHS = {"RNN", "GRU", "LSTM"}

    def __init__(self, proto: onnx.ModelProto, report: Report):
        from onnx.reference import ReferenceEvaluator

        self.report = report
        self.full_lengths = bool(self.IGNORES_LENGTHS & op_types(proto))
        try:
            self.evaluator = ReferenceEvaluator(proto)
        except Exception as exc:  # an op it does not implement, ...
            self.evaluator = None
            report.problems.append(f"the reference evaluator could not load the file: {described(exc)}")

    def wants(self, batch: int, time: int) -> bool:
        return self.evaluator is not None and batch * time <= REFERENCE_STEPS

    def feeds(self, inputs: list[TensorSpec], batch: int, time: int, feeds: dict, seed: int) -> tuple[dict, str]:
        """The inputs the reference runs on, and a note: full-length ones where it would ignore ``lengths``."""
        if not self.full_lengths or not any(s.kind == "lengths" for s in inputs):
            return feeds, ""
        rng = np.random.default_rng(seed + batch * 1000 + time)
        return (sample_inputs(inputs, {"batch": batch, "time": time}, rng, full_lengths=True),
                "(full lengths: onnx.reference ignores sequence_lens)")

    def run(self, batch: int, time: int, feeds: dict) -> list | None:
        if not self.wants(batch, time):
            return None
        try:
            return self.evaluator.run(None, feeds)
        except Exception as exc:
            self.report.problems.append(f"the reference evaluator failed at batch={batch} time={time}: "
                                        f"{described(exc)}")
            self.evaluator = None
            return None


def op_types(proto: onnx.ModelProto) -> set[str]:
    """Every op type in a model: its graph, subgraphs (Scan bodies) and local functions."""
    found: set[str] = set()

    def walk(nodes):
        for node in nodes:
            found.add(node.op_type)
            for attr in node.attribute:
                for graph in [attr.g] if attr.HasField("g") else list(attr.graphs):
                    walk(graph.node)

    walk(proto.graph.node)
    for function in proto.functions:
        walk(function.node)
    return found


def verify_against_torch(model: torch.nn.Module, path: str, inputs: list[TensorSpec], outputs: list[TensorSpec],
                         provider: str = "cpu", atol: float | None = None, rtol: float | None = None,
                         trace: tuple[int, int] = TRACE_SHAPE, seed: int = 1234, reference: bool = False,
                         session: runtime.Session | None = None, max_time: int | None = None) -> Report:
    """Run ``path`` on onnxruntime and ``model`` in PyTorch on the same random padded inputs; compare.

    ``reference``: also run the file on ``onnx.reference.ReferenceEvaluator`` at the small shapes and compare
    it with PyTorch the same way (checks with ``runtime="reference"``). ``session``: an open onnxruntime session
    on ``path`` for ``provider``, to share with later checks (opened here when None). ``max_time``: see
    :func:`verification_shapes`.
    """
    check_tolerances(atol, rtol)
    d_atol, d_rtol = runtime.TOLERANCES[provider] if provider in runtime.TOLERANCES else (None, None)
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    proto = onnx.load(path)
    sess = session if session is not None else runtime.open_session(proto.SerializeToString(), provider)
    report = Report(str(path), provider, sess.providers_used, atol, rtol, metadata=read_metadata(proto),
                    opset=file_opset(proto))
    report.problems += check_file(proto, inputs, outputs)
    ref = _Reference(proto, report) if reference else None
    rng = np.random.default_rng(seed)
    def torch_run(feeds):
        with torch.no_grad():
            return [w.cpu().numpy() for w in model(*[torch.from_numpy(feeds[s.name]) for s in inputs])]

    with eval_mode(model):
        for batch, time in verification_shapes(trace, max_time):
            feeds = sample_inputs(inputs, {"batch": batch, "time": time}, rng)
            runs = [("onnxruntime", sess.run(feeds), torch_run(feeds), "")]
            if ref and ref.wants(batch, time):
                ref_feeds, note = ref.feeds(inputs, batch, time, feeds, seed)
                ref_got = ref.run(batch, time, ref_feeds)
                if ref_got is not None:
                    runs.append(("reference", ref_got, torch_run(ref_feeds) if note else runs[0][2], note))
            for name, values, want, extra in runs:
                for spec, g, w in zip(outputs, values, want):
                    max_abs, max_rel, ok, note = compare(np.asarray(g), w, atol, rtol)
                    report.checks.append(Check(batch, time, spec.name, max_abs, max_rel, ok,
                                               " ".join(filter(None, (note, extra))), name))
    return report


def specs_from_metadata(meta: dict, key: str, path: str) -> list[TensorSpec]:
    """``seqkit.inputs`` / ``seqkit.outputs`` of a file as TensorSpecs; a damaged entry is one clear error."""
    value = meta.get(key)
    damaged = (f"{path}: its seqkit.{key} metadata is not a list of tensor specs ({{}}); the file is damaged or "
               f"was not written by 'seqkit export'")
    if not isinstance(value, list) or not value:
        raise SeqkitError(damaged.format(f"got {type(value).__name__}"))
    specs = []
    for i, d in enumerate(value):
        try:
            if not isinstance(d, dict) or not isinstance(d.get("shape"), list):
                raise TypeError("not a mapping with a shape list")
            specs.append(TensorSpec.from_dict(d))
        except (TypeError, ValueError) as exc:
            raise SeqkitError(damaged.format(f"entry {i}: {first_line(exc)}")) from None
    problems = spec_problems(specs)
    if problems:
        raise SeqkitError(damaged.format(problems[0]))
    return specs


def verify_file(path: str, provider: str = "cpu", trace: tuple[int, int] = TRACE_SHAPE, seed: int = 1234,
                reference: bool = False) -> Report:
    """Run a seqkit ONNX file alone at several shapes: finite outputs whose shapes match the declared axes.

    ``reference``: also run it on ``onnx.reference.ReferenceEvaluator`` at the small shapes; its outputs must
    equal onnxruntime's within the provider's tolerances (checks with ``runtime="reference"``).
    """
    try:
        proto = onnx.load(path)
    except Exception as exc:
        raise SeqkitError(f"{path} is not a readable ONNX file ({type(exc).__name__}); give a file written by "
                          f"'seqkit export'") from None
    meta = read_metadata(proto)
    if "inputs" not in meta or "outputs" not in meta:
        raise SeqkitError(f"{path} has no seqkit metadata (seqkit.inputs / seqkit.outputs); it was not written by "
                          f"'seqkit export'")
    inputs = specs_from_metadata(meta, "inputs", path)
    outputs = specs_from_metadata(meta, "outputs", path)
    sess = runtime.open_session(proto.SerializeToString(), provider)
    atol, rtol = runtime.TOLERANCES.get(provider, (None, None)) if reference else (None, None)
    report = Report(str(path), provider, sess.providers_used, atol, rtol, metadata=meta, opset=file_opset(proto))
    report.problems += check_file(proto, inputs, outputs)
    ref = _Reference(proto, report) if reference else None
    rng = np.random.default_rng(seed)
    for batch, time in verification_shapes(trace):
        sizes = {"batch": batch, "time": time}
        feeds = sample_inputs(inputs, sizes, rng)
        try:
            got = sess.run(feeds)
        except Exception as exc:  # the metadata does not describe the graph's inputs
            raise SeqkitError(f"{path}: onnxruntime cannot run it on inputs made as its seqkit.inputs metadata "
                              f"describes ({described(exc)}); the file is damaged or was not written by "
                              f"'seqkit export'") from None
        for spec, value in zip(outputs, got):
            want = tuple(sizes.get(a, a) if isinstance(a, str) else a for a in spec.shape)
            finite = bool(np.all(np.isfinite(value)))
            ok = finite and tuple(value.shape) == want
            note = "" if ok else (f"(shape {tuple(value.shape)}, expected {want})" if finite else "(non-finite)")
            report.checks.append(Check(batch, time, spec.name, float("nan"), float("nan"), ok, note))
        if ref and ref.wants(batch, time):
            ref_feeds, extra = ref.feeds(inputs, batch, time, feeds, seed)
            ref_got = ref.run(batch, time, ref_feeds)
            if ref_got is not None:
                base = sess.run(ref_feeds) if extra else got
                for spec, r, g in zip(outputs, ref_got, base):
                    max_abs, max_rel, ok, note = compare(np.asarray(r), g, atol, rtol, "onnxruntime")
                    note = " ".join(filter(None, (note, extra)))
                    report.checks.append(Check(batch, time, spec.name, max_abs, max_rel, ok, note, "reference"))
    if isinstance(meta.get("streaming"), dict):  # chunks with the state carried == one call, on onnxruntime alone
        by_name = {s.name: s for s in inputs}
        state = [(by_name[d["input"]], d["output"]) for d in meta["streaming"]["state"]]
        atol, rtol = runtime.TOLERANCES.get(provider, runtime.TOLERANCES["cpu"])
        run = ort_runner(sess, outputs)
        report.checks += chunk_checks(run, {"onnxruntime": run}, [s for s in inputs if s.kind != "state"],
                                      [s for s in outputs if s.kind != "state"], state, atol, rtol, seed)
    return report
