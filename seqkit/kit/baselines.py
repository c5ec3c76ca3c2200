"""Strong non-recurrent baselines that tasks share: small linear models in numpy, fitted on training data only.

A recurrent model is worth its cost only where it beats these. Everything here is closed form or counting (no
iterations, no tuning on test data) and torch-free:

- :class:`Ridge`: ridge regression with an intercept on standardised inputs; the penalty is chosen by exact
  leave-one-out error on the training data (the hat-matrix shortcut through one SVD, as scikit-learn's
  ``RidgeCV``; the standardisation stays fitted on all of it), so nothing but training data picks it.
- :class:`RidgeClassifier`: :class:`Ridge` on +-1 one-hot targets, argmax (scikit-learn's ``RidgeClassifierCV``).
- :func:`pooled_statistics`: per-feature mean, std, min and max over a sequence's steps, plus its length: the
  summary a pooled linear model sees (order of the steps is lost on purpose).
- :class:`NaiveBayes`: multinomial naive Bayes on token counts with add-one smoothing.
- :func:`forecast_scores`: MAE, MSE, RMSE, sMAPE and MASE of forecasts, as darts defines them.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

ALPHAS = tuple(10.0 ** k for k in range(-4, 5))


class Ridge:
    """``y ~ x @ coef + intercept``; inputs standardised with the training mean/std; the penalty from ``alphas``
    with the lowest exact leave-one-out squared error on the training data."""

    def __init__(self, alphas: Sequence[float] = ALPHAS):
        self.alphas = tuple(alphas)

    def fit(self, x: np.ndarray, y: np.ndarray) -> Ridge:
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        y2 = y.reshape(len(y), -1)
        self.mean, std = x.mean(0), x.std(0)
        self.std = np.where(std > 1e-12, std, 1.0)
        self.y_mean = y2.mean(0)
        z, t = (x - self.mean) / self.std, y2 - self.y_mean
        u, s, vt = np.linalg.svd(z, full_matrices=False)
        keep = s > s[0] * 1e-10 if s.size else s > 0
        u, s, vt = u[:, keep], s[:, None][keep], vt[keep]
        ut_t = u.T @ t
        best = None
        n = len(z)
        for alpha in self.alphas:
            shrink = s ** 2 / (s ** 2 + alpha)                       # [k, 1]
            fitted = u @ (shrink * ut_t)
            hat = (u ** 2) @ shrink[:, 0] + 1.0 / n                   # leverage, the intercept included
            loo = (t - fitted) / np.maximum(1.0 - hat, 1e-9)[:, None]
            err = float((loo ** 2).mean())
            if best is None or err < best[0]:
                best = (err, alpha)
        self.alpha, self.loo_mse = best[1], best[0]
        shrink = s / (s ** 2 + self.alpha)
        self.coef = vt.T @ (shrink * ut_t)                            # [features, outputs]
        self.out_shape = y.shape[1:]
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, np.float64) - self.mean) / self.std
        return (z @ self.coef + self.y_mean).reshape((len(z), *self.out_shape))


class RidgeClassifier:
    """:class:`Ridge` on +-1 one-hot targets; the class with the highest score wins."""

    def __init__(self, alphas: Sequence[float] = ALPHAS):
        self.ridge = Ridge(alphas)

    def fit(self, x: np.ndarray, labels: Sequence) -> RidgeClassifier:
        self.classes = sorted(set(labels))
        index = {c: i for i, c in enumerate(self.classes)}
        y = -np.ones((len(labels), len(self.classes)))
        y[np.arange(len(labels)), [index[v] for v in labels]] = 1.0
        self.ridge.fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> list:
        return [self.classes[i] for i in self.ridge.predict(x).argmax(1)]


def pooled_statistics(x: np.ndarray) -> np.ndarray:
    """``[time, ...]`` -> per-feature mean, std, min, max over time (steps flattened to features), and length."""
    steps = np.asarray(x, np.float64).reshape(len(x), -1)
    return np.concatenate([steps.mean(0), steps.std(0), steps.min(0), steps.max(0), [len(steps)]])


class NaiveBayes:
    """Multinomial naive Bayes on token counts, add-``smoothing`` (Laplace) smoothing, log class priors."""

    def __init__(self, smoothing: float = 1.0):
        self.smoothing = smoothing

    def fit(self, docs: Iterable[Sequence[str]], labels: Sequence) -> NaiveBayes:
        docs = list(docs)
        self.classes = sorted(set(labels))
        counts = {c: Counter() for c in self.classes}
        for tokens, label in zip(docs, labels):
            counts[label].update(tokens)
        self.vocab = {w: i for i, w in enumerate(sorted(set().union(*counts.values())))}
        table = np.full((len(self.classes), len(self.vocab)), self.smoothing)
        for k, c in enumerate(self.classes):
            for w, n in counts[c].items():
                table[k, self.vocab[w]] += n
        self.log_prob = np.log(table / table.sum(1, keepdims=True))
        prior = Counter(labels)
        self.log_prior = np.log(np.array([prior[c] / len(labels) for c in self.classes]))
        return self

    def predict(self, docs: Iterable[Sequence[str]]) -> list:
        out = []
        for tokens in docs:
            ids = [self.vocab[t] for t in tokens if t in self.vocab]  # unseen words carry no evidence
            out.append(self.classes[int(np.argmax(self.log_prior + self.log_prob[:, ids].sum(1)))])
        return out


def accuracy(predicted: Sequence, actual: Sequence) -> float:
    return float(np.mean([p == a for p, a in zip(predicted, actual)])) if len(actual) else float("nan")


def mase_scale(series: np.ndarray, season: int) -> list[float]:
    """Per feature: mean absolute ``season``-step change of the training ``series`` [steps, features] (MASE's
    denominator, darts' ``insample``); 1.0 where that is 0 or there are too few steps."""
    series = np.asarray(series, np.float64)
    m = max(int(season), 1)
    if len(series) <= m:
        return [1.0] * series.shape[1]
    scale = np.abs(series[m:] - series[:-m]).mean(0)
    return [round(float(v), 6) if v > 1e-12 else 1.0 for v in scale]


def forecast_errors(pred, actual, scale: Sequence[float]) -> dict[str, np.ndarray]:
    """Per-element terms whose means are the metrics: abs error, squared error, sMAPE and scaled abs error."""
    err = np.asarray(pred, np.float64) - np.asarray(actual, np.float64)
    denom = np.abs(pred) + np.abs(actual)
    smape = np.divide(200.0 * np.abs(err), denom, out=np.zeros_like(err), where=denom > 0)  # 0/0 counts as 0
    return {"mae": np.abs(err), "mse": err ** 2, "smape": smape,
            "mase": np.abs(err) / np.asarray(scale, np.float64)}


def forecast_scores(pred, actual, scale: Sequence[float]) -> dict[str, float]:
    """MAE, MSE, RMSE (data units), sMAPE (percent, 0-200) and MASE (MAE over the training series' mean absolute
    seasonal change, per feature, then averaged) of forecasts ``pred`` against ``actual`` ``[..., features]``."""
    terms = forecast_errors(pred, actual, scale)
    scores = {k: float(v.mean()) for k, v in terms.items()}
    scores["rmse"] = float(np.sqrt(scores["mse"]))
    return {k: scores[k] for k in ("mae", "mse", "rmse", "smape", "mase")}
