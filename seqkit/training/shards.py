"""Data bigger than memory: a folder of shard files, read lazily, one shard at a time.

A folder whose top level holds ``.npz``, ``.csv``, ``.tsv``, ``.jsonl`` or ``.ndjson`` files is a *shard
folder*. Each file is read by the task's own ``load_data`` (so every task that reads a file reads a folder of
them, third-party tasks included), when one of its samples is asked for; at most :data:`KEEP` shards are held
decoded at a time. Samples are numbered shard after shard in file-name order.

- :class:`ShardedData` is sized and indexable like the lists tasks return; ``select(indices)`` gives a lazy
  :class:`ShardView` (the validation split, a rank's part) without reading anything.
- Validation: a task with its own rule (forecasting: the latest windows) applies it inside every shard (each file
  is one series); otherwise a seeded random fraction is held out, stratified like in-memory data (:meth:`carve`).
- Shuffling (:func:`epoch_batches`) is *shard-blocked*: the shards' order is shuffled, then the samples inside
  each shard; batches are cut from that order, so a pass over the data decodes each shard about once.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seqkit.errors import SeqkitError
from seqkit.training.data import batches, held_out

SHARD_SUFFIXES = (".npz", ".csv", ".tsv", ".jsonl", ".ndjson")
KEEP = 2  # decoded shards held per dataset: a batch cut from a shard-blocked order spans at most two


def shard_files(folder: str | os.PathLike) -> list[Path]:
    """The shard files at the top level of ``folder`` (hidden files skipped), sorted by name."""
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SHARD_SUFFIXES)


def is_shard_folder(source: Any) -> bool:
    """True for a folder that holds shard files at its top level (a folder of WAV subfolders is not one)."""
    return isinstance(source, (str, os.PathLike)) and Path(source).is_dir() and bool(shard_files(source))


def load_data(task, source: Any, split: str = "train") -> Any:
    """``task.load_data(source, split)``, or :class:`ShardedData` over the files of a shard folder (unless the
    task reads folders whole itself: ``READS_FOLDERS``, e.g. forecasting's folder of series = one panel)."""
    if is_shard_folder(source) and not getattr(task, "READS_FOLDERS", False):
        files = shard_files(source)
        suffixes = sorted({p.suffix.lower() for p in files})
        if len(suffixes) > 1:
            raise SeqkitError(f"{source} mixes shard types ({', '.join(suffixes)}); keep one type per folder")
        config = getattr(task, "config", None)
        if split == "train" and getattr(config, "train_source", None) == "":  # the folder, not its first shard
            config.train_source = str(source)
        return ShardedData(files, lambda path: task.load_data(str(path), split), str(source))
    return task.load_data(str(source), split)


class ShardedData(Sequence):
    """The samples of ``files``, each read by ``load(path)`` (a sized, indexable collection) when needed.

    Reading each shard once to count its samples happens on first use of ``len()`` or an index; ``loads``
    counts how many times a shard was decoded. A shard whose sample count changes between reads is an error.
    """

    def __init__(self, files: Sequence[Path], load: Callable[[Path], Sequence], name: str, keep: int = KEEP):
        if not files:
            raise SeqkitError(f"{name} holds no shard files ({', '.join(SHARD_SUFFIXES)})")
        self.files, self.name, self.keep = [Path(f) for f in files], name, keep
        self._load = load
        self._cache: OrderedDict[int, Sequence] = OrderedDict()
        self._counts: np.ndarray | None = None
        self.loads = 0

    def shard(self, j: int) -> Sequence:
        """The decoded samples of shard ``j`` (kept among the last :attr:`keep` used)."""
        if j in self._cache:
            self._cache.move_to_end(j)
            return self._cache[j]
        samples = self._load(self.files[j])
        self.loads += 1
        if self._counts is not None and len(samples) != self._counts[j]:
            raise SeqkitError(f"{self.files[j]} held {self._counts[j]} samples and now {len(samples)}; do not "
                              f"change shard files while they are read")
        self._cache[j] = samples
        while len(self._cache) > self.keep:
            self._cache.popitem(last=False)
        return samples

    @property
    def counts(self) -> np.ndarray:
        """Samples per shard (reads every shard once, one at a time, on first use)."""
        if self._counts is None:
            self._counts = np.array([len(self.shard(j)) for j in range(len(self.files))], dtype=np.int64)
        return self._counts

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.counts)])

    def __len__(self) -> int:
        return int(self.counts.sum())

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.select(np.arange(len(self))[i])
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"sample {i} of {n}")
        i %= n
        offsets = self.offsets
        j = int(np.searchsorted(offsets, i, side="right") - 1)
        return self.shard(j)[i - int(offsets[j])]

    def __iter__(self) -> Iterator:
        for j in range(len(self.files)):
            samples = self.shard(j)
            for k in range(len(samples)):
                yield samples[k]

    def shard_of(self, positions: np.ndarray) -> np.ndarray:
        """The shard number of each sample position."""
        return np.searchsorted(self.offsets, np.asarray(positions, dtype=np.int64), side="right") - 1

    def select(self, indices: Sequence[int]) -> ShardView:
        return ShardView(self, indices)

    def carve(self, task, fraction: float, seed: int) -> tuple[Sequence, Sequence | None]:
        """``(train, validation)``: the task's own rule inside every shard (``task.split_validation`` of one
        shard's samples; e.g. the latest windows of each series), else a seeded, stratified random fraction."""
        if not fraction:
            return self, None
        if task.split_validation(self.shard(0), fraction, seed) is not None:
            def part(k):
                return lambda path: task.split_validation(self._load(path), fraction, seed)[k]

            return (ShardedData(self.files, part(0), f"{self.name} (train part)", self.keep),
                    ShardedData(self.files, part(1), f"{self.name} (validation part)", self.keep))
        return carve_indices(self, task, fraction, seed)

    def __repr__(self) -> str:
        return f"ShardedData({self.name!r}, {len(self.files)} shards)"


