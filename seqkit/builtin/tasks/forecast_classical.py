"""A classical baseline from a well-kept library: statsforecast's AutoETS (the optional ``forecast`` extra).

For each window, AutoETS is fitted on its series' history up to the window's first target (M4's protocol: the
model selected and fitted per series and origin, nothing learnt from the test targets) and forecasts
``horizon`` steps. Without statsforecast installed the baseline is absent and :data:`MISSING` says which extra
to install.
"""
from __future__ import annotations

import numpy as np

MISSING = "AutoETS baseline: not installed; pip install 'seqkit[forecast]' (statsforecast) to compare with it"
NAME = "AutoETS (statsforecast)"


def available() -> bool:
    try:
        import statsforecast  # noqa: F401
    except ImportError:
        return False
    return True


def auto_ets(data, horizon: int, season: int) -> np.ndarray | None:
    """AutoETS forecasts ``[windows, horizon, F]`` for every window of ``data`` (each feature alone); None when a
    window's history is too short for statsforecast to fit (it refuses "tiny datasets")."""
    from statsforecast.models import AutoETS

    out = np.empty((len(data), horizon, data[0][0].shape[-1]))
    for i in range(len(data)):
        if hasattr(data, "segment_start"):
            history = data.series[data.segment_start(i): int(data.starts[i])]
        else:
            history = data[i][0]
        m = season if season > 1 and len(history) >= 2 * season else 1
        for j in range(history.shape[-1]):
            y = history[:, j].astype(np.float64)
            try:
                out[i, :, j] = AutoETS(season_length=m).forecast(y=y, h=horizon)["mean"]
            except (NotImplementedError, ValueError):
                return None
    return out
