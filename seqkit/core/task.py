"""The task contract: what turns raw inputs into cell features and cell outputs into predictions.

A task declares its ONNX inputs and outputs as :class:`TensorSpec` lists with *named* axes (Optimum's
OnnxConfig idea): a string axis ("batch", "time") is dynamic in the exported file, an int is fixed. seqkit
builds ``encoder -> cell -> head`` (see :mod:`seqkit.core.compose`); tasks never see which cell they get.
"""
from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields, is_dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from seqkit.core.options import field_kinds, typed
from seqkit.errors import ConfigError

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
KINDS = ("data", "lengths", "ids")


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


def _defaults(config_cls: type) -> dict[str, Any]:
    out = {}
    for f in fields(config_cls):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:
            try:
                out[f.name] = f.default_factory()
            except Exception:  # a plugin's factory; the default only serves as an example in messages
                pass
    return out


class Task:
    """Base class of tasks. A subclass sets ``Config`` (a dataclass) and implements the ``build_*`` methods."""

    Config: ClassVar[type] = object

    def __init__(self, config: Any = None):
        self.config = config if config is not None else self.Config()
        self.validate()

    @classmethod
    def config_from_dict(cls, values: dict[str, Any]) -> Any:
        """``Config(**values)``, refusing unknown keys with the list of known ones and values of the wrong type.

        Each value is checked against its field's type (``int``, ``float``, ``bool``, ``str``, ``X | None``,
        ``list[X]``); the raw text of a :class:`seqkit.core.options.TextOptions` (the CLI's ``-T``) is parsed by it.
        """
        if not isinstance(values, dict):
            raise ConfigError(f"the options of task {cls.__name__} must be a mapping of option names to values, got "
                              f"{type(values).__name__}")
        known = {f.name for f in fields(cls.Config)}
        unknown = sorted(set(values) - known, key=str)
        if unknown:
            raise ConfigError(f"task {cls.__name__} has no option {', '.join(map(str, unknown))}; its options: "
                              f"{', '.join(sorted(known))}")
        return cls.Config(**typed(values, field_kinds(cls.Config), _defaults(cls.Config), f"task {cls.__name__}"))

    @classmethod
    def make_config(cls, value: Any = None) -> Any:
        """``value`` as this task's Config: None -> defaults, a dict -> :meth:`config_from_dict`, a Config -> its
        fields type-checked the same way."""
        if value is None or isinstance(value, dict):
            return cls.config_from_dict(value or {})
        if not is_dataclass(cls.Config):  # a Config that is not a dataclass: the task checks it in validate()
            return value
        if isinstance(value, cls.Config):
            return cls.config_from_dict({f.name: getattr(value, f.name) for f in fields(value) if f.init})
        raise ConfigError(f"task {cls.__name__} takes a {cls.Config.__name__} or a dict of its fields, got "
                          f"{type(value).__name__}")

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)

    def validate(self) -> None:
        """Raise :class:`ConfigError` for an invalid ``self.config``."""

    # -- the contract ---------------------------------------------------------------------------------
    def inputs(self) -> list[TensorSpec]:
        raise NotImplementedError

    def outputs(self) -> list[TensorSpec]:
        raise NotImplementedError

    def feature_size(self) -> int:
        """Features per step that the encoder hands to the cell (the cell's ``input_size``)."""
        raise NotImplementedError

    def build_encoder(self) -> nn.Module:
        """Module: ``forward(*inputs) -> (features [batch, time, feature_size], lengths or None)``."""
        raise NotImplementedError

    def build_head(self, cell_output_size: int) -> nn.Module:
        """Module: ``forward(outputs, state, lengths) -> tuple of tensors``, in the order of :meth:`outputs`."""
        raise NotImplementedError

    def example_inputs(self, batch: int, time: int, seed: int = 0, full_lengths: bool = False) -> tuple:
        """Tensors in the order of :meth:`inputs`, for tracing and for verification."""
        arrays = sample_inputs(self.inputs(), {"batch": batch, "time": time}, np.random.default_rng(seed),
                               full_lengths=full_lengths)
        return tuple(torch.from_numpy(arrays[s.name]) for s in self.inputs())

    # -- data and training (used by seqkit.train; see docs/tasks.md) ------------------------------------
    @classmethod
    def datasets(cls) -> dict[str, str]:
        """Named built-in datasets that need no network: ``{name: one-line description}``."""
        return {}

    def load_data(self, source: str, split: str = "train") -> Any:
        """A named built-in dataset or a path to the user's file(s) -> a sized, indexable collection of samples.

        Bad data raises :class:`SeqkitError` naming the file and the row or item.
        """
        raise NotImplementedError

    def fit(self, data: Any) -> None:
        """Learn preprocessing (vocabulary, labels, normalisation) from training data into ``self.config``."""

    def collate(self, samples: list) -> tuple[tuple, torch.Tensor]:
        """A batch: (inputs in the order of :meth:`inputs`, target)."""
        raise NotImplementedError

    def loss(self, outputs: tuple, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def metrics(self, outputs: tuple, target: torch.Tensor) -> dict[str, float]:
        """Batch metrics (means over the batch); the trainer averages them weighted by batch size."""
        return {}

    def baseline(self, train: Any, test: Any) -> dict[str, float]:
        """The honest baseline's metrics on ``test`` (majority class, seasonal naive, ...).

        ``train`` is None when evaluating a saved run: then use what :meth:`fit` stored in ``self.config``.
        """
        return {}

    def main_metric(self) -> tuple[str, str]:
        """``(metric name, "min" or "max")`` that early stopping and model selection watch on validation data."""
        return ("loss", "min")

    def stratify(self, sample: Any) -> Any:
        """The value a validation split keeps in proportion (e.g. the class label); None: plain random split."""
        return None

    def split_validation(self, data: Any, fraction: float, seed: int) -> tuple[Any, Any] | None:
        """``(train, validation)`` for data whose samples are not exchangeable, e.g. overlapping windows of one
        series, where a random pick would leak (forecasting holds out the latest ``fraction``); None (default):
        the trainer draws a seeded random fraction, stratified by :meth:`stratify`."""
        return None

    def metadata(self) -> dict[str, Any]:
        """Extra facts for the exported file (labels, normalisation...); JSON-serialisable."""
        return {}
