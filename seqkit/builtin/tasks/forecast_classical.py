"""Classical baselines from a well-kept library: statsforecast's AutoETS and AutoARIMA (the optional
``forecast`` extra).

AutoETS: for each window, fitted on its series' history up to the window's first target (M4's protocol: the
model selected and fitted per series and origin, nothing learnt from the test targets), forecasting ``horizon``
steps. AutoARIMA (about ten times slower to select): selected and fitted once per series, on its history up to
the first window's origin, then applied at every later origin to the history up to it without refitting
(statsforecast's ``forward``); a list of windows without a series refits per window. Without statsforecast
installed both are absent and :data:`MISSING` says which extra to install.
"""
from __future__ import annotations

import numpy as np

MISSING = ("AutoETS and AutoARIMA baselines: not installed; pip install 'seqkit[forecast]' (statsforecast) to "
           "compare with them")
NAME = "AutoETS (statsforecast)"
ARIMA = "AutoARIMA (statsforecast)"


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


def auto_arima(data, horizon: int, season: int) -> np.ndarray | None:
    """AutoARIMA forecasts ``[windows, horizon, F]`` for every window of ``data`` (each feature alone), the model
    of each series and feature fitted on the history before its first window (see the module docstring); None
    when statsforecast cannot fit a history."""
    from statsforecast.models import AutoARIMA

    out = np.empty((len(data), horizon, data[0][0].shape[-1]))
    fitted: dict = {}
    for i in range(len(data)):
        series = hasattr(data, "segment_start")
        history = data.series[data.segment_start(i): int(data.starts[i])] if series else data[i][0]
        m = season if season > 1 and len(history) >= 2 * season else 1
        for j in range(history.shape[-1]):
            y = history[:, j].astype(np.float64)
            key = (data.segment_start(i), j) if series else None
            try:
                if key in fitted:
                    out[i, :, j] = fitted[key].forward(y=y, h=horizon)["mean"]
                    continue
                model = AutoARIMA(season_length=m).fit(y)
                out[i, :, j] = model.predict(h=horizon)["mean"]
            except (NotImplementedError, ValueError):
                return None
            if key is not None:
                fitted[key] = model
    return out
