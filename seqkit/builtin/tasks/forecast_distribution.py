"""Forecasting's distribution head (``-T likelihood=gaussian|studentt``, DeepAR): the parts the task and its head
call, kept apart from forecasting.py.

The head's point path (cell + linear skip) is the location; :class:`~seqkit.kit.distributions.DistributionHead`
adds the scale (and Student-t's df); training minimises the negative log-likelihood in model units (standardised,
or each window divided by its mean |value|). The model's outputs: ``forecast`` (the location: mean and median),
``quantiles`` at the config's ``quantiles`` levels (default 0.1, 0.5, 0.9: loc + scale x the standard
distribution's quantile, exact), and ``distribution [batch, horizon, F, P]``: loc, scale (and df) in the data's
units.
"""
from __future__ import annotations

import numpy as np
import torch

from seqkit.core.task import TensorSpec
from seqkit.kit.distributions import PARAMETERS, DistributionHead, crps, nll

DEFAULT_LEVELS = [0.1, 0.5, 0.9]


def likelihood_levels(values: dict) -> dict:
    """A likelihood without ``quantiles`` outputs the default levels 0.1, 0.5, 0.9."""
    if values.get("likelihood") and not values.get("quantiles"):
        return {**values, "quantiles": list(DEFAULT_LEVELS)}
    return values


def distribution_head(in_size: int, config, spread: float) -> DistributionHead | None:
    if not config.likelihood:
        return None
    return DistributionHead(in_size, config.horizon, config.num_features, config.likelihood, config.quantiles,
                            spread)


def distribution_outputs(head, last, loc, series) -> tuple:
    """``(forecast, quantiles, distribution)`` in the data's units from the location ``loc`` in model units."""
    scale, df, q = head.dist(last, loc)
    q = q if head.calibration is None else head.calibration(q)
    unit = head.unit(series)
    forecast = head._back(loc, series)
    q = head._back(q.movedim(-1, 1), series.unsqueeze(1)).movedim(1, -1)
    params = [forecast, scale * unit]
    if df is not None:
        params.append(df.expand_as(forecast))
    return forecast, q, torch.stack(params, -1)


def distribution_loss(config, outputs, target, unit) -> torch.Tensor:
    """The negative log-likelihood of ``target`` in model units (``unit``: the std per feature, or each window's
    mean |value|): location, scale and target divided by it (the likelihood is shift invariant)."""
    params = outputs[2]
    df = params[..., 2] if config.likelihood == "studentt" else None
    return nll(params[..., 0] / unit, params[..., 1] / unit, df, target / unit)


def distribution_spec(config) -> TensorSpec:
    names = PARAMETERS[config.likelihood]
    return TensorSpec("distribution", ("batch", config.horizon, config.num_features, len(names)), "float32",
                      f"the {config.likelihood} forecast distribution's {', '.join(names)} per step and column, in "
                      f"the data's units")


def distribution_metadata(config) -> dict:
    return {"family": config.likelihood, "parameters": PARAMETERS[config.likelihood],
            "trained": "negative log-likelihood in model units (DeepAR)"}


def distribution_scores(config, distribution: np.ndarray, actual: np.ndarray) -> dict:
    """``crps`` (mean, in the data's units) and ``crps_weighted`` (summed CRPS over summed |actual|: the scale of
    ``wql``, which approximates it from quantiles) of the closed-form CRPS."""
    d = np.asarray(distribution, np.float64)
    values = crps(config.likelihood, d[..., 0], d[..., 1], actual, d[..., 2] if d.shape[-1] > 2 else None)
    return {"crps": float(values.mean()),
            "crps_weighted": float(values.sum() / max(float(np.abs(actual).sum()), 1e-12))}
