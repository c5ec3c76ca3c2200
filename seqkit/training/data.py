"""Splitting and batching of samples for training: seeded, stratified, task-independent."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from seqkit.errors import SeqkitError


def split_indices(n: int, fraction: float, seed: int,
                  groups: Sequence[Any] | None = None) -> tuple[list[int], list[int]]:
    """Seeded ``(train, held_out)`` index lists; ``fraction`` of each group (e.g. class) is held out.

    With ``groups`` each group with at least two members keeps at least one in training and gives at least one
    to the held-out part (when ``fraction > 0``), so that classes seen in validation were seen in training.
    """
    if not 0.0 <= fraction < 1.0:
        raise SeqkitError(f"validation fraction must be in [0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    by_group: dict[Any, list[int]] = defaultdict(list)
    for i in range(n):
        by_group[groups[i] if groups is not None else None].append(i)
    train, held = [], []
    for key in sorted(by_group, key=repr):
        members = [by_group[key][j] for j in rng.permutation(len(by_group[key]))]
        k = int(round(len(members) * fraction))
        if fraction > 0 and len(members) >= 2:
            k = min(max(k, 1), len(members) - 1)
        held += members[:k]
        train += members[k:]
    return sorted(train), sorted(held)


def held_out(data: Sequence, task, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train, validation)`` index lists of a seeded random ``fraction`` of ``data`` held out, stratified by
    ``task.stratify``; an error when that leaves either part empty. In-memory data and shards carve with it."""
    keep, held = split_indices(len(data), fraction, seed, stratify_groups(data, task.stratify))
    if not held or not keep:
        raise SeqkitError(f"{len(data)} samples are too few to hold out a validation fraction of {fraction}; "
                          f"give more data, validation data, or val_fraction 0")
    return keep, held


def subset(data: Sequence, indices: Sequence[int]) -> list:
    """The samples of ``data`` at ``indices`` (any sized, indexable collection)."""
    return [data[i] for i in indices]


def batches(n: int, batch_size: int, shuffle: bool = False, seed: int | Sequence[int] = 0) -> Iterator[list[int]]:
    """Index lists of at most ``batch_size``; a seeded permutation when ``shuffle``."""
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        yield [int(i) for i in order[start:start + batch_size]]


def to_device(obj: Any, device: torch.device | str) -> Any:
    """``obj`` with every tensor inside (tuples, lists, dicts) moved to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, (tuple, list)):
        return type(obj)(to_device(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    return obj


def stratify_groups(data: Sequence, key: Callable[[Any], Any]) -> list[Any] | None:
    """``[key(sample) for sample in data]``, or None when the key gives None (no stratification)."""
    groups = [key(data[i]) for i in range(len(data))]
    return None if all(g is None for g in groups) else groups
