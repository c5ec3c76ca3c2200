"""Labelled-sequence machinery that classification-like tasks share.

:class:`LabelledTask` is what every sequence -> label task has in common (labels learnt in ``fit``, cross-entropy,
accuracy, majority baseline, pooled logits head). :class:`LabelledSequenceTask` adds padded numeric frames and
``.npz`` files; the speech and video tasks add their own inputs, encoders and datasets to it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqkit.core.task import Task, TensorSpec
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit.heads import POOLINGS, PooledHead, StatsSkipHead
from seqkit.kit.readers import pad, read_arrays
from seqkit.kit.scaling import check_scaling
from seqkit.kit.skip import ridge_baseline, skip_start, start_from_ridge


@dataclass
class Item:
    """One labelled sequence: ``x`` float32 ``[time, ...]``, its label name, where it came from (for errors) and
    what its values are (``features``, recorded by ``fit()`` into the exported file)."""

    x: np.ndarray
    label: str
    where: str
    features: str = ""


def label_order(names) -> list[str]:
    """Sorted label names, numbers in numeric order."""
    return sorted(set(names), key=lambda v: (0, int(v), "") if v.lstrip("-").isdigit() else (1, 0, v))


def read_npz_items(path, key: str, tail: tuple, name: str, label_key: str = "labels") -> list[Item]:
    """A user's ``.npz``: ``key`` [items, time, *tail] (padded), ``label_key`` [items] and optional ``lengths``
    [items] -> :class:`Item` list, each cut to its length. In ``tail`` an int is a required size, None or a name
    (e.g. "features") any size."""
    a = read_arrays(path, (key, label_key), ("lengths",))
    x, y = a[key], a[label_key]
    if (x.ndim != 2 + len(tail) or any(isinstance(t, int) and n != t for n, t in zip(x.shape[2:], tail))
            or not np.issubdtype(x.dtype, np.number)):
        want = ", ".join("any" if t is None else str(t) for t in tail)
        raise SeqkitError(f"{name}: {key} must be numeric [items, time, {want}], got {x.dtype} {list(x.shape)}")
    if y.ndim != 1 or len(y) != len(x):
        raise SeqkitError(f"{name}: {label_key} must be [items] with one label per item of {key} ({len(x)}), "
                          f"got {list(y.shape)}")
    if x.size == 0:
        raise SeqkitError(f"{name}: {key} {list(x.shape)} is empty; it needs items and steps")
    lengths = a.get("lengths", np.full(len(x), x.shape[1]))
    if lengths.shape != (len(x),) or not np.issubdtype(lengths.dtype, np.integer):
        raise SeqkitError(f"{name}: lengths must be integers [items] ({len(x)}), got {lengths.dtype} "
                          f"{list(lengths.shape)}")
    bad = np.flatnonzero((lengths < 1) | (lengths > x.shape[1]))
    if bad.size:
        raise SeqkitError(f"{name}: lengths item {bad[0]} is {lengths[bad[0]]}, outside 1..{x.shape[1]} (time)")
    items = []
    for i in range(len(x)):
        steps = x[i, :lengths[i]].astype(np.float32)
        if not np.isfinite(steps).all():
            where = [int(v) for v in np.argwhere(~np.isfinite(steps))[0]]
            raise SeqkitError(f"{name}: {key} item {i} step {where[0]} (index {where[1:]}) is "
                              f"{steps[tuple(where)]}; clean or drop that item")
        items.append(Item(steps, str(y[i]), f"{name} item {i}", f"'{key}' arrays of {Path(name).name}"))
    return items


class LabelledTask(Task):
    """What every sequence -> label task shares: labels learnt in fit, cross-entropy, accuracy, majority baseline.

    Samples have ``.label`` and ``.where``; the Config has ``num_classes, pooling, labels, class_counts``. The
    output is ``logits`` ``[batch, num_classes]`` from length-aware pooling of the cell's outputs.
    """

    CAPABILITIES = frozenset({"baselines", "report", "plots", "streaming"})

    def outputs(self):
        return [TensorSpec("logits", ("batch", self.config.num_classes), "float32",
                           "unnormalised class scores; softmax gives probabilities")]

    def build_head(self, cell_output_size):
        if getattr(self.config, "linear_skip", False):
            return self.skip_head(cell_output_size)
        return PooledHead(cell_output_size, self.config.num_classes, self.config.pooling)

    def skip_head(self, cell_output_size):
        """The head for ``-T linear_skip=true``: :class:`PooledHead` plus the task's strong baseline as a linear
        path past the cell, started at that baseline's fit (``fit()`` leaves it in ``self.prepared``)."""
        raise ConfigError(f"{type(self).__name__} has no linear_skip path")

    def fit_labels(self, data) -> None:
        """Labels and class counts from training ``data`` (at least 2 classes)."""
        if len(data) == 0:
            raise SeqkitError("no training data: the data source gave no samples")
        counts = Counter(s.label for s in data)
        if len(counts) < 2:
            raise SeqkitError(f"training data holds only the label(s) {sorted(counts)} ({data[0].where} ...); "
                              f"a classifier needs at least 2")
        c = self.config
        c.labels = label_order(counts)
        c.num_classes, c.class_counts = len(c.labels), [counts[label] for label in c.labels]

    def label_index(self, samples) -> dict[str, int]:
        """``{label: class index}``; a clear error for an unfitted task or a label unseen in training."""
        c = self.config
        if not c.labels:
            raise SeqkitError(f"the {type(self).__name__} is not fitted (no labels); build the model with "
                              f"seqkit.training.prepare(...) so that fit() sees the training data")
        index = {label: i for i, label in enumerate(c.labels)}
        for s in samples:
            if s.label not in index:
                raise SeqkitError(f"{s.where}: label {s.label!r} was not in the training data (labels: "
                                  f"{', '.join(c.labels)})")
        return index

    def stratify(self, sample):
        return sample.label

    def streaming_problem(self):
        if getattr(self.config, "linear_skip", False):
            return ("its head adds a linear model of the whole sequence (-T linear_skip=true), so a chunk's result "
                    "depends on steps not yet seen; use a model trained without it")
        pooling = self.config.pooling
        if pooling in ("mean", "max"):
            return (f"its head pools the cell outputs with '{pooling}' over the whole sequence, so a chunk's result "
                    f"depends on steps not yet seen; use a model trained with -T pooling=last")
        return None

    def loss(self, outputs, target):
        return nn.functional.cross_entropy(outputs[0], target)

    def metrics(self, outputs, target):
        return {"accuracy": (outputs[0].argmax(-1) == target).float().mean().item()}

    def main_metric(self):
        return ("accuracy", "max")

    def baseline(self, train, test):
        """Accuracy on ``test`` of the training data's majority class (or the fitted class counts)."""
        counts = (Counter(s.label for s in train) if train is not None
                  else dict(zip(self.config.labels, self.config.class_counts)))
        if not counts or not len(test):
            return {}
        majority = max(sorted(counts), key=lambda label: counts[label])
        return {"accuracy": sum(s.label == majority for s in test) / len(test)}

    def strong_baselines(self, train, test) -> dict[str, dict[str, float]]:
        """Non-recurrent models fitted on ``train``, scored on ``test``: ``{name: {"accuracy": ..}}``."""
        return {}

    def baselines(self, train, test):
        """``majority`` and the :meth:`strong_baselines`, fitted on ``train`` or, for a saved run, on the
        training split recorded at load time (all of it: the model's training and validation parts)."""
        if not len(test):
            return {}
        out = {"majority": self.baseline(train, test)}
        train = train if train is not None else self.training_data()
        if train is not None and len(train):
            out.update(self.strong_baselines(train, test))
        return out

    def report(self, outputs, target, data):
        """Accuracy, macro-averaged F1, per-class precision / recall / F1 / support and the confusion matrix
        (rows: actual class, columns: predicted)."""
        labels = list(self.config.labels) or [str(i) for i in range(outputs[0].shape[-1])]
        k = len(labels)
        pred = np.asarray(outputs[0]).argmax(-1)
        matrix = np.zeros((k, k), dtype=np.int64)
        np.add.at(matrix, (np.asarray(target, np.int64), pred), 1)
        hits, predicted, actual = np.diag(matrix), matrix.sum(0), matrix.sum(1)
        precision = np.divide(hits, predicted, out=np.zeros(k), where=predicted > 0)
        recall = np.divide(hits, actual, out=np.zeros(k), where=actual > 0)
        f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=precision + recall > 0)
        present = actual > 0
        return {"accuracy": float(hits.sum() / max(matrix.sum(), 1)),
                "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
                "per_class": {label: {"precision": float(precision[i]), "recall": float(recall[i]),
                                      "f1": float(f1[i]), "support": int(actual[i])}
                              for i, label in enumerate(labels)},
                "confusion": {"labels": labels, "matrix": matrix.tolist()}}

    def plots(self, outputs, target, data, folder, name):
        """``confusion-NAME.png``: the confusion matrix of :meth:`report`."""
        from seqkit.kit.plots import confusion_plot

        confusion = self.report(outputs, target, data)["confusion"]
        path = Path(folder) / f"confusion-{name}.png"
        confusion_plot(path, np.array(confusion["matrix"]), confusion["labels"],
                       f"{name} ({len(target)} samples)")
        return [path]


