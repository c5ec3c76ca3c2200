"""The strong baselines of labelled sequences, and the same fits as the start of ``linear_skip``'s path.

``ridge`` on pooled per-feature statistics (numbers) and naive Bayes on token ids (text) are the baselines
``seqkit evaluate`` reports; with ``-T linear_skip=true`` the model holds a linear path past the cell, started
at that baseline's fit on the training data (:class:`~seqkit.kit.heads.StatsSkipHead`,
:class:`~seqkit.kit.heads.BagSkipHead`), and the fit made for the start also scores the baseline once.
"""
from __future__ import annotations

import numpy as np

from seqkit.kit.baselines import NaiveBayes, RidgeClassifier, accuracy, pooled_statistics


def _same(x):
    return x


def fit_pooled_ridge(train, steps=None) -> RidgeClassifier:
    """A :class:`RidgeClassifier` on :func:`pooled_statistics` of ``steps(item.x)`` (None: ``item.x`` itself),
    fitted on ``train``."""
    steps = steps or _same
    return RidgeClassifier().fit(np.stack([pooled_statistics(steps(s.x)) for s in train]), [s.label for s in train])


def pooled_ridge(train, test, steps=None, model: RidgeClassifier | None = None) -> dict[str, float]:
    """Accuracy on ``test`` of :func:`fit_pooled_ridge` fitted on ``train`` (``model``: that fit, made already)."""
    model = model if model is not None else fit_pooled_ridge(train, steps)
    steps = steps or _same
    predicted = model.predict(np.stack([pooled_statistics(steps(s.x)) for s in test]))
    return {"accuracy": accuracy(predicted, [s.label for s in test])}


def ridge_start(train, labels: list[str], steps=None, model: RidgeClassifier | None = None) -> tuple:
    """The ridge baseline (:func:`pooled_ridge`) fitted on ``train`` (``model``: that fit, made already), as
    :class:`~seqkit.kit.heads.StatsSkipHead`'s start: ``(stats mean, stats std, weight [classes, stats], bias
    [classes])``, classes in ``labels`` order."""
    model = model if model is not None else fit_pooled_ridge(train, steps)
    order = [model.classes.index(label) for label in labels]
    ridge = model.ridge
    return (ridge.mean.astype(np.float32), ridge.std.astype(np.float32), ridge.coef.T[order].astype(np.float32),
            ridge.y_mean[order].astype(np.float32))


def start_from_ridge(task, data, steps=None) -> None:
    """``linear_skip``'s start from the ridge baseline fitted on the training ``data``, for ``fit()``: left in
    ``task.prepared["skip_start"]`` (never saved; ``build_head`` of the ``compose()`` of this fitted task reads
    it), and the fit itself, with ``data``, in ``task.prepared["ridge_fit"]`` for :func:`ridge_baseline` on that
    same data (train() scores it next): the ridge is fitted once. ``task``: a task with ``config.labels`` (a
    config object, as before 0.2, gets ``_skip_start`` / ``_skip_ridge`` attributes instead)."""
    config = getattr(task, "config", task)
    model = fit_pooled_ridge(data, steps)
    _keep(task, "skip_start", ridge_start(data, config.labels, model=model))
    _keep(task, "ridge_fit", (data, model))


def _keep(holder, name: str, value) -> None:
    if hasattr(holder, "prepared"):
        holder.prepared[name] = value
    else:
        object.__setattr__(holder, {"skip_start": "_skip_start", "ridge_fit": "_skip_ridge"}[name], value)


def skip_start(task):
    """What :func:`start_from_ridge` (or a task's own ``fit()``) left for the head: ``task.prepared``, or a config
    attribute from before 0.2; None when nothing was fitted (a saved run: its weights are loaded anyway)."""
    prepared = getattr(task, "prepared", {})
    return prepared["skip_start"] if "skip_start" in prepared else getattr(getattr(task, "config", task),
                                                                          "_skip_start", None)


def ridge_baseline(task, train, test, steps=None) -> dict[str, dict[str, float]]:
    """``{"ridge": accuracy}`` of :func:`pooled_ridge`, reusing (once) the fit :func:`start_from_ridge` left on
    ``task`` when ``train`` is the data it was fitted on."""
    kept = (task.prepared.pop("ridge_fit", None) if hasattr(task, "prepared")
            else task.__dict__.pop("_skip_ridge", None))
    model = kept[1] if kept is not None and kept[0] is train else None
    return {"ridge": pooled_ridge(train, test, steps, model)}


def naive_bayes_start(docs: list[list[int]], targets: list[str], labels: list[str], vocab_size: int) -> tuple:
    """Naive Bayes on token ids as :class:`~seqkit.kit.heads.BagSkipHead`'s start: ``(table [vocab, classes],
    bias [classes])``; each token's log-probabilities centred over the classes (softmax does not change), ids
    never seen in training score 0."""
    model = NaiveBayes().fit(docs, targets)
    order = [model.classes.index(label) for label in labels]
    table = np.zeros((vocab_size, len(labels)), np.float32)
    for token, j in model.vocab.items():
        column = model.log_prob[order, j]
        table[token] = column - column.mean()
    return table, model.log_prior[order].astype(np.float32)
