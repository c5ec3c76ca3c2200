"""Input validation from a model's own metadata, before anything runs.

An exported file declares each input's name, dtype, named axes and kind (``data``, ``lengths``, ``ids`` with its
``high``, ``state``). :func:`check_feeds` holds a batch of feeds against that: every declared input and no other,
dtypes (only lossless conversions: int32 -> int64, float64 -> float32 when every value stays finite), rank, fixed
dims, one size per named axis, no empty axis, finite numbers, lengths in ``1..time``, token ids in
``0..high-1`` -- padding included. Each problem is one :class:`InputError` naming the input and the sample.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqkit.errors import InputError

DTYPES = {"float32": np.dtype(np.float32), "int64": np.dtype(np.int64)}
#: the only conversions made: lossless for integers; float64 -> float32 only where every value stays finite
CONVERSIONS = {("int32", "int64"), ("float64", "float32")}


@dataclass(frozen=True)
class Spec:
    """One declared input or output of an exported file (the torch-free twin of ``seqkit.TensorSpec``)."""

    name: str
    shape: tuple
    dtype: str = "float32"
    description: str = ""
    kind: str = "data"
    high: int | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Spec:
        known = {k: d[k] for k in ("name", "dtype", "description", "kind", "high") if k in d}
        return cls(shape=tuple(d["shape"]), **known)

    def axis(self, name: str) -> int | None:
        """Position of the named axis ``name``, or None."""
        return self.shape.index(name) if name in self.shape else None

    def pretty(self) -> str:
        return "[" + ", ".join(str(a) for a in self.shape) + "]"


def sample_name(samples: Sequence[str] | None, b: int) -> str:
    return samples[b] if samples is not None and b < len(samples) else f"sample {b}"


def convert(name: str, value: Any, spec: Spec) -> np.ndarray:
    """``value`` as an array of ``spec.dtype``; only int32 -> int64 and float64 -> float32 are converted."""
    arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    want = DTYPES[spec.dtype]
    if arr.dtype == want:
        return arr
    if (arr.dtype.name, want.name) in CONVERSIONS:
        with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf, refused by the checks
            return arr.astype(want)
    if spec.kind == "ids" and np.issubdtype(arr.dtype, np.floating):
        hint = "token ids must be integers; round and convert them yourself with .astype(np.int64)"
    elif spec.kind == "lengths":
        hint = "lengths must be integers (int64, or int32)"
    elif np.issubdtype(want, np.floating):
        hint = "give float32 (float64 is converted when its values fit)"
    else:
        hint = "give int64 (int32 is converted)"
    raise InputError(f"input '{name}': dtype {arr.dtype}, the model takes {want} {spec.pretty()}; {hint}")


def first_bad(bad: np.ndarray, batch_axis: int | None) -> tuple[int, tuple]:
    """(sample, index within the sample) of the first True in ``bad``."""
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    if batch_axis is None:
        return 0, where
    return where[batch_axis], where[:batch_axis] + where[batch_axis + 1:]


def check_feeds(specs: Sequence[Spec], feeds: Mapping[str, Any], samples: Sequence[str] | None = None,
                ) -> dict[str, np.ndarray]:
    """Validated (and losslessly converted) feeds for ``specs``, in their order; an :class:`InputError` naming the
    input and the sample (``samples[b]``, default ``"sample b"``) for the first problem found."""
    names = [s.name for s in specs]
    missing = [n for n in names if n not in feeds]
    if missing:
        raise InputError(f"input '{missing[0]}' is missing; the model takes {', '.join(names)}")
    extra = sorted(set(feeds) - set(names))
    if extra:
        raise InputError(f"input '{extra[0]}' is not an input of this model; it takes {', '.join(names)}")
    out: dict[str, np.ndarray] = {}
    sizes: dict[str, tuple[int, str]] = {}
    for spec in specs:
        arr = convert(spec.name, feeds[spec.name], spec)
        if arr.ndim != len(spec.shape):
            raise InputError(f"input '{spec.name}': {arr.ndim} dimension(s) {list(arr.shape)}, the model takes "
                             f"{len(spec.shape)}: {spec.pretty()}")
        for i, (want, got) in enumerate(zip(spec.shape, arr.shape)):
            if isinstance(want, int):
                if got != want:
                    raise InputError(f"input '{spec.name}': axis {i} has size {got}, the model takes {want} "
                                     f"{spec.pretty()}")
                continue
            if got == 0:
                raise InputError(f"input '{spec.name}': axis {i} ('{want}') is empty; give at least one {want} "
                                 f"entry")
            if want in sizes and sizes[want][0] != got:
                raise InputError(f"input '{spec.name}': axis {i} ('{want}') has size {got} but input "
                                 f"'{sizes[want][1]}' has {sizes[want][0]}; all inputs share '{want}'")
            sizes.setdefault(want, (got, spec.name))
        out[spec.name] = arr
    for spec in specs:
        arr, batch_axis = out[spec.name], spec.axis("batch")
        if np.issubdtype(arr.dtype, np.floating):
            finite = np.isfinite(arr)
            if not finite.all():
                b, idx = first_bad(~finite, batch_axis)
                value = arr[tuple(np.argwhere(~finite)[0])]
                original = feeds[spec.name]
                overflow = isinstance(original, np.ndarray) and original.dtype == np.float64 and np.isfinite(
                    original[tuple(np.argwhere(~finite)[0])])
                what = "does not fit float32" if overflow else "is not finite"
                raise InputError(f"input '{spec.name}' {sample_name(samples, b)}: value {value} at index "
                                 f"{list(idx)} {what}; clean or drop that sample")
        if spec.kind == "lengths":
            time = sizes.get("time", (None, ""))
            high = time[0] if time[0] is not None else np.iinfo(np.int64).max
            bad = (arr < 1) | (arr > high)
            if bad.any():
                b, _ = first_bad(bad, batch_axis)
                where = f"1..{time[0]} (the 'time' size of input '{time[1]}')" if time[0] is not None else ">= 1"
                raise InputError(f"input '{spec.name}' {sample_name(samples, b)}: length {int(arr[b])} is outside "
                                 f"{where}; a length counts the valid steps of its sample")
        elif spec.kind == "ids" and spec.high is not None:
            bad = (arr < 0) | (arr >= spec.high)
            if bad.any():
                b, idx = first_bad(bad, batch_axis)
                value = int(arr[tuple(np.argwhere(bad)[0])])
                raise InputError(f"input '{spec.name}' {sample_name(samples, b)} step {list(idx)[0] if idx else 0}: "
                                 f"token id {value} is outside 0..{spec.high - 1} (the model's {spec.high} ids); "
                                 f"padding steps too must hold a valid id, such as 0")
    return out
