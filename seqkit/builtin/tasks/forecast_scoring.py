"""Forecasting's scoring: the baselines (seasonal naive, drift, linear AR -- per series for a panel -- and the
split-conformal linear AR interval), the whole-set report, the forecast plot and the rolling-origin backtest.

A mixin of :class:`~seqkit.builtin.tasks.forecasting.ForecastingTask` (its config, ``collate``, ``_target`` and
``_scaled_pairs``), kept apart so that each module holds one idea.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seqkit.builtin.tasks.forecast_windows import PerSeriesAR, Windows, items, panel_scores
from seqkit.errors import SeqkitError
from seqkit.kit.baselines import Ridge, forecast_scores
from seqkit.kit.scaling import mean_scale


class ForecastScoring:
    """Baselines, report, plots and backtest of the forecasting task."""

    def seasonal_naive(self, x: np.ndarray) -> np.ndarray:
        """Forecast ``[horizon, F]`` from inputs ``x`` ``[lookback, F]``: step h repeats step h - season."""
        m = self.config.season or 1
        return x[len(x) - m + np.arange(self.config.horizon) % m]

    def baseline(self, train, test):
        """Seasonal naive on ``test`` (needs no training data): MAE, MSE, RMSE, sMAPE, MASE."""
        if not len(test):
            return {}
        return self._scores(np.stack([self.seasonal_naive(x) for x, _ in items(test)]), test)

    def _scores(self, pred: np.ndarray, data) -> dict[str, float]:
        """Scores of forecasts for every window of ``data``; several series: M4's means over series."""
        if getattr(data, "panel", False):
            return panel_scores(np.asarray(pred), data, self.config.season)
        return forecast_scores(pred, np.stack([y for _, y in items(data)]), self.scale_of_errors())

    def drift(self, data, i: int) -> np.ndarray:
        """Drift forecast for window ``i``: the last value plus ``h`` times the average step change of the series
        from its first step (of ``data.series`` when there is one, else of the window) to the window's end."""
        x, _ = data[i]
        if isinstance(data, Windows):
            x = data.series[data.segment_start(i): int(data.starts[i])]
        slope = (x[-1] - x[0]) / max(len(x) - 1, 1)
        return x[-1] + np.arange(1, self.config.horizon + 1)[:, None] * slope

    def fit_linear_ar(self, train) -> Ridge:
        """Ridge regression of the ``horizon`` targets on the flattened ``lookback`` window, on ``train``."""
        return Ridge().fit(np.stack([x.reshape(-1) for x, _ in items(train)]),
                           np.stack([y for _, y in items(train)]))

    def recorded_linear_ar(self) -> Ridge | None:
        """:meth:`fit_linear_ar` on :meth:`training_data`, or None without them: read and fitted once per task
        object and config, then shared by :meth:`baselines`, :meth:`plots` and :meth:`backtest` (an ``evaluate``
        calls two of them)."""
        key = json.dumps(self.config_dict(), sort_keys=True, default=str)
        cached = getattr(self, "_recorded_ar", None)
        if cached is None or cached[0] != key:
            train = self.training_data()
            if train is None or not len(train):
                return None  # not cached: the data may be readable later (a reader set, a file put back)
            cached = self._recorded_ar = (key, self.fit_linear_ar(train))
        return cached[1]

    def per_series_ar(self, train=None) -> PerSeriesAR | None:
        """A linear AR per series (by id), fitted on ``train`` or the recorded training split."""
        data = train if train is not None else self.training_data()
        return PerSeriesAR().fit(data) if isinstance(data, Windows) and len(data) else None

    def conformal(self, train=None):
        """``(ridge, offsets)``: the split-conformal linear AR (:func:`seqkit.kit.intervals.conformal_linear_ar`)
        at this config's ``quantiles``, fitted on ``train`` or the recorded training split; None without them."""
        from seqkit.kit.intervals import conformal_linear_ar

        key = json.dumps(self.config_dict(), sort_keys=True, default=str)
        cached = getattr(self, "_conformal", None)
        if train is None and cached is not None and cached[0] == key:
            return cached[1]
        data = train if train is not None else self.training_data()
        if data is None or len(data) < 3 or not self.config.quantiles:
            return None
        x, y = self._unit_pairs(data)
        fitted = conformal_linear_ar(x.reshape(len(x), -1), y, self.config.quantiles)
        if train is None:
            self._conformal = (key, fitted)
        return fitted

    def conformal_forecast(self, fitted, inputs) -> tuple[np.ndarray, np.ndarray]:
        """Point ``[n, horizon, F]`` and quantile forecasts ``[n, horizon, F, Q]`` of the conformal baseline."""
        x = np.stack(inputs).astype(np.float64)
        s = mean_scale(x) if self.config.scaling == "mean" else np.ones((len(x), 1, x.shape[-1]))
        point = fitted[0].predict((x / s).reshape(len(x), -1))
        return point * s, (point[..., None] + fitted[1]) * s[..., None]

    def _unit_pairs(self, data) -> tuple[np.ndarray, np.ndarray]:
        """Raw windows, or (``scaling=mean``) each divided by its mean |input|: the conformal baseline's units."""
        if self.config.scaling == "mean":
            return self._scaled_pairs(data)
        return (np.stack([w for w, _ in items(data)]).astype(np.float64),
                np.stack([t for _, t in items(data)]).astype(np.float64))

    def baselines(self, train, test):
        """Seasonal naive, drift and linear AR (fitted on ``train``, or on the recorded training split)."""
        if not len(test):
            return {}
        out = {"seasonal naive": self.baseline(train, test),
               "drift": self._scores(np.stack([self.drift(test, i) for i in range(len(test))]), test)}
        if train is None:
            ar = self.recorded_linear_ar()
        else:
            ar = self.fit_linear_ar(train) if len(train) else None
        if getattr(test, "panel", False):  # one linear AR per series instead of one fitted to all their values
            ar = self.per_series_ar(train)
            pred = ar.predict(test) if ar is not None else None
            if pred is not None:
                out["linear AR (per series)"] = self._scores(pred, test)
        elif ar is not None:
            out["linear AR"] = self._scores(ar.predict(np.stack([x.reshape(-1) for x, _ in items(test)])), test)
        from seqkit.builtin.tasks.forecast_covariates import linear_arx, width

        if width(self.config):  # a model with covariates against the linear model with the same covariates
            arx = linear_arx(self, train if train is not None else self.training_data(), test)
            if arx is not None:
                out["linear ARX (covariates)"] = self._scores(arx, test)
        from seqkit.builtin.tasks import forecast_classical as classical

        if classical.available():  # fitted per window or series: computed once per data object and config
            key = (id(test), len(test), self.config.horizon, self.config.season)
            cached = getattr(self, "_auto_ets", None)
            if cached is None or cached[0] != key or cached[1] is not test:
                cached = self._auto_ets = (key, test, {
                    name: fit(test, self.config.horizon, self.config.season)
                    for name, fit in ((classical.NAME, classical.auto_ets), (classical.ARIMA, classical.auto_arima))})
            for name, pred in cached[2].items():
                if pred is not None:
                    out[name] = self._scores(pred, test)
        fitted = self.conformal(train) if self.config.quantiles else None
        if fitted is not None:
            from seqkit.kit.intervals import interval_scores

            point, q = self.conformal_forecast(fitted, [x for x, _ in items(test)])
            out["linear AR + conformal"] = {**self._scores(point, test), **interval_scores(
                q, np.stack([y for _, y in items(test)]), self.config.quantiles)}
        return out

    def report(self, outputs, target, data):
        """Whole-set MAE, MSE, RMSE, sMAPE and MASE; with ``quantiles`` also the weighted quantile loss and the
        coverage of the interval between the outer quantiles (``interval``: its nominal coverage)."""
        target = self._target(target)[0]
        scores = self._scores(outputs[0], data) if getattr(data, "panel", False) else forecast_scores(
            outputs[0], target, self.scale_of_errors())
        if self.config.quantiles:
            from seqkit.kit.intervals import interval_scores, nominal

            scores.update(interval_scores(outputs[1], target, self.config.quantiles),
                          interval=nominal(self.config.quantiles))
        if self.config.likelihood:
            from seqkit.builtin.tasks.forecast_distribution import distribution_scores

            scores.update(distribution_scores(self.config, outputs[2], target))
        from seqkit.builtin.tasks import forecast_classical as classical

        if not classical.available():
            scores["notes"] = [classical.MISSING]
        return scores

    def plots(self, outputs, target, data, folder, name):
        """``forecast-NAME.png``: actual values against the model's forecasts from every ``horizon``-th window (and
        the linear AR baseline's, where the training split is recorded)."""
        from seqkit.kit.plots import forecast_plot

        c = self.config
        outputs = tuple(outputs)
        if getattr(data, "panel", False):  # the first series: its rows alone, as a one-series view
            per = self.per_series_ar()
            ar = per.predict(data) if per is not None else None
            sid, lo, hi = data.segments[0]
            mine = data.segment_of(data.starts) == 0
            data = Windows(data.series[lo:hi], data.starts[mine] - lo, data.lookback, data.horizon, data.columns,
                           data.name, data.time_list[0])
            outputs, ar, name = tuple(o[mine] for o in outputs), (ar[mine] if ar is not None else None), f"{name}-{sid}"
        else:
            recorded = self.recorded_linear_ar()
            ar = recorded.predict(np.stack([x.reshape(-1) for x, _ in items(data)])) if recorded is not None else None
        starts = np.asarray(getattr(data, "starts", np.arange(len(data))))
        path = Path(folder) / f"forecast-{name}.png"
        times = getattr(data, "times", None)
        bands = {"model": (outputs[1][..., 0], outputs[1][..., -1])} if c.quantiles else None
        forecast_plot(path, data, starts, {"model": outputs[0], **({"linear AR": ar} if ar is not None else {})},
                      c.columns or [f"feature {j}" for j in range(c.num_features)], c.horizon,
                      f"{name}: forecasts from every {c.horizon}th window", time_label=times and times.label,
                      time_name=c.time_column, bands=bands)
        return [path]

    def backtest(self, predict, data, stride=1, folder=None, name="data"):
        """Rolling origin over ``data`` (the test period): a forecast from every ``stride``-th window start, by
        the model and each baseline (all fitted on the training split only: darts' ``retrain=False``); each
        forecast scored alone, then averaged over origins (darts' ``backtest``), plus MAE and RMSE per lead time."""
        if stride < 1:
            raise SeqkitError(f"backtest stride must be >= 1, got {stride}")
        picks = list(range(0, len(data), stride))
        if not picks:
            raise SeqkitError("no windows to backtest")
        windows = [data[i] for i in picks]
        actual = np.stack([y for _, y in windows])
        model, quantiles = [], []
        for lo in range(0, len(windows), 64):
            inputs, _ = self.collate(windows[lo:lo + 64])
            out = predict(inputs)
            model.append(out[0])
            quantiles.extend(out[1:2])
        forecasts = {"model": np.concatenate(model),
                     "seasonal naive": np.stack([self.seasonal_naive(x) for x, _ in windows]),
                     "drift": np.stack([self.drift(data, i) for i in picks])}
        panel = getattr(data, "panel", False)
        recorded = self.recorded_linear_ar() if not panel else None
        if recorded is not None:
            forecasts["linear AR"] = recorded.predict(np.stack([x.reshape(-1) for x, _ in windows]))
        per = self.per_series_ar() if panel else None
        if per is not None and per.predict(data.subset(picks)) is not None:
            forecasts["linear AR (per series)"] = per.predict(data.subset(picks))
        scale = self.scale_of_errors()
        starts = np.asarray(getattr(data, "starts", np.arange(len(data))))
        result = {"origins": len(picks), "stride": stride, "horizon": self.config.horizon,
                  "first_origin": int(starts[picks[0]]), "last_origin": int(starts[picks[-1]]), "scores": {},
                  "by_lead_time": {}}
        first_times = getattr(data, "time_list", [getattr(data, "times", None)])[0]
        if first_times is not None:  # the timestamps of the first forecast step of each origin (first series)
            result["first_origin_time"], result["last_origin_time"] = (data.time_label(int(starts[picks[0]])),
                                                                       data.time_label(int(starts[picks[-1]])))
            result["frequency"] = first_times.freq.name()
        for model_name, pred in forecasts.items():
            if panel:  # each series scored over its origins, then M4's mean over series
                result["scores"][model_name] = self._scores(pred, data.subset(picks))
            else:
                per_origin = [forecast_scores(p, a, scale) for p, a in zip(pred, actual)]
                result["scores"][model_name] = {k: float(np.mean([s[k] for s in per_origin])) for k in per_origin[0]}
            err = pred - actual
            result["by_lead_time"][model_name] = {"mae": np.abs(err).mean(axis=(0, 2)).tolist(),
                                                  "rmse": np.sqrt((err ** 2).mean(axis=(0, 2))).tolist()}
        fitted = self.conformal() if quantiles else None
        if quantiles:  # interval scores over every origin's forecast
            from seqkit.kit.intervals import interval_scores

            result["intervals"] = {"model": interval_scores(np.concatenate(quantiles), actual, self.config.quantiles)}
            if fitted is not None:
                result["intervals"]["linear AR + conformal"] = interval_scores(
                    self.conformal_forecast(fitted, [x for x, _ in windows])[1], actual, self.config.quantiles)
        if folder is not None:
            from seqkit.kit.plots import lead_time_plot

            path = Path(folder) / f"backtest-{name}.png"
            lead_time_plot(path, result["by_lead_time"], "mae",
                           f"{name}: MAE by lead time, {len(picks)} origins every {stride} step(s)")
            result["plots"] = [str(path)]
        return result
