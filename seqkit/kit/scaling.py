"""Scaling learnt by a task's ``fit()`` and kept inside the model, so that exported files take raw values."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from seqkit.errors import ConfigError


class Standardize(nn.Module):
    """``(x - mean) / std``, broadcasting over leading axes; :meth:`inverse` undoes it. Buffers are not saved
    with the weights: they are rebuilt from the (fitted) task config."""

    def __init__(self, mean: Sequence, std: Sequence, shape: tuple = (-1,)):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(shape), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(shape), persistent=False)

    def forward(self, x):
        return (x - self.mean) / self.std

    def inverse(self, x):
        return x * self.std + self.mean


def mean_std(arrays: Sequence[np.ndarray], axis: tuple = (0,), floor: float = 1e-6) -> tuple[list, list]:
    """Mean and std (floored; 1.0 where below ``floor``) of ``arrays`` concatenated on axis 0, reduced over
    ``axis``; rounded lists, ready for a task config."""
    stacked = np.concatenate([np.asarray(a, dtype=np.float64) for a in arrays])
    mean, std = stacked.mean(axis=axis), stacked.std(axis=axis)
    std = np.where(std > floor, std, 1.0)
    return [round(float(v), 6) for v in np.ravel(mean)], [round(float(v), 6) for v in np.ravel(std)]


def check_scaling(mean: Sequence, std: Sequence, size: int | None = None, per: str = "feature") -> None:
    """Refuse normalisation the model cannot apply: ``mean`` without ``std`` (or lists of other lengths), a count
    other than ``size``, a std that is not > 0 (the model divides by it) or values that are not finite."""
    if len(mean) != len(std):
        raise ConfigError(f"mean and std must be given together, one of each per {per}: got {len(mean)} mean(s) and "
                          f"{len(std)} std(s)")
    if size is not None and mean and len(mean) != size:
        raise ConfigError(f"normalisation has {len(mean)} means and stds for {size} {per}s; give one per {per}")
    for i, v in enumerate(mean):
        if not math.isfinite(v):
            raise ConfigError(f"mean[{i}] is {v}; normalisation values must be finite numbers")
    for i, v in enumerate(std):
        if not (math.isfinite(v) and v > 0):
            raise ConfigError(f"std[{i}] is {v}; std entries must be finite and > 0 (the model divides by them)")