class LabelledSequenceTask(LabelledTask):
    """Labelled sequences -> class logits. Subclasses give ``inputs()``, encoders, datasets and ``item_shape()``;
    their Config has ``num_classes, pooling, labels, class_counts, mean, std, features``."""

    def item_shape(self) -> tuple:
        """Shape of one step of a sample (after the time axis)."""
        raise NotImplementedError

    def baseline_steps(self, x: np.ndarray) -> np.ndarray:
        """What the pooled baseline summarises per step: ``x`` itself ``[time, ...]`` (the video task gives
        motion features instead)."""
        return x

    def strong_baselines(self, train, test):
        """``ridge``: a ridge classifier on each sequence's pooled per-feature statistics (mean, std, min, max over
        its steps, and its length) of :meth:`baseline_steps`; penalty by leave-one-out on ``train``."""
        return ridge_baseline(self, train, test, self.baseline_steps)

    def skip_head(self, cell_output_size):
        """:class:`~seqkit.kit.heads.StatsSkipHead`: the ridge baseline on pooled statistics of the raw steps."""
        c = self.config
        steps, width = self.skip_steps()
        return StatsSkipHead(cell_output_size, c.num_classes, c.pooling, width, skip_start(self),
                             steps)

    def skip_steps(self) -> tuple:
        """``(torch function or None, features per step)``: :meth:`baseline_steps` inside the model, for the
        ``linear_skip`` head (None: the raw steps)."""
        return None, int(np.prod(self.item_shape()))

    def fit_skip(self, data) -> None:
        """With ``linear_skip``: the ridge fit of the training ``data`` as the skip path's start
        (:func:`start_from_ridge`)."""
        if getattr(self.config, "linear_skip", False):
            start_from_ridge(self, data, self.baseline_steps)

    def validate(self):
        c = self.config
        if c.num_classes < 2:
            raise ConfigError(f"{type(self).__name__} needs at least 2 classes, got {c.num_classes}")
        if c.pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling {c.pooling!r}; choose one of {', '.join(POOLINGS)}")
        if c.labels and len(c.labels) != c.num_classes:
            raise ConfigError(f"{len(c.labels)} labels given for {c.num_classes} classes")
        check_scaling(c.mean, c.std)

    def fit_labels(self, data) -> None:
        """Labels, class counts and ``features`` from training ``data``; the subclass adds its normalisation."""
        super().fit_labels(data)
        self.config.features = data[0].features or self.config.features

    def collate(self, samples):
        index = self.label_index(samples)
        want = tuple(self.item_shape())
        for s in samples:
            if tuple(s.x.shape[1:]) != want:
                raise SeqkitError(f"{s.where}: steps of shape {list(s.x.shape[1:])}, the model expects {list(want)}")
        x, lengths = pad([s.x for s in samples], torch.float32)
        return (x, lengths), torch.tensor([index[s.label] for s in samples], dtype=torch.int64)

    def metadata(self):
        c = self.config
        return {"labels": list(c.labels), "features": c.features,
                "normalisation": {"mean": c.mean, "std": c.std, "applied": "inside the model: feed raw values"}}
