"""Prediction intervals for forecasts: the pinball (quantile) loss, their scores, and the split-conformal baseline.

- :func:`pinball`: the quantile loss a quantile head trains on (torch), mean over all elements and quantiles.
- :func:`interval_scores`: weighted quantile loss (GluonTS' ``mean_wQuantileLoss``: 2 x the summed pinball loss
  over the summed absolute actual values, averaged over the quantiles; with quantiles spread evenly it
  approximates the CRPS normalised by the series' scale), and ``coverage``: the share of actual values inside
  the interval between the lowest and the highest quantile (nominal: their difference, e.g. 0.8 for 0.1..0.9).
- :func:`conformal_offsets`: split conformal intervals for any point forecaster: the empirical quantiles of its
  residuals on calibration windows it was not fitted on, per lead time and feature, added to its forecast.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def pinball(pred: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean pinball loss of ``pred [..., Q]`` (one forecast per quantile) against ``target [...]``."""
    err = target.unsqueeze(-1) - pred
    return torch.maximum(quantiles * err, (quantiles - 1.0) * err).mean()


def interval_scores(qpred: np.ndarray, actual: np.ndarray, quantiles: Sequence[float]) -> dict[str, float]:
    """``wql`` and ``coverage`` of quantile forecasts ``qpred [..., F, Q]`` against ``actual [..., F]``."""
    q = np.asarray(quantiles, np.float64)
    qpred, actual = np.asarray(qpred, np.float64), np.asarray(actual, np.float64)
    err = actual[..., None] - qpred
    loss = np.maximum(q * err, (q - 1.0) * err)                                  # [..., F, Q]
    denom = max(float(np.abs(actual).sum()), 1e-12)
    wql = float(np.mean(2.0 * loss.reshape(-1, len(q)).sum(0) / denom))
    lo, hi = qpred[..., int(np.argmin(q))], qpred[..., int(np.argmax(q))]
    return {"wql": wql, "coverage": float(((actual >= lo) & (actual <= hi)).mean())}


def nominal(quantiles: Sequence[float]) -> float:
    """The nominal coverage of the interval between the lowest and highest quantile (0.8 for 0.1..0.9)."""
    return round(float(max(quantiles) - min(quantiles)), 6)


def conformal_offsets(residuals: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """``[horizon, F, Q]``: the empirical ``quantiles`` of calibration residuals (actual - forecast) ``[windows,
    horizon, F]``, per lead time and feature (the finite-sample correction: level ceil((n+1) q)/n, clipped)."""
    r = np.asarray(residuals, np.float64)
    n = len(r)
    levels = [min(max(np.ceil((n + 1) * q) / n if q >= 0.5 else np.floor((n + 1) * q) / n, 0.0), 1.0)
              for q in quantiles]
    return np.stack([np.quantile(r, lv, axis=0) for lv in levels], axis=-1)


def median_index(quantiles: Sequence[float]) -> int:
    """The quantile nearest 0.5: the point forecast of a quantile head."""
    return int(np.argmin(np.abs(np.asarray(quantiles, np.float64) - 0.5)))


def conformal_linear_ar(x: np.ndarray, y: np.ndarray, quantiles: Sequence[float], calibration: float = 0.2):
    """Split conformal linear AR: ridge (:class:`~seqkit.kit.baselines.Ridge`) fitted on the first windows of
    ``x [windows, inputs]`` -> ``y [windows, horizon, F]`` (in time order), residual quantiles taken on the last
    ``calibration`` share. Returns ``(ridge, offsets [horizon, F, Q])``: forecast ``ridge.predict(x)[..., None] +
    offsets``. Too few windows to hold out (< 10): in-sample residuals instead."""
    from seqkit.kit.baselines import Ridge

    n = len(x)
    cut = n - max(int(round(n * calibration)), 1) if n >= 10 else n
    horizon = y.shape[1]
    fit_end = max(cut - horizon + 1, 2) if cut < n else n  # no calibration target is a fitting target
    ridge = Ridge().fit(x[:fit_end], y[:fit_end])
    held = slice(cut, n) if cut < n else slice(0, n)
    return ridge, conformal_offsets(y[held] - ridge.predict(x[held]), quantiles)
