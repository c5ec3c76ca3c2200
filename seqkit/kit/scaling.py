"""Scaling learnt by a task's ``fit()`` and kept inside the model, so that exported files take raw values."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

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


class ScaleFrames(nn.Module):
    """The encoder of tasks whose inputs are frames of numbers with lengths: each feature standardised with the
    mean and std that ``fit()`` put in the config (passed as they are before that); lengths pass through."""

    def __init__(self, mean: Sequence, std: Sequence):
        super().__init__()
        self.scale = Standardize(mean, std) if mean else None

    def forward(self, frames, lengths):
        return (frames if self.scale is None else self.scale(frames)), lengths


def mean_std(arrays: Iterable[np.ndarray], axis: tuple = (0,), floor: float = 1e-6,
             chunk_bytes: int = 1 << 26) -> tuple[list, list]:
    """Mean and std (floored; 1.0 where below ``floor``) of ``arrays`` concatenated on axis 0, reduced over
    ``axis``; rounded lists, ready for a task config.

    ``arrays`` may be a generator over data bigger than memory: arrays are gathered into chunks of about
    ``chunk_bytes`` (as float64) and the chunks' statistics combined (Chan et al.'s pairwise update); data that
    fits one chunk gives exactly the plain ``concatenate(...).mean / .std``.
    """
    count, mean, m2 = 0, None, None
    chunk: list[np.ndarray] = []
    size = 0

    def combine():
        nonlocal count, mean, m2, chunk, size
        stacked = np.concatenate(chunk)
        c_mean, c_var = stacked.mean(axis=axis), stacked.var(axis=axis)
        n = stacked.size // max(1, np.size(c_mean))  # values reduced into each statistic
        if mean is None:
            count, mean, m2 = n, c_mean, c_var * n
        else:
            total = count + n
            delta = c_mean - mean
            mean = mean + delta * (n / total)
            m2 = m2 + c_var * n + delta ** 2 * (count * n / total)
            count = total
        chunk, size = [], 0

    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        chunk.append(a)
        size += a.nbytes
        if size >= chunk_bytes:
            combine()
    if chunk:
        if mean is None:  # one chunk: the plain computation, bit for bit
            stacked = np.concatenate(chunk)
            mean, std = stacked.mean(axis=axis), stacked.std(axis=axis)
        else:
            combine()
            std = np.sqrt(m2 / count)
    elif mean is None:
        raise ValueError("mean_std needs at least one array")
    else:
        std = np.sqrt(m2 / count)
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


class MeanScale(nn.Module):
    """DeepAR's mean scaling: each window ``[batch, time, F]`` divided by its own mean absolute value per feature
    (floored at ``floor``), so series of any level share one model; :meth:`scale` gives that divisor
    ``[batch, 1, F]`` for mapping forecasts back. Nothing is learnt or stored: it works for unseen series."""

    def __init__(self, floor: float = 1e-6):
        super().__init__()
        self.floor = floor

    def scale(self, x):
        return x.abs().mean(dim=-2, keepdim=True).clamp_min(self.floor)

    def forward(self, x):
        return x / self.scale(x)


def mean_scale(x: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """:class:`MeanScale`'s divisor for numpy windows ``[..., time, F]`` -> ``[..., 1, F]``."""
    return np.maximum(np.abs(x).mean(axis=-2, keepdims=True), floor)
