"""The task contract: what turns raw inputs into cell features and cell outputs into predictions.

A task declares its ONNX inputs and outputs as :class:`TensorSpec` lists with *named* axes (Optimum's
OnnxConfig idea): a string axis ("batch", "time") is dynamic in the exported file, an int is fixed. seqkit
builds ``encoder -> cell -> head`` (see :mod:`seqkit.core.compose`); tasks never see which cell they get.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from seqkit.errors import ConfigError, SeqkitError

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


class Task:
    """Base class of tasks. A subclass sets ``Config`` (a dataclass) and implements the ``build_*`` methods."""

    Config: ClassVar[type] = object

    def __init__(self, config: Any = None):
        self.config = config if config is not None else self.Config()
        self.validate()

    @classmethod
    def config_from_dict(cls, values: dict[str, Any]) -> Any:
        """``Config(**values)``, refusing unknown keys with the list of known ones."""
        known = {f.name for f in fields(cls.Config)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"task {cls.__name__} has no option {', '.join(unknown)}; its options: "
                              f"{', '.join(sorted(known))}")
        return cls.Config(**values)

    @classmethod
    def make_config(cls, value: Any = None) -> Any:
        """``value`` as this task's Config: None -> defaults, a dict -> :meth:`config_from_dict`, else as is."""
        if value is None or isinstance(value, dict):
            return cls.config_from_dict(value or {})
        return value

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
        """Module: ``forward(outputs, state, lengths) -> tuple of tensors``, in the order of :meth:`outputs`.

        A head whose class sets ``uses_inputs = True`` is called ``forward(outputs, state, lengths, *inputs)``
        with the task's inputs too (a skip connection past the cell, e.g. forecasting's linear autoregressive
        path)."""
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

    def baselines(self, train: Any, test: Any) -> dict[str, dict[str, float]]:
        """Every baseline's metrics on ``test``, by name: the :meth:`baseline` and stronger non-recurrent models
        (``seqkit.kit.baselines``) fitted on ``train`` only, e.g. ``{"majority": {...}, "ridge": {...}}``.

        ``train`` is None when evaluating a saved run: a model that must be fitted is refitted on the training
        data that :meth:`load_data` recorded in ``self.config``, or left out when there is none.
        Default: ``{"baseline": self.baseline(train, test)}``.
        """
        scores = self.baseline(train, test)
        return {"baseline": scores} if scores else {}

    def report(self, outputs: tuple, target: np.ndarray, data: Any) -> dict[str, Any]:
        """Whole-set results from every prediction of ``data`` at once (``outputs``: the model's outputs as numpy
        arrays over all samples, ``target`` the collated targets): metrics that are not batch means (RMSE),
        per-class precision and recall, a confusion matrix... JSON-serialisable; merged into ``evaluate()``'s
        result. Default: nothing."""
        return {}

    def plots(self, outputs: tuple, target: np.ndarray, data: Any, folder: Path, name: str) -> list[Path]:
        """PNG files into ``folder`` that show the predictions of :meth:`report` (forecast against actual, a
        confusion matrix...), named after ``name`` (e.g. "test"); the paths written. Default: none."""
        return []

    def backtest(self, predict: Callable[[tuple], tuple], data: Any, stride: int = 1, folder: Path | None = None,
                 name: str = "data") -> dict[str, Any]:
        """Rolling-origin evaluation of a trained model over ``data`` (forecasting): ``predict(inputs) ->
        outputs`` runs the model on collated inputs and returns numpy arrays; a plot goes into ``folder`` (when
        given) under ``plots``."""
        raise SeqkitError(f"task {type(self).__name__} has no backtest (it is for forecasting runs); evaluate "
                          f"without --backtest")

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
