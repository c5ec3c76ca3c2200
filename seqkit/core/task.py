"""The task contract: what turns raw inputs into cell features and cell outputs into predictions.

A task declares its ONNX inputs and outputs as :class:`TensorSpec` lists with *named* axes (Optimum's
OnnxConfig idea): a string axis ("batch", "time") is dynamic in the exported file, an int is fixed. seqkit
builds ``encoder -> cell -> head`` (see :mod:`seqkit.core.compose`); tasks never see which cell they get.

The contract has two parts (docs/plugins.md, "Task contract reference"):

- **the minimum** every task implements: ``Config``, ``inputs()``, ``outputs()``, ``feature_size()``,
  ``build_encoder()``, ``build_head()``, ``collate()``, ``loss()``, ``metrics()`` and its data
  (``DATASETS`` / ``load_dataset()`` / ``load_file()``, see :mod:`seqkit.core.data`); ``fit()``,
  ``validate()``, ``metadata()``, ``main_metric()`` have defaults.
- **optional capabilities**, declared in :attr:`Task.CAPABILITIES` (simonw/llm's capability flags): seqkit asks
  :meth:`Task.can` and never compares a method with the base class's.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import MISSING, asdict, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from seqkit.core.data import (  # noqa: F401 (re-exported)
    DATASETS_PACKAGE,
    Dataset,
    TaskData,
    _words,
    not_shipped,
    packaged_file,
)
from seqkit.core.options import field_kinds, typed
from seqkit.core.specs import AXES, DTYPES, KINDS, TensorSpec, sample_inputs, spec_problems  # noqa: F401 (re-exported: their home until 0.2)
from seqkit.errors import ConfigError, SeqkitError

#: the registered name of the task whose options are being checked (Task.make_config(..., name=)), for errors
_CHECKING: ContextVar[str | None] = ContextVar("seqkit_task_checking", default=None)

#: the optional capabilities a task may declare in ``CAPABILITIES``, and what each promises
CAPABILITIES = {
    "baselines": "baseline() / baselines(): non-recurrent scores next to the model's, also for a saved run",
    "report": "report(): whole-set results merged into evaluate()'s (RMSE, per-class scores, ...)",
    "plots": "plots(): PNGs of the predictions written by evaluate",
    "backtest": "backtest(): rolling-origin evaluation (seqkit evaluate RUN --backtest)",
    "streaming": "export --streaming: chunks with the recurrent state carried (streaming_problem() may still "
                 "refuse one configuration)",
    "state": "the task's own inputs/outputs carry the cell's state (state_pairs()); its file steps as it is",
    "calibrate": "calibrate(model, val_data) -> bool: after training, set buffers of the trained model from the "
                 "validation split (True: they changed; the saved weights are rewritten)",
}


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


class Task(TaskData):
    """Base class of tasks. A subclass sets ``Config`` (a dataclass) and implements the minimum below; optional
    capabilities are declared in :attr:`CAPABILITIES`."""

    Config: ClassVar[type] = object
    #: the optional capabilities this task has (names from :data:`CAPABILITIES`). None (a task written before
    #: 0.2 declared them): inferred from which optional methods the class overrides, streaming included.
    CAPABILITIES: ClassVar[frozenset[str] | None] = None

    def __init__(self, config: Any = None):
        self.config = config if config is not None else self.Config()
        self.validate()

    @classmethod
    def capabilities(cls) -> frozenset[str]:
        """The declared :attr:`CAPABILITIES` (unknown names refused), or for an undeclaring task those its
        overridden methods imply."""
        if cls.CAPABILITIES is not None:
            unknown = sorted(set(cls.CAPABILITIES) - set(CAPABILITIES))
            if unknown:
                raise ConfigError(f"task {cls.__name__} declares unknown capabilities {', '.join(unknown)}; "
                                  f"known: {', '.join(CAPABILITIES)}")
            return frozenset(cls.CAPABILITIES)
        implied = {"baselines": ("baseline", "baselines"), "report": ("report",), "plots": ("plots",),
                   "backtest": ("backtest",), "state": ("state_pairs",), "calibrate": ("calibrate",)}
        found = {name for name, methods in implied.items()
                 if any(getattr(cls, m) is not getattr(Task, m) for m in methods)}
        return frozenset(found | {"streaming"})

    @classmethod
    def can(cls, capability: str) -> bool:
        """Whether this task has ``capability`` (a name of :data:`CAPABILITIES`)."""
        if capability not in CAPABILITIES:
            raise ValueError(f"unknown capability {capability!r}; known: {', '.join(CAPABILITIES)}")
        return capability in cls.capabilities()

    @classmethod
    def config_from_dict(cls, values: dict[str, Any]) -> Any:
        """``Config(**values)``, refusing unknown keys with the list of known ones and values of the wrong type.

        Each value is checked against its field's type (``int``, ``float``, ``bool``, ``str``, ``X | None``,
        ``list[X]``); the raw text of a :class:`seqkit.core.options.TextOptions` (the CLI's ``-T``) is parsed by it.
        """
        if not isinstance(values, dict):
            raise ConfigError(f"the options of {_named(cls)} must be a mapping of option names to values, got "
                              f"{type(values).__name__}")
        known = {f.name for f in fields(cls.Config)}
        unknown = sorted(set(values) - known, key=str)
        if unknown:
            raise ConfigError(f"{_named(cls)} has no option {', '.join(map(str, unknown))}; its options: "
                              f"{', '.join(sorted(known))}")
        return cls.Config(**typed(values, field_kinds(cls.Config), _defaults(cls.Config), _named(cls)))

    @classmethod
    def make_config(cls, value: Any = None, *, name: str | None = None) -> Any:
        """``value`` as this task's Config: None -> defaults, a dict -> :meth:`config_from_dict`, a Config -> its
        fields type-checked the same way. ``name``: the task's registered name, which errors then use
        (``task 'classification' option num_classes=abc: ...``) instead of the class name."""
        token = _CHECKING.set(name) if name else None
        try:
            return cls._make_config(value)
        finally:
            if token is not None:
                _CHECKING.reset(token)

    @classmethod
    def _make_config(cls, value: Any) -> Any:
        if value is None or isinstance(value, dict):
            return cls.config_from_dict(value or {})
        if not is_dataclass(cls.Config):  # a Config that is not a dataclass: the task checks it in validate()
            return value
        if isinstance(value, cls.Config):
            checked = cls.config_from_dict({f.name: getattr(value, f.name) for f in fields(value) if f.init})
            private = {k: v for k, v in vars(value).items() if k.startswith("_")}
            if private:  # values a 0.1 fit() left for build_head on the config (never saved): still carried
                warnings.warn(f"task {cls.__name__}: private config values ({', '.join(sorted(private))}) are "
                              f"deprecated and will not be carried over in seqkit 0.4; keep what fit() learns in "
                              f"task.fitted / task.prepared and pass the fitted task to compose()",
                              DeprecationWarning, stacklevel=3)
            for key, extra in private.items():
                object.__setattr__(checked, key, extra)
            return checked
        raise ConfigError(f"{_named(cls)} takes a {cls.Config.__name__} or a dict of its fields, got "
                          f"{type(value).__name__}")

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)

    def validate(self) -> None:
        """Raise :class:`ConfigError` for an invalid ``self.config`` (called by ``__init__``)."""

    # -- fitted values ------------------------------------------------------------------------------------
    @property
    def fitted(self) -> dict[str, Any]:
        """Values :meth:`fit` learns from the training data (a mean, a threshold, a vocabulary), JSON values by
        name. Not an option (``-T`` cannot set them): saved with the run (config.json ``composition.fitted``) and
        in the exported file's metadata (``seqkit.fitted``), and restored before ``build_encoder()`` /
        ``build_head()`` when a saved run or file is rebuilt without training data."""
        values = self.__dict__.get("_fitted")
        if values is None:
            values = self.__dict__["_fitted"] = {}
        return values

    @fitted.setter
    def fitted(self, values: dict[str, Any]) -> None:
        self.__dict__["_fitted"] = dict(values)

    @property
    def prepared(self) -> dict[str, Any]:
        """What :meth:`fit` prepares for this training only (a head's starting weights, a baseline's fit on the
        training data): any Python values, never saved; ``compose()`` of this fitted task hands them to
        ``build_head()``, and training drops them once its baselines are scored."""
        values = self.__dict__.get("_prepared")
        if values is None:
            values = self.__dict__["_prepared"] = {}
        return values

    # -- the minimum: model ---------------------------------------------------------------------------------
    def inputs(self) -> list[TensorSpec]:
        raise NotImplementedError

    def outputs(self) -> list[TensorSpec]:
        raise NotImplementedError

    def feature_size(self) -> int:
        """Features per step that the encoder hands to the cell (the cell's ``input_size``)."""
        raise NotImplementedError

    def build_encoder(self) -> nn.Module:
        """Module: ``forward(*inputs) -> (features [batch, time, feature_size], lengths or None)``, or a third
        item: the cell's initial state (a tuple of tensors, or None), for tasks that take the state as inputs."""
        raise NotImplementedError

    def bind_cell(self, cell: nn.Module) -> None:
        """Called by ``compose()`` with the built cell, before :meth:`build_head` and export. A task whose
        inputs/outputs carry the recurrent state (shapes ``[num_layers * num_directions, batch, hidden]``, one
        per state tensor) learns them here; tasks that need nothing of the cell ignore it (the default)."""

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

    # -- the minimum: training ----------------------------------------------------------------------------
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

    # -- optional capabilities (declare them in CAPABILITIES) ---------------------------------------------
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

    def streaming_problem(self) -> str | None:
        """Why this task's model cannot run chunk by chunk with the recurrent state carried between calls
        (``seqkit export --streaming``), or None when it can. A head that needs the whole sequence (mean or max
        pooling) or an encoder that looks across time steps cannot; the reason is shown to the user."""
        return None

    def state_pairs(self) -> list[tuple[str, str]]:
        """Capability ``state``: ``[(state input name, state output name), ...]`` of a task whose own inputs and
        outputs carry the cell's state (the language model's ``(h0, hn)``, ``(c0, cn)``), known after
        ``bind_cell()``. Its exported file steps as it is; ``--streaming`` exports that same file with the
        streaming metadata every streaming file has."""
        return []

    def calibrate(self, model: nn.Module, data: Any) -> bool:
        """Capability ``calibrate``: after training, with the best epoch's weights loaded (CPU, eval mode), set
        buffers of ``model`` from the validation ``data`` (forecasting: conformal offsets of its quantiles).
        Return True when they changed: the run's saved weights are then rewritten with them."""
        return False


def _named(cls: type) -> str:
    """How an option error calls the task: ``task 'NAME'`` while :meth:`Task.make_config` checks the options of
    a registered name, else ``task ClassName``."""
    name = _CHECKING.get()
    return f"task {name!r}" if name else f"task {cls.__name__}"
