"""Tracing a model to an ONNX proto with seqkit's metadata (torch.onnx.export(dynamo=True) + lowering), and what
an export returns: the parts export.py (one file) and seq2seq.py (encoder + decoder step) share, so that neither
imports the other."""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch

from seqkit._version import __version__
from seqkit.core.compose import Composition
from seqkit.core.task import TensorSpec
from seqkit.errors import ExportError, SeqkitError, causes, described, root_cause
from seqkit.onnx import LOWEST_OPSET, MIN_OPSET
from seqkit.onnx.verify import META_PREFIX, Report, file_opset


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