class ShardView(Sequence):
    """The samples of a :class:`ShardedData` at ``indices``, read lazily through it."""

    def __init__(self, base: ShardedData, indices: Sequence[int]):
        self.base, self.indices = base, np.asarray(indices, dtype=np.int64)
        self.name = base.name

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ShardView(self.base, self.indices[i])
        return self.base[self.indices[i]]

    def __iter__(self) -> Iterator:
        for i in self.indices:
            yield self.base[i]

    def shard_of(self, positions: np.ndarray) -> np.ndarray:
        return self.base.shard_of(self.indices[np.asarray(positions, dtype=np.int64)])

    def select(self, indices: Sequence[int]) -> ShardView:
        return ShardView(self.base, self.indices[np.asarray(indices, dtype=np.int64)])

    def carve(self, task, fraction: float, seed: int) -> tuple[Sequence, Sequence | None]:
        return carve_indices(self, task, fraction, seed) if fraction else (self, None)


def carve_indices(data: ShardedData | ShardView, task, fraction: float, seed: int) -> tuple[ShardView, ShardView]:
    """A seeded random ``fraction`` of ``data`` held out, stratified by ``task.stratify`` (:func:`held_out`), as
    lazy views."""
    keep, held = held_out(data, task, fraction, seed)
    return data.select(keep), data.select(held)


def epoch_order(data: Sequence, seed: int | Sequence[int]) -> np.ndarray:
    """A seeded permutation of ``range(len(data))``: plain for in-memory data (as :func:`batches` draws it),
    shard-blocked for sharded data (shards in a random order, samples shuffled inside each shard)."""
    rng = np.random.default_rng(seed)
    n = len(data)
    shard_of = getattr(data, "shard_of", None)
    if shard_of is None:
        return rng.permutation(n)
    ids = shard_of(np.arange(n))
    by_shard = np.argsort(ids, kind="stable")
    shards, starts = np.unique(ids[by_shard], return_index=True)
    groups = np.split(by_shard, starts[1:])
    return np.concatenate([groups[g][rng.permutation(len(groups[g]))] for g in rng.permutation(len(shards))]
                          or [np.zeros(0, dtype=np.int64)])


def epoch_batches(data: Sequence, batch_size: int, shuffle: bool = False,
                  seed: int | Sequence[int] = 0) -> Iterator[list[int]]:
    """Index lists of at most ``batch_size`` over ``data``: :func:`batches` for in-memory data (the same draws),
    cut from :func:`epoch_order` for sharded data."""
    if not shuffle or getattr(data, "shard_of", None) is None:
        yield from batches(len(data), batch_size, shuffle, seed)
        return
    order = epoch_order(data, seed)
    for start in range(0, len(order), batch_size):
        yield [int(i) for i in order[start:start + batch_size]]
