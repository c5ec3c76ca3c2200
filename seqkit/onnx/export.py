"""Export a composed model to ONNX with the torch.export-based exporter, then prove it (see verify.py).

The file is written to a temporary name beside the target, checked and verified, and only then renamed into
place: a failed export never leaves a file behind, and an existing file is only replaced with ``force``.
"""
from __future__ import annotations

import json
import os
import time as _time
from pathlib import Path

import onnx

from seqkit.core.compose import Composition, eval_mode
from seqkit.errors import ExportError, VerificationError
from seqkit.files import atomic_path
from seqkit.onnx import DEFAULT_OPSET, TRACE_SHAPE
from seqkit.onnx.streaming import StreamingParts, ort_runner, refusal, streaming_parts, verify_chunks
from seqkit.onnx.trace import (  # noqa: F401 (their names here too)
    ExportResult,
    _prepare_target,
    _to_onnx,
    check_opset,
    dynamic_shapes,
    metadata,
    opset_range,
)
from seqkit.onnx.verify import (
    META_PREFIX,
    check_file,
    check_tolerances,
    file_opset,
    verify_against_torch,
)
from seqkit.runtime.session import open_session

#: protobuf's limit on one ONNX file with its weights inside
ONNX_LIMIT = 2 ** 31


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
