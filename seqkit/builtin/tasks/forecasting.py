"""Built-in task ``forecasting``: the last ``lookback`` steps of a multivariate series -> the next ``horizon``.

Input: ``series`` float32 ``[batch, time, num_features]`` in the data's own units (``time`` is the lookback; any
length works). Output: ``forecast`` float32 ``[batch, horizon, num_features]``, all horizon steps at once (direct
multi-step), in the same units. ``fit()`` learns each feature's mean and standard deviation on the training part
of the series only; the encoder standardises with them and the head maps back, inside the model (and the
exported file), so callers feed and get raw values. Windows are always full length, so there is no ``lengths``.

Splits are chronological: ``test`` holds the windows whose targets lie in the last ``test_fraction`` of the series
(the held-out tail; their inputs may reach back before it), ``train`` every window that ends before that tail,
``all`` every window (for a separate file of later data: ``seqkit evaluate RUN --data later.csv --split all``).
Metrics (darts' definitions): MAE, MSE and RMSE in the data's units, sMAPE (percent, 0-200) and MASE (MAE over
the training series' mean absolute ``season``-step change). Baselines on the same windows, with the same metrics:
``seasonal naive`` (each step repeats the value one ``season`` earlier; :meth:`ForecastingTask.baseline`),
``drift`` (the last value plus the average step change of the series so far) and ``linear AR`` (ridge
regression of the next ``horizon`` steps on the ``lookback`` window, fitted on the training split only, the
penalty chosen by leave-one-out error on it). ``seqkit evaluate RUN --backtest`` scores them from rolling
origins over the test period.

With ``linear_skip`` (default on) the head adds a linear function of the (standardised) window to the cell's
forecast: a linear autoregressive path past the cell (LSTNet's "highway"), learnt jointly with the cell, so the
cell models what the linear part misses and level and trend extrapolate. ``skip_init=ridge`` (default) starts that
path at the ridge AR fit of the training windows; ``window_norm`` feeds the cell level-free steps.

Data: built-in ``sunspots``, ``co2``, ``airline``, ``macro`` (seqkit/datasets/forecasting/README.md), or a CSV
with a header and numeric columns (``columns`` picks them; by default every column but a leading time column).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqkit import hookimpl
from seqkit.core.task import Dataset, Task, TensorSpec, packaged_file
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit.baselines import Ridge, forecast_errors, forecast_scores, mase_scale
from seqkit.kit.heads import pool
from seqkit.kit.readers import read_table
from seqkit.kit.scaling import Standardize, check_scaling, mean_std
from seqkit.kit.skip import skip_start

SPLITS = ("train", "test", "all")  # chronological: test is the held-out tail; all: every window
SEASONS = {"sunspots": 11, "co2": 12, "airline": 12, "macro": 4}  # the seasonal-naive period of each dataset
TIME_COLUMN = re.compile(r"^(date|time|timestamp|year|month|quarter|week|day|period|index|t)$", re.I)


@dataclass
class ForecastingConfig:
    lookback: int = 24             # input steps per window
    horizon: int = 4               # steps forecast at once
    season: int = 0                # seasonal-naive period; 0: the dataset's own (sunspots 11, ...), 1 for a CSV
    test_fraction: float = 0.2     # share of the series at its end held out for testing
    columns: list[str] = field(default_factory=list)  # CSV columns to use; empty: all but a leading time column
    num_features: int = 1
    linear_skip: bool = True       # add a linear map of the window to the forecast (past the cell)
    skip_init: str = "ridge"       # ridge: start the linear map at the ridge AR fit of the training windows; zeros
    window_norm: bool = False      # feed the cell each step minus the window's last step (level-free)
    # learned by fit() from the training split
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    mase_scale: list[float] = field(default_factory=list)  # per feature: mean |y[t] - y[t - season]| on training
    train_source: str = ""         # the training data's dataset name or path (recorded by load_data; baselines)


class Windows:
    """Windows over ``series`` [steps, features]: item i is (inputs [lookback, F], targets [horizon, F]) with the
    targets starting at step ``starts[i]``."""

    def __init__(self, series: np.ndarray, starts, lookback: int, horizon: int, columns: list[str], name: str):
        self.series, self.starts = series, np.asarray(starts, dtype=np.int64)
        self.lookback, self.horizon, self.columns, self.name = lookback, horizon, columns, name

    def __len__(self):
        return len(self.starts)

    def __getitem__(self, i):
        s = int(self.starts[i])
        return self.series[s - self.lookback: s], self.series[s: s + self.horizon]


class _Encoder(nn.Module):
    def __init__(self, config: ForecastingConfig):
        super().__init__()
        self.scale = Standardize(config.mean, config.std) if config.mean else None
        self.window_norm = config.window_norm

    def forward(self, series):
        x = series if self.scale is None else self.scale(series)
        return (x - x[:, -1:] if self.window_norm else x), None


class _Head(nn.Module):
    """The cell's last state -> ``horizon`` steps; with ``linear_skip`` plus a linear map of the last ``lookback``
    standardised steps (zeros, i.e. the training mean, stand in for steps before a shorter window): a linear
    autoregressive path past the cell. With ``window_norm`` and no skip path, the window's last value is added
    (the cell, fed steps minus the last one, forecasts the change)."""

    uses_inputs = True

    def __init__(self, in_size: int, config: ForecastingConfig, start: tuple | None = None):
        super().__init__()
        self.horizon, self.features, self.lookback = config.horizon, config.num_features, config.lookback
        self.window_norm = config.window_norm
        self.proj = nn.Linear(in_size, config.horizon * config.num_features)
        self.scale = Standardize(config.mean, config.std) if config.mean else None
        if config.linear_skip:
            self.skip = nn.Linear(config.lookback * config.num_features, config.horizon * config.num_features)
            with torch.no_grad():
                self.skip.weight.copy_(torch.as_tensor(start[0]) if start else torch.zeros_like(self.skip.weight))
                self.skip.bias.copy_(torch.as_tensor(start[1]) if start else torch.zeros_like(self.skip.bias))
        else:
            self.skip = None

    def forward(self, outputs, state, lengths, series):
        x = series if self.scale is None else self.scale(series)
        b = x.shape[0]
        y = self.proj(pool(outputs, state, lengths, "last")).reshape(b, self.horizon, self.features)
        if self.skip is not None:
            window = torch.cat([x.new_zeros(b, self.lookback, self.features), x], 1)[:, -self.lookback:]
            y = y + self.skip(window.reshape(b, -1)).reshape(b, self.horizon, self.features)
        elif self.window_norm:
            y = y + x[:, -1:]
        return (y if self.scale is None else self.scale.inverse(y),)


class ForecastingTask(Task):
    """Multivariate series window -> the next ``horizon`` steps (direct), scaling inside the model."""

    CAPABILITIES = frozenset({"baselines", "report", "plots", "backtest", "streaming"})

    Config = ForecastingConfig

    @classmethod
    def config_from_dict(cls, values):
        """As :meth:`Task.config_from_dict`; a fitted config written before ``linear_skip`` existed (a run or file
        from an earlier seqkit) keeps the head it was trained with: no linear path."""
        if values.get("mean") and "linear_skip" not in values:
            values = {**values, "linear_skip": False}
        return super().config_from_dict(values)

    def streaming_problem(self):
        if self.config.linear_skip:
            return ("its linear skip path reads the last lookback steps of the window, which a chunk does not hold; "
                    "use a model trained with -T linear_skip=false")
        if self.config.window_norm:
            return ("with window_norm each step is taken relative to the window's last step, which a chunk does not "
                    "hold; use a model trained with -T window_norm=false")
        return None

    def validate(self):
        c = self.config
        if c.lookback < 1 or c.horizon < 1 or c.num_features < 1 or c.season < 0:
            raise ConfigError("forecasting needs lookback, horizon, num_features >= 1 and season >= 0")
        if c.season > c.lookback:
            raise ConfigError(f"season {c.season} is longer than lookback {c.lookback}: the seasonal-naive baseline "
                              f"needs one season of inputs; raise lookback to at least {c.season}")
        if c.skip_init not in ("zeros", "ridge"):
            raise ConfigError(f"skip_init must be zeros or ridge, got {c.skip_init!r}")
        if not 0.0 < c.test_fraction < 1.0:
            raise ConfigError(f"test_fraction must be in (0, 1), got {c.test_fraction}")
        check_scaling(c.mean, c.std, c.num_features)

    def inputs(self):
        return [TensorSpec("series", ("batch", "time", self.config.num_features), "float32",
                           "the last `time` steps of each series (lookback), raw values; the model scales them")]

    def outputs(self):
        c = self.config
        return [TensorSpec("forecast", ("batch", c.horizon, c.num_features), "float32",
                           "the next horizon steps, in the data's units")]

    def feature_size(self):
        return self.config.num_features

    def build_encoder(self):
        return _Encoder(self.config)

    def build_head(self, cell_output_size):
        # the skip path's start, left by fit() with skip_init=ridge (never saved; a saved run loads its weights)
        return _Head(cell_output_size, self.config, skip_start(self))

    # -- data ---------------------------------------------------------------------------------------------
    DATASETS = {
        "sunspots": Dataset("yearly mean sunspot number 1700-2008 (309 steps, 1 feature; NOAA via statsmodels, public "
                            "domain); season 11 ~ the solar cycle", SPLITS, "forecasting/sunspots.csv"),
        "co2": Dataset("monthly mean atmospheric CO2 at Mauna Loa 1958-2001 (526 steps, 1 feature; NOAA via "
                       "statsmodels, public domain)", SPLITS, "forecasting/co2.csv"),
        "airline": Dataset("monthly international airline passengers 1949-1960 (144 steps, 1 feature; Box & Jenkins, "
                           "via aeon)", SPLITS, "forecasting/airline.csv"),
        "macro": Dataset("quarterly US real GDP, consumption and investment growth in % 1959-2009 (202 steps, 3 "
                         "features; statsmodels macrodata, public domain)", SPLITS, "forecasting/macro.csv"),
    }
    FILES = "a CSV file with a header and one row per step (numeric columns; -T columns=[..] picks them)"
    FILE_SPLITS = SPLITS

    def load_dataset(self, name, split):
        with packaged_file(self.DATASETS[name].file) as path:
            return self._windows(*self.read_csv(path, name), SEASONS[name], name, split)

    def load_file(self, path, split, name):
        return self._windows(*self.read_csv(path, name), 1, name, split)

    def _windows(self, series: np.ndarray, columns: list[str], season: int, source: str, split: str) -> Windows:
        c = self.config
        if c.season == 0 or not c.columns:  # fixed by the first data loaded: training data
            c.season, c.columns = c.season or season, c.columns or columns
            self.validate()
        n = len(series)
        tail = n - int(round(n * c.test_fraction))
        lo, hi = {"train": (c.lookback, tail - c.horizon), "test": (max(tail, c.lookback), n - c.horizon),
                  "all": (c.lookback, n - c.horizon)}[split]
        if hi < lo:
            raise SeqkitError(f"{source}: {n} steps leave no {split} window of lookback {c.lookback} + horizon "
                              f"{c.horizon} (held-out tail: last {n - tail} steps); use a smaller lookback/horizon")
        return Windows(series, np.arange(lo, hi + 1), c.lookback, c.horizon, columns, source)

    def read_csv(self, path: Path, name: str) -> tuple[np.ndarray, list[str]]:
        """``[steps, features]`` float32 from a CSV with a header; errors name the file, line and column."""
        rows = read_table(path, self.config.columns)
        header = list(rows[0][1])
        columns = list(self.config.columns) or header
        if columns is header and len(header) > 1:
            first = [row.get(header[0]) for _, row in rows]
            if TIME_COLUMN.match(header[0].strip()) or not all(_is_number(v) for v in first):
                columns = header[1:]
        if not columns:
            raise SeqkitError(f"{name}: no numeric columns to forecast; the header is {', '.join(header)}")
        values = np.empty((len(rows), len(columns)), dtype=np.float32)
        for i, (line, row) in enumerate(rows):
            for j, col in enumerate(columns):
                raw = row.get(col)
                if not _is_number(raw) or not np.isfinite(float(raw)):
                    raise SeqkitError(f"{name} line {line}: column {col!r} is {raw!r}, not a finite number; fix or "
                                      f"fill it (forecasting needs a value at every step)")
                values[i, j] = float(raw)
        return values, columns

    def split_validation(self, data, fraction, seed):
        """The latest ``fraction`` of windows for validation, the windows whose targets end before the first
        validation target for training: a random pick of overlapping windows would leak targets."""
        if not isinstance(data, Windows) or not fraction:
            return None
        starts = data.starts
        first = starts[-1] - int(round((starts[-1] - starts[0] + 1) * fraction)) + 1
        train = starts[starts + data.horizon <= first]
        if len(train) == 0 or first > starts[-1]:
            raise SeqkitError(f"{data.name}: {len(starts)} training windows are too few to hold out the latest "
                              f"{fraction:.0%} for validation; use a smaller lookback or val_fraction")
        cut = (data.series, data.lookback, data.horizon, data.columns, data.name)
        return Windows(cut[0], train, *cut[1:]), Windows(cut[0], starts[starts >= first], *cut[1:])

    def fit(self, data):
        if len(data) == 0:
            raise SeqkitError("no training windows: the data source gave no samples")
        c = self.config
        c.num_features = int(data[0][0].shape[1])
        series = getattr(data, "series", None)
        if series is not None:  # the training part of the series itself, each step once
            part = series[: int(data.starts[-1]) + c.horizon]
            c.mean, c.std = mean_std([part])
            c.mase_scale = mase_scale(part, c.season)
        else:
            c.mean, c.std = mean_std(np.concatenate([x, y]) for x, y in data)
            c.mase_scale = mase_scale(np.concatenate([x for x, _ in data]), c.season)
        self.validate()
        self._std = None
        if c.linear_skip and c.skip_init == "ridge":
            self._start_skip_from_ridge(data)

    def _start_skip_from_ridge(self, data) -> None:
        """The ridge AR fit of the training windows in standardised units, as the skip path's starting weights
        ``[horizon*F, lookback*F]`` and bias: left in ``self.prepared`` (never saved or exported) for
        :meth:`build_head` in the ``compose()`` of this fitted task; a reloaded run gets its trained weights."""
        c = self.config
        mean, std = np.asarray(c.mean), np.asarray(c.std)
        x = np.stack([((w - mean) / std).reshape(-1) for w, _ in _items(data)])
        y = np.stack([((t - mean) / std).reshape(-1) for _, t in _items(data)])
        ridge = Ridge().fit(x, y)
        weight = ridge.coef / ridge.std[:, None]
        bias = ridge.y_mean - (ridge.mean / ridge.std) @ ridge.coef
        self.prepared["skip_start"] = (weight.T.astype(np.float32), bias.astype(np.float32))

    def collate(self, samples):
        c = self.config
        for i, (x, y) in enumerate(samples):
            if x.shape[1] != c.num_features or y.shape != (c.horizon, c.num_features):
                raise SeqkitError(f"window {i}: shapes {list(x.shape)} -> {list(y.shape)}, the model expects "
                                  f"[time, {c.num_features}] -> [{c.horizon}, {c.num_features}]")
        x = torch.from_numpy(np.stack([x for x, _ in samples]).astype(np.float32))
        y = torch.from_numpy(np.stack([y for _, y in samples]).astype(np.float32))
        return (x,), y

    def _scale(self) -> torch.Tensor:
        if getattr(self, "_std", None) is None:
            self._std = torch.tensor(self.config.std or [1.0] * self.config.num_features, dtype=torch.float32)
        return self._std

    def loss(self, outputs, target):
        """Mean squared error in standardised units (every feature counts alike)."""
        std = self._scale().to(target.device)
        return (((outputs[0] - target) / std) ** 2).mean()

    def scale_of_errors(self) -> list[float]:
        """MASE's denominators per feature (1.0 before fit)."""
        return list(self.config.mase_scale) or [1.0] * self.config.num_features

    def metrics(self, outputs, target):
        """Batch means of the per-element terms of MAE, MSE, sMAPE and MASE (RMSE is whole-set: see report)."""
        terms = forecast_errors(outputs[0].detach().cpu().double().numpy(), target.cpu().double().numpy(),
                                self.scale_of_errors())
        return {k: float(v.mean()) for k, v in terms.items()}

    def main_metric(self):
        return ("mae", "min")

    def seasonal_naive(self, x: np.ndarray) -> np.ndarray:
        """Forecast ``[horizon, F]`` from inputs ``x`` ``[lookback, F]``: step h repeats step h - season."""
        m = self.config.season or 1
        return x[len(x) - m + np.arange(self.config.horizon) % m]

    def baseline(self, train, test):
        """Seasonal naive on ``test`` (needs no training data): MAE, MSE, RMSE, sMAPE, MASE."""
        if not len(test):
            return {}
        return self._scores(np.stack([self.seasonal_naive(x) for x, _ in _items(test)]), test)

    def _scores(self, pred: np.ndarray, data) -> dict[str, float]:
        return forecast_scores(pred, np.stack([y for _, y in _items(data)]), self.scale_of_errors())

    def drift(self, data, i: int) -> np.ndarray:
        """Drift forecast for window ``i``: the last value plus ``h`` times the average step change of the series
        from its first step (of ``data.series`` when there is one, else of the window) to the window's end."""
        x, _ = data[i]
        if isinstance(data, Windows):
            x = data.series[: int(data.starts[i])]
        slope = (x[-1] - x[0]) / max(len(x) - 1, 1)
        return x[-1] + np.arange(1, self.config.horizon + 1)[:, None] * slope

    def fit_linear_ar(self, train) -> Ridge:
        """Ridge regression of the ``horizon`` targets on the flattened ``lookback`` window, on ``train``."""
        return Ridge().fit(np.stack([x.reshape(-1) for x, _ in _items(train)]),
                           np.stack([y for _, y in _items(train)]))

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
        if ar is not None:
            out["linear AR"] = self._scores(ar.predict(np.stack([x.reshape(-1) for x, _ in _items(test)])), test)
        return out

    def report(self, outputs, target, data):
        """Whole-set MAE, MSE, RMSE, sMAPE and MASE."""
        return forecast_scores(outputs[0], target, self.scale_of_errors())

    def plots(self, outputs, target, data, folder, name):
        """``forecast-NAME.png``: actual values against the model's forecasts from every ``horizon``-th window (and
        the linear AR baseline's, where the training split is recorded)."""
        from seqkit.kit.plots import forecast_plot

        c = self.config
        recorded = self.recorded_linear_ar()
        ar = recorded.predict(np.stack([x.reshape(-1) for x, _ in _items(data)])) if recorded is not None else None
        starts = np.asarray(getattr(data, "starts", np.arange(len(data))))
        path = Path(folder) / f"forecast-{name}.png"
        forecast_plot(path, data, starts, {"model": outputs[0], **({"linear AR": ar} if ar is not None else {})},
                      c.columns or [f"feature {j}" for j in range(c.num_features)], c.horizon,
                      f"{name}: forecasts from every {c.horizon}th window")
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
        model = []
        for lo in range(0, len(windows), 64):
            inputs, _ = self.collate(windows[lo:lo + 64])
            model.append(predict(inputs)[0])
        forecasts = {"model": np.concatenate(model),
                     "seasonal naive": np.stack([self.seasonal_naive(x) for x, _ in windows]),
                     "drift": np.stack([self.drift(data, i) for i in picks])}
        recorded = self.recorded_linear_ar()
        if recorded is not None:
            forecasts["linear AR"] = recorded.predict(np.stack([x.reshape(-1) for x, _ in windows]))
        scale = self.scale_of_errors()
        starts = np.asarray(getattr(data, "starts", np.arange(len(data))))
        result = {"origins": len(picks), "stride": stride, "horizon": self.config.horizon,
                  "first_origin": int(starts[picks[0]]), "last_origin": int(starts[picks[-1]]), "scores": {},
                  "by_lead_time": {}}
        for model_name, pred in forecasts.items():
            per_origin = [forecast_scores(p, a, scale) for p, a in zip(pred, actual)]
            result["scores"][model_name] = {k: float(np.mean([s[k] for s in per_origin])) for k in per_origin[0]}
            err = pred - actual
            result["by_lead_time"][model_name] = {"mae": np.abs(err).mean(axis=(0, 2)).tolist(),
                                                  "rmse": np.sqrt((err ** 2).mean(axis=(0, 2))).tolist()}
        if folder is not None:
            from seqkit.kit.plots import lead_time_plot

            path = Path(folder) / f"backtest-{name}.png"
            lead_time_plot(path, result["by_lead_time"], "mae",
                           f"{name}: MAE by lead time, {len(picks)} origins every {stride} step(s)")
            result["plots"] = [str(path)]
        return result

    def metadata(self):
        c = self.config
        return {"columns": list(c.columns), "lookback": c.lookback, "horizon": c.horizon, "season": c.season,
                "scaling": {"mean": c.mean, "std": c.std, "learned_on": "training split only",
                            "applied": "inside the model: the encoder standardises, the head maps back; feed and "
                                       "read raw values"}}


def _items(data):
    """The (inputs, targets) pairs of windows or a list of them."""
    return (data[i] for i in range(len(data)))


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("forecasting", ForecastingTask)
