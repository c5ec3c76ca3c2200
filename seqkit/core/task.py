"""The task contract: what turns raw inputs into cell features and cell outputs into predictions.

A task declares its ONNX inputs and outputs as :class:`TensorSpec` lists with *named* axes (Optimum's
OnnxConfig idea): a string axis ("batch", "time") is dynamic in the exported file, an int is fixed. seqkit
builds ``encoder -> cell -> head`` (see :mod:`seqkit.core.compose`); tasks never see which cell they get.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import MISSING, asdict, dataclass, fields, is_dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from seqkit.core.options import field_kinds, typed
from seqkit.errors import ConfigError, SeqkitError

DTYPES = {"float32": np.float32, "int64": np.int64}
DATASETS_PACKAGE = "seqkit.datasets"  # where built-in data files are shipped (package data)
#: the registered name of the task whose options are being checked (Task.make_config(..., name=)), for errors
_CHECKING: ContextVar[str | None] = ContextVar("seqkit_task_checking", default=None)


@dataclass(frozen=True)
class Dataset:
    """A named dataset a task offers without a network: shipped in :data:`DATASETS_PACKAGE` or generated.

    ``file`` (optional) is the path of the shipped file inside that package, ``{split}`` standing for the split,
    e.g. ``"classification/fortunes_{split}.csv"``; :meth:`Task.load_dataset` reads it with :meth:`Task.load_file`.

    ``download`` (optional) marks a dataset seqkit does *not* ship (data copied from someone else's repository
    never is): one sentence saying where a user downloads it and what to pass as ``--data`` then. ``seqkit
    datasets`` shows it, and naming the dataset fails with one line saying it (:func:`not_shipped`).
    """

    description: str
    splits: tuple[str, ...] = ("train", "test")
    file: str = ""
    download: str = ""


def not_shipped(name: str, dataset: Dataset) -> str:
    """The one-line error for naming ``dataset`` (``name``) whose data seqkit does not ship."""
    return f"dataset {name!r} is not shipped with seqkit: {dataset.download}"


@contextlib.contextmanager
def packaged_file(relative: str) -> Iterator[Path]:
    """A real path to ``relative`` (``"speech/japanese_vowels.npz"``) inside the datasets package, also when the
    package is installed zipped (importlib.resources)."""
    ref = resources.files(DATASETS_PACKAGE)
    for part in relative.split("/"):
        ref = ref / part
    if not ref.is_file():
        raise SeqkitError(f"the packaged data file {relative} is missing from {DATASETS_PACKAGE}; reinstall seqkit")
    with resources.as_file(ref) as path:
        yield Path(path)


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
            for key, extra in vars(value).items():  # private values fit() leaves for build_head (never saved)
                if key.startswith("_"):
                    object.__setattr__(checked, key, extra)
            return checked
        raise ConfigError(f"{_named(cls)} takes a {cls.Config.__name__} or a dict of its fields, got "
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

    # -- data and training (used by seqkit.train; see docs/tasks.md) ------------------------------------
    #: named built-in datasets (``{name: Dataset}``): what :meth:`datasets` lists and :meth:`load_data` dispatches
    DATASETS: ClassVar[dict[str, Dataset]] = {}
    #: what a user's file or folder holds, for messages and ``seqkit datasets``; "" when the task reads no files
    FILES: ClassVar[str] = ""
    #: the splits of a user's file (forecasting: its chronological train/test); empty: a file is read whole
    FILE_SPLITS: ClassVar[tuple[str, ...]] = ()
    #: how :meth:`training_data` reads the recorded source again: ``read(task, source, split)``. None:
    #: ``task.load_data``; seqkit.training sets its reader on a saved run's task (it also reads folders of shards)
    source_reader: Callable[[Any, str, str], Any] | None = None

    @classmethod
    def datasets(cls) -> dict[str, str]:
        """Named built-in datasets that need no network: ``{name: one-line description}``."""
        return {name: d.description for name, d in cls.DATASETS.items()}

    @classmethod
    def file_splits(cls, path: Path) -> tuple[str, ...]:
        """The splits of the user's file or folder ``path``: :attr:`FILE_SPLITS` unless a task's files differ (a
        corpus folder split at load time, next to single files read whole)."""
        return cls.FILE_SPLITS

    @classmethod
    def dataset_splits(cls, name: str) -> tuple[str, ...] | None:
        """The splits of dataset ``name`` (e.g. ``("train", "test")``); None when the task does not declare them
        in :attr:`DATASETS` (a task that overrides :meth:`datasets` and :meth:`load_data` itself)."""
        dataset = cls.DATASETS.get(name)
        return dataset.splits if dataset is not None else None

    def load_data(self, source: str | os.PathLike, split: str = "train") -> Any:
        """A named built-in dataset or a path to the user's file(s) -> a sized, indexable collection of samples.

        The base class dispatches: a name in :attr:`DATASETS` (its ``split`` checked) goes to
        :meth:`load_dataset`, an existing path to :meth:`load_file`; anything else is a one-line error listing
        the task's datasets. Bad data raises :class:`SeqkitError` naming the file and the row or item.
        """
        source = os.fspath(source)
        if source in self.DATASETS and self.DATASETS[source].download and not Path(source).exists():
            raise SeqkitError(not_shipped(source, self.DATASETS[source]))
        if source in self.DATASETS and not self.DATASETS[source].download:
            splits = self.DATASETS[source].splits
            if split not in splits:
                raise SeqkitError(f"dataset {source!r} has splits {_words(splits)}, not {split!r}")
            self.record_source(source, split)
            return self.load_dataset(source, split)
        names = ", ".join(self.DATASETS) or "none"
        if not Path(source).exists():
            files = f"; or give {self.FILES}" if self.FILES else ""
            raise SeqkitError(f"{source!r} is neither a file nor a built-in dataset of this task ({names}){files}")
        if not self.FILES:
            raise SeqkitError(f"this task reads no files ({source!r}); use one of its datasets: {names}")
        file_splits = self.file_splits(Path(source))
        if file_splits and split not in file_splits:
            raise SeqkitError(f"{source} has splits {_words(file_splits)}, not {split!r}")
        self.record_source(source, split)
        return self.load_file(Path(source), split, source)

    def record_source(self, source: str, split: str) -> None:
        """Remember where the training data came from (the first ``train`` split loaded) in a ``train_source``
        config field, when the task's Config has one: baselines of a saved run refit on it."""
        if split == "train" and hasattr(self.config, "train_source") and not self.config.train_source:
            self.config.train_source = str(source)

    def training_data(self) -> Any | None:
        """The training split recorded by :meth:`record_source` (``config.train_source``: all of it, the model's
        training and validation parts), read again by a copy of this task, for the baselines of a saved run. None
        when there is none (data handed over as samples), it is gone (a file moved) or it cannot be read."""
        source = getattr(self.config, "train_source", "")
        if not source or not (source in self.datasets() or Path(source).exists()):
            return None
        fresh = type(self)(type(self.config)(**self.config_dict()))
        try:
            data = (self.source_reader(fresh, source, "train") if self.source_reader is not None
                    else fresh.load_data(source, "train"))
            len(data)  # a lazy reader (shards) reads here: a damaged shard means no data, not a later failure
            return data
        except SeqkitError:  # e.g. a folder of shards with no reader for it, or a damaged shard
            return None

    def load_dataset(self, name: str, split: str) -> Any:
        """Samples of the built-in dataset ``name`` at ``split`` (both checked). The default reads the shipped
        ``Dataset.file`` with :meth:`load_file`; generated or specially packed datasets override this."""
        relative = self.DATASETS[name].file
        if not relative:
            raise NotImplementedError(f"{type(self).__name__} must load dataset {name!r} in load_dataset()")
        with packaged_file(relative.format(split=split)) as path:
            return self.load_file(path, split, f"{name} ({split})")

    def load_file(self, path: Path, split: str, name: str) -> Any:
        """Samples of the user's file or folder ``path`` (``name`` is how errors call it). A task whose files
        have splits (:attr:`FILE_SPLITS`) honours ``split``; otherwise the whole file is read."""
        raise SeqkitError(f"this task reads no files ({name})")

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

    def streaming_problem(self) -> str | None:
        """Why this task's model cannot run chunk by chunk with the recurrent state carried between calls
        (``seqkit export --streaming``), or None when it can. A head that needs the whole sequence (mean or max
        pooling) or an encoder that looks across time steps cannot; the reason is shown to the user."""
        return None


def _named(cls: type) -> str:
    """How an option error calls the task: ``task 'NAME'`` while :meth:`Task.make_config` checks the options of
    a registered name, else ``task ClassName``."""
    name = _CHECKING.get()
    return f"task {name!r}" if name else f"task {cls.__name__}"


def _words(items) -> str:
    """``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
