"""Export a composed model to ONNX with the torch.export-based exporter, then prove it (see verify.py).

The file is written to a temporary name beside the target, checked and verified, and only then renamed into
place: a failed export never leaves a file behind, and an existing file is only replaced with ``force``.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time as _time
import warnings
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch

from seqkit._version import __version__
from seqkit.core.compose import Composition, eval_mode
from seqkit.core.task import TensorSpec
from seqkit.errors import ExportError, SeqkitError, VerificationError, causes, described, root_cause
from seqkit.files import atomic_path
from seqkit.onnx import DEFAULT_OPSET, LOWEST_OPSET, MIN_OPSET, TRACE_SHAPE
from seqkit.onnx.streaming import StreamingParts, ort_runner, refusal, streaming_parts, verify_chunks
from seqkit.onnx.verify import (
    META_PREFIX,
    Report,
    check_file,
    check_tolerances,
    file_opset,
    verify_against_torch,
)
from seqkit.runtime.session import open_session

#: protobuf's limit on one ONNX file with its weights inside
ONNX_LIMIT = 2 ** 31


@dataclass
class ExportResult:
    path: str
    opset: int
    seconds: float
    report: Report | None

    def to_dict(self) -> dict:
        return {"path": self.path, "opset": self.opset, "seconds": round(self.seconds, 3),
                "verification": self.report.to_dict() if self.report else None}


def dynamic_shapes(specs: list[TensorSpec]) -> tuple:
    """torch.export dynamic shapes from named axes; one ``Dim`` per name, shared between inputs."""
    dims: dict[str, torch.export.Dim] = {}
    out = []
    for spec in specs:
        axes = {}
        for i, axis in enumerate(spec.shape):
            if isinstance(axis, str):
                axes[i] = dims.setdefault(axis, torch.export.Dim(axis, min=1))
        out.append(axes)
    return (tuple(out),)  # SequenceModel.forward(*inputs): one entry, the varargs tuple


def opset_range() -> tuple[int, int]:
    """(lowest, highest) opset that every model exports at: 18 up to the newest the installed onnx knows."""
    return MIN_OPSET, max(MIN_OPSET, onnx.defs.onnx_opset_version())


def check_opset(opset: int) -> None:
    """Refuse an opset seqkit cannot write, naming the range it can."""
    low, high = opset_range()
    if isinstance(opset, bool) or not isinstance(opset, int) or not LOWEST_OPSET <= opset <= high:
        raise ExportError(f"opset {opset!r} is not supported; choose {low}..{high} ({LOWEST_OPSET} and "
                          f"{MIN_OPSET - 1} work for some models only)")


def metadata(composition: Composition, opset: int) -> dict[str, str]:
    task = composition.task
    values = {
        "version": __version__,
        "cell": composition.cell_name,
        "task": composition.task_name,
        "config": composition.config(),
        "inputs": [s.to_dict() for s in task.inputs()],
        "outputs": [s.to_dict() for s in task.outputs()],
        "task_metadata": task.metadata(),
        "fitted": dict(task.fitted),  # what fit() learnt (Task.fitted), also inside config
        "exporter": f"torch.onnx.export(dynamo=True), torch {torch.__version__}, opset {opset}",
    }
    return {META_PREFIX + k: json.dumps(v, sort_keys=True) for k, v in values.items()}


def _prepare_target(output: Path, force: bool) -> None:
    if output.exists() and not force:
        raise SeqkitError(f"{output} already exists; pass --force (force=True) to replace it")
    if output.is_dir():
        raise SeqkitError(f"{output} is a directory; give a file name such as {output / 'model.onnx'}")
    parent = output.parent
    if not parent.is_dir():
        raise SeqkitError(f"cannot write {output}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise SeqkitError(f"cannot write {output}: folder {parent} is not writable; choose another -o path")


def to_onnx(composition: Composition, opset: int = DEFAULT_OPSET, streaming: bool = False, lowering: str = "auto",
            provider: str = "cpu", parts: StreamingParts | None = None) -> onnx.ModelProto:
    """The ONNX model (with seqkit metadata) for ``composition``; nothing is written.

    ``streaming``: the recurrent state as inputs and outputs (:mod:`seqkit.onnx.streaming`). ``lowering``
    (``auto``, ``native``, ``scan``, ``native-masked``) says how native recurrent nodes are written
    (:mod:`seqkit.onnx.lowering.rewrite`); ``auto`` picks per op for ``provider``. What was done is recorded in
    the ``seqkit.lowering`` metadata. ``parts``: with ``streaming``, the :func:`streaming_parts` of ``composition``
    if the caller already built them (:func:`export` verifies with the same ones).
    """
    from seqkit.onnx.lowering.rewrite import resolve

    resolve(lowering, provider)  # an unknown name fails before the export
    check_opset(opset)
    weights = 4 * sum(p.numel() for p in composition.model.parameters())
    if weights >= ONNX_LIMIT:
        raise ExportError(f"the model's weights take {weights / 2 ** 30:.3g} GiB; one ONNX file holds less than 2 GiB; "
                          f"choose smaller sizes")
    task, model = composition.task, composition.model
    if callable(getattr(task, "seq2seq_parts", None)):
        raise ExportError(f"task '{composition.task_name}' exports as an encoder and a decoder step (two files): use "
                          f"seqkit.export(...) or seqkit.onnx.seq2seq.to_onnx_parts(...)")
    inputs, outputs = task.inputs(), task.outputs()
    args = task.example_inputs(*TRACE_SHAPE)
    extra_metadata = {}
    if streaming:
        if parts is None:
            parts = streaming_parts(composition)  # refuses, with the reason, what cannot stream
        model, inputs, outputs, args = parts.model, parts.inputs, parts.outputs, parts.example_inputs(*TRACE_SHAPE)
        extra_metadata = {META_PREFIX + k: json.dumps(v, sort_keys=True) for k, v in parts.metadata().items()}
    elif task.can("state") and refusal(composition) is None:  # the task's own state: the file steps as it is,
        layout = streaming_parts(composition).metadata()["streaming"]  # described as every streaming file is
        extra_metadata = {META_PREFIX + "streaming": json.dumps(layout, sort_keys=True)}
    with eval_mode(model):  # dropout off; the model's training mode is restored afterwards
        return _to_onnx(composition, model, inputs, outputs, args, opset, extra_metadata, lowering, provider)


def _to_onnx(composition: Composition, model, inputs, outputs, args, opset: int, extra_metadata: dict,
             lowering: str, provider: str) -> onnx.ModelProto:
    from seqkit.onnx.lowering.rewrite import lower

    quiet = io.StringIO()
    torch_onnx_log = logging.getLogger("torch.onnx")
    level = torch_onnx_log.level
    try:
        torch_onnx_log.setLevel(logging.ERROR)  # e.g. "torchvision is not installed. Skipping torchvision::nms"
        with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(quiet), \
                contextlib.redirect_stderr(quiet):  # torch.export prints partial graphs on failure
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                model, args, dynamo=True, verbose=False, opset_version=opset,
                input_names=[s.name for s in inputs], output_names=[s.name for s in outputs],
                dynamic_shapes=dynamic_shapes(inputs), custom_translation_table=composition.translations())
    except Exception as exc:
        # a KeyboardInterrupt (Ctrl-C, seqkit's SIGTERM) that torch wrapped into its own error
        interrupt = next((e for e in causes(exc) if isinstance(e, KeyboardInterrupt)), None)
        if interrupt is not None:  # Ctrl-C or SIGTERM during export: not an export failure
            raise type(interrupt)() from None
        if os.environ.get("SEQKIT_DEBUG"):
            raise
        cell_cls = type(composition.model.cell)
        where = (f"cell '{composition.cell_name}' (class {cell_cls.__qualname__} from {cell_cls.__module__}) / task "
                 f"'{composition.task_name}'")
        inner = next((e for e in causes(exc) if isinstance(e, SeqkitError)), None)  # a cell's own message wins
        if inner is not None:
            raise ExportError(f"export failed for {where}: {inner}") from None
        innermost = root_cause(exc)  # torch wraps the cause in "Failed to export the model with torch.export ..."
        raise ExportError(f"torch.onnx.export failed for {where}: {described(innermost)} (set "
                          f"SEQKIT_DEBUG=1 for the traceback)") from None
    finally:
        torch_onnx_log.setLevel(level)
    proto = program.model_proto
    written = file_opset(proto)
    if written != opset:  # torch.onnx exports at 18 and converts; where it cannot, it keeps 18 with a warning
        low, high = opset_range()
        raise ExportError(f"torch.onnx.export could not write opset {opset} for this model (its version converter "
                          f"kept opset {written}); choose an opset in {low}..{high}")
    lowered = lower(proto, lowering, provider)
    for key, value in {**metadata(composition, written), **extra_metadata}.items():
        proto.metadata_props.add(key=key, value=value)
    proto.metadata_props.add(key=META_PREFIX + "lowering", value=json.dumps(lowered, sort_keys=True))
    return proto


def export(composition: Composition, output: str | os.PathLike, *, opset: int = DEFAULT_OPSET, force: bool = False,
           verify: bool = True, provider: str = "cpu", atol: float | None = None,
           rtol: float | None = None, reference: bool = False, streaming: bool = False,
           lowering: str = "auto") -> ExportResult:
    """Write ``composition`` to ``output`` as ONNX, verified on onnxruntime unless ``verify=False``.

    ``lowering``: how native recurrent nodes are written (see :func:`to_onnx`); ``auto`` picks for ``provider``.

    Raises :class:`VerificationError` (with ``.report``) on a mismatch; the target is then left untouched.
    ``reference``: verification also runs the file on onnx.reference (see :func:`verify_against_torch`).
    ``streaming``: the recurrent state as named inputs and outputs, verified also chunk by chunk
    (:mod:`seqkit.onnx.streaming`).
    """
    output = Path(output)
    check_tolerances(atol, rtol)
    check_opset(opset)
    if callable(getattr(composition.task, "seq2seq_parts", None)):  # encoder + decoder step (seqkit.core.seq2seq)
        if streaming:
            raise ExportError(f"task '{composition.task_name}' exports an encoder and a decoder step, which carry "
                              f"their state already; export without --streaming")
        from seqkit.onnx.seq2seq import export_seq2seq

        return export_seq2seq(composition, output, opset=opset, force=force, verify=verify, provider=provider,
                              atol=atol, rtol=rtol, lowering=lowering)
    _prepare_target(output, force)
    start = _time.perf_counter()
    parts = streaming_parts(composition) if streaming else None  # refuses, with the reason, what cannot stream
    proto = to_onnx(composition, opset, streaming=streaming, lowering=lowering, provider=provider, parts=parts)
    if parts is None:
        model, inputs, outputs = composition.model, composition.task.inputs(), composition.task.outputs()
    else:
        model, inputs, outputs = parts.model, parts.inputs, parts.outputs
    with atomic_path(output) as tmp:
        onnx.save(proto, tmp)
        if verify:
            session = open_session(tmp, provider)  # one session for every check below
            report = verify_against_torch(model, tmp, inputs, outputs, provider=provider, atol=atol, rtol=rtol,
                                          reference=reference, session=session)
            report.path = str(output)
            if parts is not None:  # chunks of random sizes with the state carried == one call (ort and PyTorch)
                report.checks += verify_chunks(parts, ort_runner(session, outputs), report.atol, report.rtol)
            if not report.ok:
                raise VerificationError(f"the ONNX model does not match PyTorch ({len(report.failures())} failures, "
                                        f"first: {report.failures()[0]}); nothing was written to {output}", report)
        else:
            report = None
            problems = check_file(proto, inputs, outputs)
            if problems:
                raise ExportError(f"the exported file is malformed: {problems[0]}; nothing was written to {output}")
    return ExportResult(str(output), file_opset(proto), _time.perf_counter() - start, report)
