"""A task's data: named built-in :class:`Dataset` s (shipped files or generated), the dispatch every task shares
(a dataset name or a path, the split checked, packaged files read with ``load_file``), and ``training_data()``
(a saved run's recorded training split, read again for its baselines). :class:`TaskData` is a base of
:class:`seqkit.core.task.Task`; a task overrides ``load_file`` / ``load_dataset`` and declares ``DATASETS``.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from seqkit.errors import SeqkitError

DATASETS_PACKAGE = "seqkit.datasets"  # where built-in data files are shipped (package data)


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
def packaged_file(relative: str, package: str = DATASETS_PACKAGE) -> Iterator[Path]:
    """A real path to ``relative`` (``"speech/japanese_vowels.npz"``) inside ``package`` (seqkit's datasets
    package, or a plugin's own package: :meth:`TaskData.data_package`), also when it is installed zipped."""
    try:
        ref = resources.files(package)
    except (ModuleNotFoundError, TypeError):
        raise SeqkitError(f"the package {package!r} that should hold {relative} cannot be imported") from None
    for part in relative.split("/"):
        ref = ref / part
    if not ref.is_file():
        owner = "seqkit" if package == DATASETS_PACKAGE else f"the package {package.split('.')[0]}"
        raise SeqkitError(f"the packaged data file {relative} is missing from {package}; reinstall {owner}")
    with resources.as_file(ref) as path:
        yield Path(path)


def _exists(package: str, relative: str) -> bool:
    try:
        ref = resources.files(package)
    except (ModuleNotFoundError, TypeError):
        return False
    for part in relative.split("/"):
        ref = ref / part
    return ref.is_file()


class TaskData:
    """The data side of a task (a base of :class:`seqkit.core.task.Task`)."""

    #: named built-in datasets (``{name: Dataset}``): what :meth:`datasets` lists and :meth:`load_data` dispatches
    DATASETS: ClassVar[dict[str, Dataset]] = {}
    #: what a user's file or folder holds, for messages and ``seqkit datasets``; "" when the task reads no files
    FILES: ClassVar[str] = ""
    #: True: a folder given as data goes to :meth:`load_file` whole (the task reads every file in it at once);
    #: False: seqkit.training reads a folder of shard files lazily, one file at a time, each by :meth:`load_data`
    READS_FOLDERS: ClassVar[bool] = False
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
        ``Dataset.file`` (inside :meth:`data_package`) with :meth:`load_file`; generated or specially packed
        datasets override this."""
        relative = self.DATASETS[name].file
        if not relative:
            raise NotImplementedError(f"{type(self).__name__} must load dataset {name!r} in load_dataset()")
        with self.packaged_file(relative.format(split=split)) as path:
            return self.load_file(path, split, f"{name} ({split})")

    #: the package whose files ``Dataset.file`` names; None: the task's own top-level package (a plugin ships
    #: its data files inside itself), seqkit's datasets package for seqkit's built-in tasks
    DATA_PACKAGE: ClassVar[str | None] = None

    @classmethod
    def data_package(cls) -> str:
        """Where :attr:`Dataset.file` paths resolve: :attr:`DATA_PACKAGE`, else the top-level package of the
        module that defines the task (``seqkit_mytask`` for ``seqkit_mytask.task``), else seqkit's datasets."""
        if cls.DATA_PACKAGE:
            return cls.DATA_PACKAGE
        top = cls.__module__.split(".")[0]
        if top == "seqkit" or top not in sys.modules or not getattr(sys.modules[top], "__path__", None):
            return DATASETS_PACKAGE  # seqkit's own tasks, or a task defined in a plain module / a script
        return top

    @classmethod
    @contextlib.contextmanager
    def packaged_file(cls, relative: str) -> Iterator[Path]:
        """A real path to ``relative`` inside :meth:`data_package`; a file that package lacks but seqkit ships
        (a plugin task reusing a built-in dataset's file, as 0.1 resolved every file) is seqkit's."""
        package = cls.data_package()
        if package != DATASETS_PACKAGE and not _exists(package, relative) and _exists(DATASETS_PACKAGE, relative):
            package = DATASETS_PACKAGE
        with packaged_file(relative, package) as path:
            yield path

    def load_file(self, path: Path, split: str, name: str) -> Any:
        """Samples of the user's file or folder ``path`` (``name`` is how errors call it). A task whose files
        have splits (:attr:`FILE_SPLITS`) honours ``split``; otherwise the whole file is read."""
        raise SeqkitError(f"this task reads no files ({name})")


def _words(items) -> str:
    """``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
