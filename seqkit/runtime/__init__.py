"""Torch-free serving: numpy and onnxruntime only. Nothing in this package imports torch or onnx.

    from seqkit.runtime import load
    model = load("model.onnx", provider="cpu")     # reads seqkit's metadata from the file
    model.predict(samples, batch_size=32)           # raw samples in, readable results out (checked first)
    model.stream()                                  # a file exported with --streaming: state carried

Names are imported lazily, so ``seqkit.runtime.providers`` costs no onnxruntime import.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"PROVIDERS": "seqkit.runtime.providers", "PROVIDER_OPTIONS": "seqkit.runtime.session",
         "TOLERANCES": "seqkit.runtime.session", "Session": "seqkit.runtime.session",
         "open_session": "seqkit.runtime.session",
         "load": "seqkit.runtime.model", "Model": "seqkit.runtime.model", "Stream": "seqkit.runtime.stream",
         "Spec": "seqkit.runtime.checks", "check_feeds": "seqkit.runtime.checks",
         "read_samples": "seqkit.runtime.readers", "InputError": "seqkit.errors"}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'seqkit.runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
