"""Forecasting's interval recalibration on the validation split (``-T calibrate=cqr``): conformalized quantile
regression (Romano, Patterson & Candes 2019).

After training (the best epoch's weights), the model forecasts the validation windows; each pair of levels
``q``, ``1 - q`` is widened (or narrowed) by the finite-sample-corrected ``1 - 2q`` quantile of CQR's score
``max(lower - actual, actual - upper)`` (:func:`cqr_offsets`; per column, pooled over lead times and windows,
in model units: standardised, or divided by each window's mean |value|, so one offset serves every series of a
panel). The offsets live in a buffer of the head
(saved with the weights, constants in the exported graph) and are added to the quantiles in model units; the
quantiles are then sorted so that no two cross. The median and the ``distribution`` output stay as trained.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqkit.kit.intervals import conformal_offsets

METHODS = ("cqr",)


class Calibration(nn.Module):
    """``[F, Q]`` offsets (model units) added to quantiles ``[b, horizon, F, Q]``, then sorted; zeros until
    calibrated. In training it is the identity: the offsets are zero then, and sorting crossed quantiles would
    change which level's pinball loss each output gets, so a run with ``calibrate`` would train differently from
    the same run without it."""

    def __init__(self, features: int, levels: int):
        super().__init__()
        self.register_buffer("offsets", torch.zeros(features, levels))

    def forward(self, q):
        if self.training:
            return q
        return (q + self.offsets).sort(-1).values


def calibrate(task, model, data) -> bool:
    """Set the head's offsets from ``data`` (the validation windows); True when they were set."""
    head = getattr(model, "head", None)
    calibration = getattr(head, "calibration", None)
    if calibration is None or data is None or len(data) == 0:
        return False
    c = task.config
    calibration.offsets.zero_()
    residuals, was = [], model.training
    model.eval()
    with torch.no_grad():
        for lo in range(0, len(data), 256):
            inputs, target = task.collate([data[i] for i in range(lo, min(lo + 256, len(data)))])
            actual, window_scale = task._target(target)
            unit = (window_scale if window_scale is not None else task._scale()).numpy()
            q = model(*inputs)[1].numpy()
            residuals.append(((actual.numpy()[..., None] - q) / unit[..., None]).reshape(-1, c.num_features,
                                                                                    len(c.quantiles)))
    model.train(was)
    calibration.offsets.copy_(torch.as_tensor(cqr_offsets(np.concatenate(residuals), c.quantiles),
                                              dtype=torch.float32))
    return True


def cqr_offsets(residuals: np.ndarray, levels) -> np.ndarray:
    """``[F, Q]`` offsets from residuals ``actual - forecast_q`` ``[n, F, Q]``. A pair of levels ``q``, ``1 - q``:
    CQR's score ``max(lower - actual, actual - upper)``, its conformal ``1 - 2q`` quantile ``s``, the lower level
    moved by ``-s`` and the upper by ``+s`` (both outwards, or inwards when ``s < 0``); a level without a partner:
    the conformal ``q`` quantile of its own residuals (one-sided); 0.5: unchanged."""
    levels = [float(v) for v in levels]
    offsets = np.zeros(residuals.shape[1:])
    for k, level in enumerate(levels):
        partner = next((j for j, other in enumerate(levels) if abs(level + other - 1.0) < 1e-9), None)
        if abs(level - 0.5) < 1e-9:
            continue
        if partner is None:
            offsets[:, k] = conformal_offsets(residuals[..., k], [level])[..., 0]
        elif level < 0.5:
            score = np.maximum(-residuals[..., k], residuals[..., partner])  # lower - actual, actual - upper
            s = conformal_offsets(score, [levels[partner] - level])[..., 0]
            offsets[:, k], offsets[:, partner] = -s, s
    return offsets
