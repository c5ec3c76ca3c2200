"""Named model inputs and outputs: :class:`TensorSpec` (named dynamic axes, Optimum's OnnxConfig idea), the
checks of a task's specs, and random valid inputs for them (tracing, verification, contract checks)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DTYPES = {"float32": np.float32, "int64": np.int64}


@dataclass
class TensorSpec:
    """One named model input or output.

    ``shape`` holds axis names (dynamic) or ints (fixed). ``kind`` tells generators which values are valid:
    ``data`` (any float), ``lengths`` (int64 in ``1..time``), ``ids`` (int64 in ``[0, high)``).
    """

    name: str
    shape: tuple
    dtype: str = "float32"
    description: str = ""
    kind: str = "data"
    high: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shape"] = list(self.shape)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TensorSpec:
        return cls(**{**d, "shape": tuple(d["shape"])})


#: names a dynamic axis may have: verification and export know how to size these
AXES = ("batch", "time")
KINDS = ("data", "lengths", "ids", "state")  # state: a streaming file's recurrent state


def spec_problems(specs: list[TensorSpec]) -> list[str]:
    """What is wrong with ``specs`` (one line each, starting with the spec's name), or an empty list."""
    problems = []
    for spec in specs:
        name = f"'{spec.name}'" if isinstance(spec.name, str) and spec.name else repr(spec.name)
        if not isinstance(spec.name, str) or not spec.name:
            problems.append(f"{name}: the name must be a non-empty string")
        if not isinstance(spec.shape, (tuple, list)):
            problems.append(f"{name}: shape must be a tuple such as (\"batch\", \"time\", 3), got {spec.shape!r}")
            continue
        for i, axis in enumerate(spec.shape):
            if isinstance(axis, str) and axis not in AXES:
                problems.append(f"{name} axis {i} is named {axis!r}; a dynamic axis must be named 'batch' or 'time' "
                                f"(fixed sizes are ints)")
            elif not isinstance(axis, str) and (isinstance(axis, bool) or not isinstance(axis, int) or axis <= 0):
                problems.append(f"{name} axis {i} is {axis!r}; an axis is 'batch', 'time' or a positive int")
        if spec.dtype not in DTYPES:
            problems.append(f"{name} has dtype {spec.dtype!r}; choose one of {', '.join(DTYPES)}")
        if spec.kind not in KINDS:
            problems.append(f"{name} has kind {spec.kind!r}; choose one of {', '.join(KINDS)}")
        elif spec.kind == "lengths" and (tuple(spec.shape) != ("batch",) or spec.dtype != "int64"):
            problems.append(f"{name} is kind 'lengths', which must be int64 of shape (\"batch\",)")
        elif spec.kind == "ids" and (spec.dtype != "int64" or (spec.high is not None and (
                isinstance(spec.high, bool) or not isinstance(spec.high, int) or spec.high <= 0))):
            problems.append(f"{name} is kind 'ids', which must be int64 with high a positive int, got "
                            f"{spec.dtype} high={spec.high!r}")
    return problems


def sample_inputs(specs: list[TensorSpec], sizes: dict[str, int], rng: np.random.Generator,
                  full_lengths: bool = False) -> dict[str, np.ndarray]:
    """Random valid inputs for ``specs`` with named axes set by ``sizes`` (e.g. {"batch": 4, "time": 9}).

    Lengths are mixed (the first sample is full length) unless ``full_lengths``; padded positions hold random
    values, so that any leak of padding into a result shows up as a mismatch.
    """
    out = {}
    for spec in specs:
        shape = tuple(sizes[a] if isinstance(a, str) else a for a in spec.shape)
        if spec.kind == "lengths":
            time = sizes["time"]
            arr = np.full(shape, time, dtype=np.int64) if full_lengths else rng.integers(1, time + 1, size=shape)
            if arr.size:
                arr.flat[0] = time
        elif spec.kind == "ids":
            arr = rng.integers(0, spec.high or 2, size=shape)
        else:
            arr = rng.standard_normal(shape)
        out[spec.name] = arr.astype(DTYPES[spec.dtype])
    return out
