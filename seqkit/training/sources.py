"""Where a run's data comes from: named datasets (``Task.datasets()``) or files, recorded so a run describes itself.

A *source record* is a small JSON-able dict stored under ``data`` in a run's config.json::

    {"source": "basic-motions", "kind": "dataset", "split": "train"}
    {"source": "/abs/path/reviews.csv", "kind": "file", "split": "train"}
    {"source": "basic-motions", "kind": "dataset", "split": "train", "carved": 0.1, "seed": 0}   # validation
    {"kind": "samples", "size": 120}     # samples handed over in Python: cannot be reloaded

:func:`describe` turns ``--data`` into a record (refusing, with the task that owns it, another task's dataset),
:func:`validation_record` decides where validation data comes from (the one place that decides it),
:func:`test_record` what ``evaluate`` scores by default, and :func:`load` reads a record back.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqkit.core.plugins import Plugins
from seqkit.core.task import not_shipped
from seqkit.errors import SeqkitError
from seqkit.training.shards import load_data


def dataset_table(plugins: Plugins, task: str | None = None) -> list[dict[str, Any]]:
    """One row per named dataset of every registered task (or of ``task``): task, name, splits, description;
    a task whose ``datasets()`` fails gets a row with ``problem``."""
    rows = []
    for name in [task] if task else plugins.tasks.names():
        cls = plugins.task(name)
        try:
            datasets = cls.datasets()
        except Exception as exc:  # a third-party task's bug must not hide the others
            rows.append({"task": name, "name": "", "splits": [], "description": "", "files": "",
                         "problem": f"{type(exc).__name__}: {exc}"})
            continue
        if not datasets and getattr(cls, "FILES", ""):  # a task that reads only the user's files (translation)
            rows.append({"task": name, "name": "", "splits": [], "description": "no built-in dataset: give a file",
                         "files": cls.FILES})
        for dataset, description in datasets.items():
            splits = cls.dataset_splits(dataset) if hasattr(cls, "dataset_splits") else None
            declared = getattr(cls, "DATASETS", {}).get(dataset)
            rows.append({"task": name, "name": dataset, "splits": list(splits) if splits else [],
                         "description": description, "files": getattr(cls, "FILES", ""),
                         "download": getattr(declared, "download", "")})
    return rows


def owners(plugins: Plugins, dataset: str) -> list[str]:
    """Registered tasks that offer a dataset called ``dataset``."""
    return [row["task"] for row in dataset_table(plugins) if row["name"] == dataset]


def describe(plugins: Plugins, task: str, source: Any, split: str) -> dict[str, Any]:
    """The record of ``source`` for ``task``: a dataset name of that task, an existing path, or loaded samples.

    Another task's dataset name is refused with the task that has it; an unknown name lists the task's datasets.
    """
    if not isinstance(source, (str, os.PathLike)):
        return {"kind": "samples", "size": len(source)}
    source = os.fspath(source)
    cls = plugins.task(task)
    declared = getattr(cls, "DATASETS", {}).get(source)
    if getattr(declared, "download", "") and not Path(source).exists():
        raise SeqkitError(not_shipped(source, declared))
    if source in cls.datasets() and not getattr(declared, "download", ""):
        return {"source": source, "kind": "dataset", "split": split}
    if Path(source).exists():
        return {"source": str(Path(source).resolve()), "kind": "file", "split": split}
    others = owners(plugins, source)
    if others:
        hint = " or ".join(f"--task {t}" for t in others)
        raise SeqkitError(f"dataset {source!r} belongs to task {' and '.join(repr(t) for t in others)}, not "
                          f"{task!r}; train it with {hint}")
    names = ", ".join(cls.datasets()) or "none"
    raise SeqkitError(f"{source!r} is neither a file nor a dataset of task {task!r} ({names}); 'seqkit datasets' "
                      f"lists every task's datasets")


def validation_record(plugins: Plugins, task: str, train: dict[str, Any], val: Any, fraction: float,
                      seed: int) -> dict[str, Any] | None:
    """Where validation data comes from -- decided here and nowhere else.

    No ``val``: ``fraction`` of the training data, carved before the task is fitted (None at fraction 0). A dataset
    name: its real "val" split where it has one; the training dataset itself without one: carved as above;
    another dataset without one: refused. A file: read whole (its "val" or "all" split when the task's files have
    splits). Loaded samples: as they are.
    """
    if val is None:
        return _carved(train, fraction, seed) if fraction else None
    record = describe(plugins, task, val, "val")
    if record["kind"] == "dataset":
        splits = plugins.task(task).dataset_splits(record["source"])
        if splits is None or "val" in splits:  # undeclared splits: ask the task for "val", as seqkit always did
            return record
        if train.get("kind") == "dataset" and train["source"] == record["source"]:
            if not fraction:
                raise SeqkitError(f"dataset {record['source']!r} has no val split (splits: {', '.join(splits)}); "
                                  f"carve validation from its training data with a val_fraction > 0")
            return _carved(train, fraction, seed)
        raise SeqkitError(f"dataset {record['source']!r} has no val split (splits: {', '.join(splits)}); drop the "
                          f"validation data to carve it from the training data, or give a file")
    if record["kind"] == "file":
        file_splits = _file_splits(plugins.task(task), record["source"])
        if file_splits:
            usable = [s for s in ("val", "all") if s in file_splits]
            if not usable:
                raise SeqkitError(f"a validation file of task {task!r} is read at split val or all, but its files "
                                  f"have splits {', '.join(file_splits)}")
            record["split"] = usable[0]
    return record


def _file_splits(cls: type, source: str) -> tuple[str, ...]:
    """The splits of the user's file or folder ``source`` (``Task.file_splits``; ``FILE_SPLITS`` of a task class
    that is no :class:`~seqkit.core.task.Task`)."""
    if hasattr(cls, "file_splits"):
        return tuple(cls.file_splits(Path(source)))
    return tuple(getattr(cls, "FILE_SPLITS", ()))


def _carved(train: dict[str, Any], fraction: float, seed: int) -> dict[str, Any]:
    return {**train, "carved": fraction, "seed": seed}


def test_record(cls: type, train: dict[str, Any]) -> dict[str, Any] | None:
    """What ``evaluate`` scores when given no data: the test split of the training source, if it has one."""
    if train.get("kind") == "dataset":
        splits = cls.dataset_splits(train["source"]) if hasattr(cls, "dataset_splits") else None
        if splits is None or "test" in splits:
            return {**train, "split": "test"}
    elif train.get("kind") == "file" and "test" in _file_splits(cls, train["source"]):
        return {**train, "split": "test"}
    return None


def load(task, record: dict[str, Any], train_data: Sequence | None = None,
         carve=None) -> Sequence:
    """The samples of ``record`` for a (fitted or unfitted) ``task``; a carved record needs ``carve(data)``, which
    returns ``(train, held_out)`` of the recorded training data ``train_data``."""
    if record.get("kind") == "samples":
        raise SeqkitError("the run was trained on samples handed over in Python, which it cannot reload; pass the "
                          "data again (train(..., resume=True) / evaluate(run, data))")
    if record.get("carved"):
        if train_data is None or carve is None:
            raise SeqkitError("validation carved from the training data needs the training data")
        return carve(train_data)[1]
    source = record["source"]
    if record["kind"] == "file" and not Path(source).exists():
        raise SeqkitError(f"{source} (recorded in the run) no longer exists; give the data again")
    return load_data(task, source, record["split"])  # a folder of shards: read lazily


def same_source(record: dict[str, Any] | None, given: Any) -> bool:
    """Whether ``given`` (a name or path as typed) names the recorded source."""
    if record is None or record.get("kind") == "samples":
        return False
    given = os.fspath(given)
    if record["kind"] == "file":
        return Path(given).exists() and str(Path(given).resolve()) == record["source"]
    return given == record["source"]


def where(record: dict[str, Any] | None) -> str:
    """A data record in words, for messages: ``sunspots (train, 0.1 carved from it)``."""
    if not record:
        return "no recorded data"
    if record.get("kind") == "samples":
        return "samples handed over in Python"
    carved = f", {record['carved']:g} carved from it" if record.get("carved") else ""
    return f"{record['source']} ({record['split']}{carved})"
