"""Forecasting windows over one series or many (a panel), and scores the M4 way.

:class:`Windows` cuts (inputs, targets) pairs out of ``series`` -- every series of a table concatenated, with
``segments`` holding each one's rows -- so a window never crosses from one series into the next. With several
series the scores are M4's: each series scored alone (MASE against its own in-sample seasonal change, before
its first window's targets), then averaged over series (:func:`panel_scores`); :class:`PerSeriesAR` is the
linear AR fitted to each series alone, the baseline a global model must beat.
"""
from __future__ import annotations

import numpy as np

from seqkit.kit.baselines import Ridge, forecast_scores, mase_scale


class Window(tuple):
    """One window: ``(inputs, targets)`` as ever (baselines read those); ``series`` names the series it was cut
    from (a learnt series embedding looks it up) and ``covariates`` ``[lookback + horizon, C]`` (or None) holds
    the covariate columns over the same steps and the horizon."""

    series: str
    covariates: np.ndarray | None

    def __new__(cls, inputs, targets, series: str = "", covariates=None):
        window = super().__new__(cls, (inputs, targets))
        window.series, window.covariates = series, covariates
        return window


class Windows:
    """Windows over ``series`` [steps, features]: item i is (inputs [lookback, F], targets [horizon, F]) with the
    targets starting at step ``starts[i]``; ``times`` (a :class:`seqkit.runtime.times.TimeIndex`, or a list of
    them, one per segment, or None) dates the steps; ``segments`` ``[(id, lo, hi)]``: each series' rows;
    ``covariates`` ``[steps, C]`` (or None): covariate columns beside the series. Each item is a
    :class:`Window`."""

    def __init__(self, series: np.ndarray, starts, lookback: int, horizon: int, columns: list[str], name: str,
                 times=None, segments=None, covariates=None):
        self.series, self.starts, self.covariates = series, np.asarray(starts, dtype=np.int64), covariates
        self.lookback, self.horizon, self.columns, self.name = lookback, horizon, columns, name
        self.segments = list(segments) if segments else [("", 0, len(series))]
        self.time_list = list(times) if isinstance(times, (list, tuple)) else [times] * len(self.segments)
        self.times = self.time_list[0] if len(self.segments) == 1 else None
        self._los = np.array([lo for _, lo, _ in self.segments], dtype=np.int64)

    def __len__(self):
        return len(self.starts)

    def __getitem__(self, i):
        s = int(self.starts[i])
        sid = self.segments[int(self.segment_of(s))][0] if self.panel else self.segments[0][0]
        cov = None if self.covariates is None else self.covariates[s - self.lookback: s + self.horizon]
        return Window(self.series[s - self.lookback: s], self.series[s: s + self.horizon], sid, cov)

    @property
    def panel(self) -> bool:
        return len(self.segments) > 1

    def segment_of(self, step) -> np.ndarray:
        """The segment index of each ``step`` (a row of ``series``)."""
        return np.searchsorted(self._los, np.asarray(step), side="right") - 1

    def segment_start(self, i: int) -> int:
        """The first row of window ``i``'s series."""
        return int(self.segments[int(self.segment_of(self.starts[i]))][1])

    def time_label(self, step: int) -> str | None:
        """The timestamp of row ``step`` (also past its series' end), or None without a time column."""
        k = int(self.segment_of(step))
        times = self.time_list[k]
        return None if times is None else times.label(int(step) - self.segments[k][1])

    def subset(self, picks) -> Windows:
        return Windows(self.series, self.starts[np.asarray(picks, dtype=np.int64)], self.lookback, self.horizon,
                       self.columns, self.name, self.time_list, self.segments, self.covariates)


def items(data):
    """The (inputs, targets) pairs of windows or a list of them."""
    return (data[i] for i in range(len(data)))


def panel_scores(pred: np.ndarray, data: Windows, season: int) -> dict:
    """M4's aggregate over series: per series MAE, sMAPE and MASE (its own in-sample scale: the seasonal change
    of its rows before its first window's targets), then ``mase``/``smape``/``mae`` as the mean over series;
    ``per_series`` holds each one's."""
    actual = np.stack([data[i][1] for i in range(len(data))])
    seg = data.segment_of(data.starts)
    per = {}
    for k in np.unique(seg):
        sid, lo, _ = data.segments[int(k)]
        mine = seg == k
        history = data.series[lo: int(data.starts[mine].min())]
        s = forecast_scores(pred[mine], actual[mine], mase_scale(history, season))
        per[str(sid)] = {"mae": s["mae"], "smape": s["smape"], "mase": s["mase"], "windows": int(mine.sum())}
    mean = {m: float(np.mean([v[m] for v in per.values()])) for m in ("mae", "smape", "mase")}
    return {**mean, "series": len(per), "per_series": per}


class PerSeriesAR:
    """One :class:`Ridge` linear AR per series (by id), each fitted on its own training windows."""

    def fit(self, data: Windows) -> PerSeriesAR:
        seg = data.segment_of(data.starts)
        self.models = {}
        for k in np.unique(seg):
            idx = np.flatnonzero(seg == k)
            if len(idx) >= 3:
                pairs = [data[int(i)] for i in idx]
                self.models[data.segments[int(k)][0]] = Ridge().fit(np.stack([x.reshape(-1) for x, _ in pairs]),
                                                                    np.stack([y for _, y in pairs]))
        return self

    def predict(self, data: Windows) -> np.ndarray | None:
        """Forecasts for every window, or None when a series of ``data`` had no model fitted."""
        seg = data.segment_of(data.starts)
        out = []
        for i, k in enumerate(seg):
            model = self.models.get(data.segments[int(k)][0])
            if model is None:
                return None
            out.append(model.predict(data[i][0].reshape(1, -1))[0])
        return np.stack(out)
