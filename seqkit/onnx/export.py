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
from seqkit.core.compose import Composition
from seqkit.core.task import TensorSpec
from seqkit.errors import ExportError, SeqkitError, VerificationError
from seqkit.files import atomic_path
from seqkit.onnx import DEFAULT_OPSET, TRACE_SHAPE
from seqkit.onnx.verify import META_PREFIX, Report, check_file, verify_against_torch


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


def to_onnx(composition: Composition, opset: int = DEFAULT_OPSET, lowering: str = "auto",
            provider: str = "cpu") -> onnx.ModelProto:
    """The ONNX model (with seqkit metadata) for ``composition``; nothing is written.

    ``lowering`` (``auto``, ``native``, ``scan``, ``native-masked``) says how native recurrent nodes are written
    (:mod:`seqkit.onnx.lowering.rewrite`); ``auto`` picks per op for ``provider``. What was done is recorded in
    the ``seqkit.lowering`` metadata.
    """
    from seqkit.onnx.lowering.rewrite import lower, resolve

    resolve(lowering, provider)  # an unknown name fails before the export
    task, model = composition.task, composition.model
    was_training = model.training
    model.eval()  # dropout off; restored below
    inputs, outputs = task.inputs(), task.outputs()
    args = task.example_inputs(*TRACE_SHAPE)
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
        if os.environ.get("SEQKIT_DEBUG"):
            raise
        cell_cls = type(composition.model.cell)
        where = (f"cell '{composition.cell_name}' (class {cell_cls.__qualname__} from {cell_cls.__module__}) / task "
                 f"'{composition.task_name}'")
        inner = exc
        while inner is not None and not isinstance(inner, SeqkitError):  # a cell's own clear message wins
            inner = inner.__cause__ or inner.__context__
        if inner is not None:
            raise ExportError(f"export failed for {where}: {inner}") from None
        innermost = exc  # torch wraps the cause in "Failed to export the model with torch.export ..."
        while (innermost.__cause__ or innermost.__context__) is not None:
            innermost = innermost.__cause__ or innermost.__context__
        first = next((ln.strip() for ln in str(innermost).splitlines() if ln.strip()), "")
        raise ExportError(f"torch.onnx.export failed for {where}: {type(innermost).__name__}: {first} (set "
                          f"SEQKIT_DEBUG=1 for the traceback)") from None
    finally:
        torch_onnx_log.setLevel(level)
        model.train(was_training)
    proto = program.model_proto
    lowered = lower(proto, lowering, provider)
    for key, value in metadata(composition, opset).items():
        proto.metadata_props.add(key=key, value=value)
    proto.metadata_props.add(key=META_PREFIX + "lowering", value=json.dumps(lowered, sort_keys=True))
    return proto


def export(composition: Composition, output: str | os.PathLike, *, opset: int = DEFAULT_OPSET, force: bool = False,
           verify: bool = True, provider: str = "cpu", atol: float | None = None,
           rtol: float | None = None, lowering: str = "auto") -> ExportResult:
    """Write ``composition`` to ``output`` as ONNX, verified on onnxruntime unless ``verify=False``.

    ``lowering``: how native recurrent nodes are written (see :func:`to_onnx`); ``auto`` picks for ``provider``.

    Raises :class:`VerificationError` (with ``.report``) on a mismatch; the target is then left untouched.
    """
    output = Path(output)
    _prepare_target(output, force)
    start = _time.perf_counter()
    proto = to_onnx(composition, opset, lowering=lowering, provider=provider)
    task = composition.task
    with atomic_path(output) as tmp:
        onnx.save(proto, tmp)
        if verify:
            report = verify_against_torch(composition.model, tmp, task.inputs(), task.outputs(), provider=provider,
                                          atol=atol, rtol=rtol)
            report.path = str(output)
            if not report.ok:
                raise VerificationError(f"the ONNX model does not match PyTorch ({len(report.failures())} failures, "
                                        f"first: {report.failures()[0]}); nothing was written to {output}", report)
        else:
            report = None
            problems = check_file(proto, task.inputs(), task.outputs())
            if problems:
                raise ExportError(f"the exported file is malformed: {problems[0]}; nothing was written to {output}")
    return ExportResult(str(output), opset, _time.perf_counter() - start, report)
