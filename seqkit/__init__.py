"""seqkit: recurrent sequence models from pluggable cells and tasks, exported to verified ONNX.

The package root is lazy (PEP 562): ``import seqkit`` imports neither torch nor onnx. Each public name below is
imported from its module the first time it is used, so ``seqkit --help`` and the torch-free runtime
(:mod:`seqkit.runtime`) stay fast and light.

    seqkit/
      core/      hook specs, plugin manager, registries, the Cell and Task contracts, compose()
      onnx/      lowerings (native ops, Scan), export, verification
      runtime/   torch-free serving: numpy + onnxruntime only
      training/  train / evaluate / runs, data splitting, gradient diagnostics
      kit/       what tasks share: readers, pooled heads, labels, scaling, audio and video front ends
      builtin/   the built-in cells and tasks, registered as plugins like any third-party package
      cli/       the ``seqkit`` command, a thin layer over this API
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seqkit import _compat
from seqkit._version import PLUGIN_API_VERSION, __version__
from seqkit.errors import SeqkitError

_compat.install()  # the 0.1 module paths (seqkit.task, seqkit.features, ...) as deprecated aliases

#: public name -> module that defines it. With seqkit.kit, seqkit.errors and seqkit.testing, these are the declared
#: plugin API (docs/plugins.md, "The public API"; tests/public_api.txt pins them): import them from here
_LAZY = {
    "hookimpl": "seqkit.core.hookspecs",
    "Cell": "seqkit.core.cell",
    "CellConfig": "seqkit.core.cell",
    "Task": "seqkit.core.task",
    "TensorSpec": "seqkit.core.task",
    "Dataset": "seqkit.core.task",
    "lengths_mask": "seqkit.core.masks",
    "Composition": "seqkit.core.compose",
    "SequenceModel": "seqkit.core.compose",
    "compose": "seqkit.core.compose",
    "Seq2SeqParts": "seqkit.core.seq2seq",
    "load_plugins": "seqkit.core.plugins",
    "Plugins": "seqkit.core.plugins",
    "ScanCell": "seqkit.onnx.lowering.scan",
    "export": "seqkit.onnx.export",
    "to_onnx": "seqkit.onnx.export",
    "verify_against_torch": "seqkit.onnx.verify",
    "verify_file": "seqkit.onnx.verify",
}

__all__ = sorted([*_LAZY, "SeqkitError", "__version__", "PLUGIN_API_VERSION"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'seqkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from seqkit.core.cell import Cell, CellConfig
    from seqkit.core.compose import Composition, SequenceModel, compose
    from seqkit.core.hookspecs import hookimpl
    from seqkit.core.masks import lengths_mask
    from seqkit.core.plugins import Plugins, load_plugins
    from seqkit.core.seq2seq import Seq2SeqParts
    from seqkit.core.task import Dataset, Task, TensorSpec
    from seqkit.onnx.export import export, to_onnx
    from seqkit.onnx.lowering.scan import ScanCell
    from seqkit.onnx.verify import verify_against_torch, verify_file
