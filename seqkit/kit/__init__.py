"""What tasks share: file readers and padding, pooled heads, labelled-sequence machinery, scaling, and small
numpy baselines.

The names in ``__all__`` are the public kit a plugin may use (docs/plugins.md lists each with its signature):
import them from ``seqkit.kit``, not from the module that defines them today. Everything else under seqkit.kit
(the other skip heads, plots.py, the audio and video front ends) is not public yet and may change without
notice. Names are imported lazily: ``import seqkit.kit`` costs no torch.
"""
from __future__ import annotations

import importlib
from typing import Any

#: public name -> module that defines it
_LAZY = {name: f"seqkit.kit.{module}" for module, names in {
    "readers": "TABLE_SUFFIXES ARRAY_SUFFIXES read_table read_arrays pad",
    "heads": "POOLINGS pool PooledHead StatsSkipHead",
    "skip": "start_from_ridge skip_start ridge_baseline",
    "labels": "Item label_order read_npz_items LabelledTask LabelledSequenceTask",
    "scaling": "Standardize mean_std",
    "baselines": "Ridge RidgeClassifier NaiveBayes pooled_statistics accuracy mase_scale forecast_scores",
}.items() for name in names.split()}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'seqkit.kit' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
