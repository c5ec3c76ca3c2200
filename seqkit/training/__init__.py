"""Training, evaluation and reloading of composed models (see docs/training.md).

Lazy like the package root: ``seqkit.training.config`` (the options) imports no torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"TrainConfig": "seqkit.training.config"}
_LAZY.update({name: "seqkit.training.trainer" for name in
              ("Prepared", "TrainResult", "load_run", "prepare", "resume", "train")})
_LAZY.update({name: "seqkit.training.seeds" for name in ("resume_seeds", "seed_run_dir", "train_seeds")})
_LAZY.update({name: "seqkit.training.evaluation" for name in ("evaluate", "mean_std", "summarize")})
_LAZY["dataset_table"] = "seqkit.training.sources"
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'seqkit.training' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
