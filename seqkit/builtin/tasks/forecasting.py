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

Data: built-in ``sunspots``, ``co2``, ``airline``, ``macro``, ``seattle-weather``, ``us-employment`` (a panel)
(seqkit/datasets/forecasting/README.md), or a CSV with a header and numeric columns (``columns`` picks them; by
default every column but a leading time column). The time column's timestamps (``time_column``; frequency
inferred, a gap or duplicate an error naming the line) label plots, backtests and predictions. ``quantiles``
adds a quantile head (pinball loss; a ``quantiles`` output) scored by weighted quantile loss and coverage
against a split-conformal linear AR; ``likelihood`` (gaussian, studentt) a distribution head trained by NLL
(forecast_distribution); ``calibrate=cqr`` recalibrates the quantiles on the validation split
(forecast_calibration). ``id_column``: a long-format table (or a folder of series) of many series, one global
model with mean scaling inside it (``series_embedding``: a learnt vector per series, forecast_series), scored
per series and averaged the M4 way (docs/tasks.md, "Dates, intervals, many series"). ``past_covariates``,
``future_covariates`` and ``calendar``: covariates (darts' names), a second input ``future_covariates`` for the
steps being forecast (:mod:`~seqkit.builtin.tasks.forecast_covariates`).

Inputs in order: ``series``, then ``future_covariates`` (with future or calendar covariates), then ``series_id``
(with ``series_embedding``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqkit import hookimpl
from seqkit.builtin.tasks import forecast_covariates as covariates
from seqkit.builtin.tasks import forecast_distribution as dist
from seqkit.builtin.tasks.forecast_calibration import METHODS, Calibration
from seqkit.builtin.tasks.forecast_calibration import calibrate as calibrate_quantiles
from seqkit.builtin.tasks.forecast_scoring import ForecastScoring
from seqkit.builtin.tasks.forecast_series import fit_series_ids, series_embedding, series_id_specs, series_index
from seqkit.builtin.tasks.forecast_windows import Windows, items
from seqkit.core.task import Dataset, Task, TensorSpec, packaged_file
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit.baselines import Ridge, forecast_errors, mase_scale
from seqkit.kit.distributions import LIKELIHOODS
from seqkit.kit.heads import pool
from seqkit.kit.intervals import median_index
from seqkit.kit.scaling import MeanScale, Standardize, check_scaling, mean_scale, mean_std
from seqkit.kit.skip import skip_start

SPLITS = ("train", "test", "all")  # chronological: test is the held-out tail; all: every window
SEASONS = {"sunspots": 11, "co2": 12, "airline": 12, "macro": 4,  # the seasonal-naive period of each dataset
           "seattle-weather": 7, "us-employment": 1}
PANELS = {"us-employment": "sector"}  # the id column of a built-in dataset of many series


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
    time_column: str = ""          # timestamps; empty: a leading date/month/year.. column; none: row numbers
    quantiles: list[float] = field(default_factory=list)  # e.g. [0.1, 0.5, 0.9]: a quantile head (pinball loss)
    id_column: str = ""            # long format: the column naming each row's series (many series, one model)
    calibrate: str = ""            # cqr: the quantiles recalibrated on the validation split after training
    series_embedding: int = 0      # N > 0: a learnt N-vector per series id (a panel), fed with every step
    likelihood: str = ""           # gaussian or studentt: a distribution head (NLL, DeepAR) that outputs quantiles
    scaling: str = ""              # standard (training mean/std) or mean (each window by its mean |x|, DeepAR);
                                   # empty: standard for one series, mean for several
    past_covariates: list[str] = field(default_factory=list)    # observed columns fed with the targets (darts)
    future_covariates: list[str] = field(default_factory=list)  # columns known in advance, also over the horizon
    calendar: list[str] = field(default_factory=list)           # future covariates of the time column: dayofweek..
    # learned by fit() from the training split
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    mase_scale: list[float] = field(default_factory=list)  # per feature: mean |y[t] - y[t - season]| on training
    train_source: str = ""         # the training data's dataset name or path (recorded by load_data; baselines)
    series_ids: list[str] = field(default_factory=list)  # series_embedding: the training series, in row order
    frequency: dict = field(default_factory=dict)  # the time column's (runtime.times.Frequency.to_dict); {}: none
    covariate_mean: list[float] = field(default_factory=list)  # per covariate column, on the training split
    covariate_std: list[float] = field(default_factory=list)


def _scaler(config: ForecastingConfig):
    if config.scaling == "mean":
        return MeanScale()
    return Standardize(config.mean, config.std) if config.mean else None


class _Encoder(nn.Module):
    def __init__(self, config: ForecastingConfig):
        super().__init__()
        self.scale = _scaler(config)
        self.window_norm = config.window_norm
        self.features = config.num_features
        self.covariates = covariates.CovariateScale(config) if covariates.width(config) else None
        self.embedding = series_embedding(config)

    def forward(self, series, *rest):
        """``rest``: the inputs after ``series`` (``future_covariates``, then ``series_id``; each when present)."""
        x = series[..., :self.features]
        x = x if self.scale is None else self.scale(x)
        x = x - x[:, -1:] if self.window_norm else x
        if self.covariates is not None:  # [targets, covariates], each standardised
            x = torch.cat([x, self.covariates(series[..., self.features:])], -1)
        return (x if self.embedding is None else self.embedding(x, rest[-1])), None


class _Head(nn.Module):
    """The cell's last state -> ``horizon`` steps; with ``linear_skip`` plus a linear map of the last ``lookback``
    standardised steps (zeros, i.e. the training mean, stand in for steps before a shorter window): a linear
    autoregressive path past the cell. With ``window_norm`` and no skip path, the window's last value is added
    (the cell, fed steps minus the last one, forecasts the change)."""

    uses_inputs = True

    def __init__(self, in_size: int, config: ForecastingConfig, start: tuple | None = None, spread: float = 0.5,
                 future_start=None):
        super().__init__()
        self.horizon, self.features, self.lookback = config.horizon, config.num_features, config.lookback
        self.window_norm = config.window_norm
        self.proj = nn.Linear(in_size, config.horizon * config.num_features)
        self.quantiles = list(config.quantiles)
        self.dist = dist.distribution_head(in_size, config, spread)
        self.calibration = Calibration(config.num_features, len(self.quantiles)) if config.calibrate else None
        if self.quantiles and self.dist is None:  # quantile offsets from the point path, started at a normal's:
            # ``spread`` is the std of the ridge AR's errors (standardised) that fit() left in task.prepared, or 0.5
            from statistics import NormalDist

            self.qproj = nn.Linear(in_size, config.horizon * config.num_features * len(self.quantiles))
            with torch.no_grad():
                self.qproj.weight.zero_()
                self.qproj.bias.copy_(torch.tensor([NormalDist().inv_cdf(q) * spread for q in self.quantiles])
                                      .repeat(config.horizon * config.num_features))
        self.scale = _scaler(config)
        self.covariates = covariates.CovariateScale(config) if covariates.width(config) else None
        self.width = config.num_features + covariates.width(config)  # the window the skip path reads
        self.future = (covariates.FutureProjection(config, self.covariates, future_start)
                       if covariates.counts(config)[1] else None)
        if config.linear_skip:
            self.skip = nn.Linear(config.lookback * self.width, config.horizon * config.num_features)
            with torch.no_grad():
                self.skip.weight.copy_(torch.as_tensor(start[0]) if start else torch.zeros_like(self.skip.weight))
                self.skip.bias.copy_(torch.as_tensor(start[1]) if start else torch.zeros_like(self.skip.bias))
        else:
            self.skip = None

    def forward(self, outputs, state, lengths, series, *rest):
        series, cov = series[..., :self.features], series[..., self.features:]
        x = series if self.scale is None else self.scale(series)
        b = x.shape[0]
        y = self.proj(pool(outputs, state, lengths, "last")).reshape(b, self.horizon, self.features)
        if self.skip is not None:
            full = x if self.covariates is None else torch.cat([x, self.covariates(cov)], -1)
            window = torch.cat([x.new_zeros(b, self.lookback, self.width), full], 1)[:, -self.lookback:]
            y = y + self.skip(window.reshape(b, -1)).reshape(b, self.horizon, self.features)
        elif self.window_norm:
            y = y + x[:, -1:]
        if self.future is not None:  # rest[0]: the future_covariates input
            y = y + self.future(rest[0])
        if not self.quantiles:
            return (self._back(y, series),)
        last = pool(outputs, state, lengths, "last")
        if self.dist is not None:  # loc = the point path; the quantiles from the distribution's parameters
            return dist.distribution_outputs(self, last, y, series)
        q = y.unsqueeze(-1) + self.qproj(last).reshape(b, self.horizon, self.features, len(self.quantiles))
        q = q if self.calibration is None else self.calibration(q)
        q = self._back(q.movedim(-1, 1), series.unsqueeze(1)).movedim(1, -1)  # quantiles as a leading axis
        return q[..., median_index(self.quantiles)], q

    def _back(self, y, series):
        """Model units -> the data's: each window times its own scale (mean scaling), or the standardisation
        undone."""
        if isinstance(self.scale, MeanScale):
            return y * self.scale.scale(series)
        return y if self.scale is None else self.scale.inverse(y)

    def unit(self, series):
        """What one model unit is in the data's units: each window's scale, the std, or 1."""
        if isinstance(self.scale, MeanScale):
            return self.scale.scale(series)
        return series.new_ones(1) if self.scale is None else self.scale.std


class ForecastingTask(ForecastScoring, Task):
    """Multivariate series window -> the next ``horizon`` steps (direct), scaling inside the model."""

    CAPABILITIES = frozenset({"baselines", "report", "plots", "backtest", "streaming", "calibrate"})

    Config = ForecastingConfig

    @classmethod
    def config_from_dict(cls, values):
        """As :meth:`Task.config_from_dict`; a fitted config written before ``linear_skip`` existed (a run or file
        from an earlier seqkit) keeps the head it was trained with: no linear path."""
        values = covariates.split_lists(values)
        if values.get("mean") and "linear_skip" not in values:
            values = {**values, "linear_skip": False}
        values = dist.likelihood_levels(values)
        raw = values.get("quantiles")
        if isinstance(raw, str) and raw.strip() and not raw.strip().startswith("["):  # -T quantiles=0.1,0.5,0.9
            try:
                values = {**values, "quantiles": [float(v) for v in raw.split(",")]}
            except ValueError:
                raise ConfigError(f"quantiles must be numbers such as 0.1,0.5,0.9, got {raw!r}") from None
        return super().config_from_dict(values)

    def streaming_problem(self):
        if covariates.counts(self.config)[1]:
            return "its future covariates are an input for the steps being forecast, which a stream does not have"
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
        if c.scaling not in ("", "standard", "mean"):
            raise ConfigError(f"scaling must be standard or mean, got {c.scaling!r}")
        if c.skip_init not in ("zeros", "ridge"):
            raise ConfigError(f"skip_init must be zeros or ridge, got {c.skip_init!r}")
        if c.quantiles and (len(c.quantiles) < 2 or sorted(set(c.quantiles)) != list(c.quantiles)
                            or not all(0.0 < q < 1.0 for q in c.quantiles)):
            raise ConfigError(f"quantiles must be two or more increasing levels in (0, 1), e.g. 0.1,0.5,0.9; got "
                              f"{c.quantiles}")
        if c.calibrate not in ("", *METHODS) or (c.calibrate and not c.quantiles):
            raise ConfigError(f"calibrate=cqr recalibrates quantiles: give -T quantiles=0.1,0.5,0.9 or a likelihood "
                              f"(got calibrate={c.calibrate!r}, quantiles={c.quantiles})")
        if c.likelihood not in ("", *LIKELIHOODS):
            raise ConfigError(f"likelihood must be gaussian or studentt, got {c.likelihood!r}")
        if not 0.0 < c.test_fraction < 1.0:
            raise ConfigError(f"test_fraction must be in (0, 1), got {c.test_fraction}")
        check_scaling(c.mean, c.std, c.num_features)
        covariates.validate(c)

    def inputs(self):
        c = self.config
        specs = [TensorSpec("series", ("batch", "time", c.num_features + covariates.width(c)), "float32",
                            "the last `time` steps of each series (lookback), raw values; the model scales them"
                            + (" (targets, then the covariate columns)" if covariates.width(c) else ""))]
        if covariates.counts(c)[1]:
            specs.append(TensorSpec("future_covariates", ("batch", c.horizon, covariates.counts(c)[1]), "float32",
                                    "the future covariates of the horizon steps being forecast, raw values"))
        return [*specs, *series_id_specs(c)]

    def outputs(self):
        c = self.config
        out = [TensorSpec("forecast", ("batch", c.horizon, c.num_features), "float32",
                          "the next horizon steps, in the data's units" + (" (the median quantile)" if c.quantiles
                                                                          else ""))]
        if c.quantiles:
            out.append(TensorSpec("quantiles", ("batch", c.horizon, c.num_features, len(c.quantiles)), "float32",
                                  f"the forecast at quantile levels {c.quantiles}, in the data's units"))
        if c.likelihood:
            out.append(dist.distribution_spec(c))
        return out

    def feature_size(self):
        return self.config.num_features + covariates.width(self.config) + self.config.series_embedding

    def build_encoder(self):
        return _Encoder(self.config)

    def build_head(self, cell_output_size):
        # the skip path's start and the quantiles' spread, left by fit() with skip_init=ridge in self.prepared
        # (never saved; a saved run loads its weights)
        return _Head(cell_output_size, self.config, skip_start(self), self.prepared.get("error_std", 0.5),
                     self.prepared.get("future_start"))

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
        "seattle-weather": Dataset("daily Seattle weather 2012-2015: temp_max, temp_min, precipitation, wind (1461 "
                                   "steps, 4 features; NOAA via the vega_datasets package, public domain)", SPLITS,
                                   "forecasting/seattle_weather.csv"),
        "us-employment": Dataset("monthly US employment (thousands, seasonally adjusted) 2006-2015 in 14 "
                                 "supersectors: a panel of 14 series x 120 months, long format (id column sector; "
                                 "BLS via the vega_datasets package, public domain)", SPLITS,
                                 "forecasting/us_employment.csv"),
    }
    FILES = ("a CSV file with a header and one row per step (numeric columns; -T columns=[..] picks them), or a "
             "folder of them: one series per file (named by the file) or long-format files (-T id_column=NAME)")
    READS_FOLDERS = True  # a folder of series is one panel, read whole
    FILE_SPLITS = SPLITS

    def load_dataset(self, name, split):
        if name in PANELS and not self.config.id_column:
            self.config.id_column = PANELS[name]
        with packaged_file(self.DATASETS[name].file) as path:
            return self._windows(self.read(path, name), SEASONS[name], name, split)

    def load_file(self, path, split, name):
        return self._windows(self.read(path, name), 1, name, split)

    def read(self, path: Path, name: str):
        """The :class:`~seqkit.builtin.tasks.forecast_table.Table` of a CSV (its series, columns and times)."""
        from seqkit.builtin.tasks.forecast_table import read_folder, read_series

        columns = covariates.read_columns(self.config, list(self.config.columns))
        if Path(path).is_dir():  # a folder of series: one table, as a long-format CSV would be
            return read_folder(Path(path), name, columns, self.config.time_column, self.config.id_column)
        return read_series(path, name, columns, self.config.time_column, self.config.id_column)

    def _windows(self, table, season: int, source: str, split: str) -> Windows:
        c = self.config
        table, cov = covariates.take(table, c, source)
        series, columns, times = table.values, table.columns, table.times[0]
        if c.season == 0 or not c.columns:  # fixed by the first data loaded: training data
            c.season, c.columns = c.season or season, c.columns or columns
            self.validate()
        if not c.time_column:  # likewise: the time column and its frequency
            c.time_column = table.time_column or "none"
            c.frequency = times.freq.to_dict() if times is not None else {}
        c.scaling = c.scaling or ("mean" if len(table.ids) > 1 else "standard")
        starts, segments, kept_times, short = [], [], [], []
        for sid, (a, b), t in zip(table.ids, table.bounds, table.times):
            n = b - a  # each series split alone: its own held-out tail
            tail = n - int(round(n * c.test_fraction))
            lo, hi = {"train": (c.lookback, tail - c.horizon), "test": (max(tail, c.lookback), n - c.horizon),
                      "all": (c.lookback, n - c.horizon)}[split]
            if hi < lo:
                short.append((sid, n, tail))
                continue
            starts.append(np.arange(lo, hi + 1) + a)
            segments.append((sid, a, b))
            kept_times.append(t)
        if not starts:
            sid, n, tail = short[0]
            where = f"{source} (series {sid!r})" if len(table.ids) > 1 else source
            raise SeqkitError(f"{where}: {n} steps leave no {split} window of lookback {c.lookback} + horizon "
                              f"{c.horizon} (held-out tail: last {n - tail} steps); use a smaller lookback/horizon")
        return Windows(series, np.concatenate(starts), c.lookback, c.horizon, columns, source, kept_times, segments,
                       cov)

    def read_csv(self, path: Path, name: str) -> tuple[np.ndarray, list[str]]:
        """``[steps, features]`` float32 from a CSV with a header; errors name the file, line and column."""
        table = self.read(path, name)
        return table.values, table.columns

    def split_validation(self, data, fraction, seed):
        """The latest ``fraction`` of windows for validation, the windows whose targets end before the first
        validation target for training: a random pick of overlapping windows would leak targets."""
        if not isinstance(data, Windows) or not fraction:
            return None
        seg = data.segment_of(data.starts)
        train, val = [], []
        for k in np.unique(seg):  # per series: its latest windows
            starts = data.starts[seg == k]
            first = starts[-1] - int(round((starts[-1] - starts[0] + 1) * fraction)) + 1
            mine = starts[starts + data.horizon <= first]
            if len(mine) == 0 or first > starts[-1]:
                raise SeqkitError(f"{data.name}: {len(starts)} training windows are too few to hold out the latest "
                                  f"{fraction:.0%} for validation; use a smaller lookback or val_fraction")
            train.append(mine)
            val.append(starts[starts >= first])
        cut = (data.lookback, data.horizon, data.columns, data.name, data.time_list, data.segments, data.covariates)
        return (Windows(data.series, np.concatenate(train), *cut),
                Windows(data.series, np.concatenate(val), *cut))

    def fit(self, data):
        if len(data) == 0:
            raise SeqkitError("no training windows: the data source gave no samples")
        c = self.config
        c.num_features = int(data[0][0].shape[1])
        series = getattr(data, "series", None)
        if series is not None:  # the training part of each series itself, each step once
            seg = data.segment_of(data.starts)
            part = np.concatenate([series[data.segments[k][1]: int(data.starts[seg == k].max()) + c.horizon]
                                   for k in np.unique(seg)])
            c.mean, c.std = mean_std([part])
            c.mase_scale = mase_scale(part, c.season)
        else:
            c.mean, c.std = mean_std(np.concatenate([x, y]) for x, y in data)
            c.mase_scale = mase_scale(np.concatenate([x for x, _ in data]), c.season)
        c.series_ids = fit_series_ids(c, data)
        covariates.fit(c, data)
        self.validate()
        self._std = None
        if c.linear_skip and c.skip_init == "ridge":
            self._start_skip_from_ridge(data)

    def _start_skip_from_ridge(self, data) -> None:
        """The ridge AR fit of the training windows in standardised units, as the skip path's starting weights
        ``[horizon*F, lookback*F]`` and bias: left in ``self.prepared`` (never saved or exported) for
        :meth:`build_head` in the ``compose()`` of this fitted task; a reloaded run gets its trained weights."""
        x, y, window = covariates.design(self, data)  # with covariates: a linear ARX start
        ridge = Ridge().fit(x, y)
        weight = ridge.coef / ridge.std[:, None]
        bias = ridge.y_mean - (ridge.mean / ridge.std) @ ridge.coef
        self.prepared["skip_start"] = (weight.T[:, :window].astype(np.float32), bias.astype(np.float32))
        if x.shape[1] > window:
            self.prepared["future_start"] = weight.T[:, window:].astype(np.float32)
        self.prepared["error_std"] = float(np.sqrt(max(ridge.loo_mse, 1e-6)))

    def _scaled_pairs(self, data) -> tuple[np.ndarray, np.ndarray]:
        """Inputs ``[n, lookback, F]`` and targets ``[n, horizon, F]`` of ``data`` in the units the model works
        in: standardised, or each window divided by its mean |input| (``scaling=mean``)."""
        x = np.stack([w for w, _ in items(data)]).astype(np.float64)
        y = np.stack([t for _, t in items(data)]).astype(np.float64)
        if self.config.scaling == "mean":
            s = mean_scale(x)
            return x / s, y / s
        mean, std = np.asarray(self.config.mean), np.asarray(self.config.std)
        return (x - mean) / std, (y - mean) / std

    def collate(self, samples):
        c = self.config
        for i, (x, y) in enumerate(samples):
            if x.shape[1] != c.num_features or y.shape != (c.horizon, c.num_features):
                raise SeqkitError(f"window {i}: shapes {list(x.shape)} -> {list(y.shape)}, the model expects "
                                  f"[time, {c.num_features}] -> [{c.horizon}, {c.num_features}]")
        x = torch.from_numpy(np.stack([x for x, _ in samples]).astype(np.float32))
        y = torch.from_numpy(np.stack([y for _, y in samples]).astype(np.float32))
        if c.scaling == "mean":  # the loss works in each window's own scale: it rides with the target
            y = torch.cat([y, torch.from_numpy(mean_scale(x.numpy()))], 1)
        inputs = covariates.inputs(c, samples, x)
        return ((*inputs, series_index(c, samples)) if c.series_embedding else inputs), y

    def _target(self, target):
        """``(targets [b, horizon, F], per-window scale [b, 1, F] or None)`` of what :meth:`collate` returned."""
        if self.config.scaling == "mean":
            return target[:, :self.config.horizon], target[:, self.config.horizon:]
        return target, None

    def _scale(self) -> torch.Tensor:
        if getattr(self, "_std", None) is None:
            self._std = torch.tensor(self.config.std or [1.0] * self.config.num_features, dtype=torch.float32)
        return self._std

    def loss(self, outputs, target):
        """Mean squared error in standardised units (every feature counts alike); with ``quantiles`` the mean
        pinball loss of the quantile forecasts, in the same units."""
        target, window_scale = self._target(target)
        std = self._scale().to(target.device) if window_scale is None else window_scale
        if self.config.likelihood:  # negative log-likelihood in model units: every value divided by the unit
            return dist.distribution_loss(self.config, outputs, target, std)
        if self.config.quantiles:
            from seqkit.kit.intervals import pinball

            levels = torch.tensor(self.config.quantiles, dtype=outputs[1].dtype, device=target.device)
            return pinball(outputs[1] / std.unsqueeze(-1), target / std, levels)
        return (((outputs[0] - target) / std) ** 2).mean()

    def calibrate(self, model, data) -> bool:
        """With ``calibrate=cqr``: the quantiles' offsets from the validation windows (forecast_calibration)."""
        return bool(self.config.calibrate) and calibrate_quantiles(self, model, data)

    def scale_of_errors(self) -> list[float]:
        """MASE's denominators per feature (1.0 before fit)."""
        return list(self.config.mase_scale) or [1.0] * self.config.num_features

    def metrics(self, outputs, target):
        """Batch means of the per-element terms of MAE, MSE, sMAPE and MASE (RMSE is whole-set: see report)."""
        target = self._target(target)[0]
        terms = forecast_errors(outputs[0].detach().cpu().double().numpy(), target.cpu().double().numpy(),
                                self.scale_of_errors())
        out = {k: float(v.mean()) for k, v in terms.items()}
        if self.config.quantiles:
            from seqkit.kit.intervals import interval_scores

            out["coverage"] = interval_scores(outputs[1].detach().cpu().numpy(), target.cpu().numpy(),
                                              self.config.quantiles)["coverage"]
        return out

    def main_metric(self):
        return ("mae", "min")

    def metadata(self):
        c = self.config
        return {"columns": list(c.columns), "lookback": c.lookback, "horizon": c.horizon, "season": c.season,
                **({"time": {"column": c.time_column, **c.frequency}} if c.frequency else {}),
                **({"quantiles": list(c.quantiles)} if c.quantiles else {}),
                **({"distribution": dist.distribution_metadata(c)} if c.likelihood else {}),
                **({"calibration": "cqr on the validation split (offsets in the graph)"} if c.calibrate else {}),
                **({"id_column": c.id_column} if c.id_column else {}),
                **({"series_ids": list(c.series_ids)} if c.series_embedding else {}),
                **covariates.metadata(c),
                "scaling": {"mean": c.mean, "std": c.std, "learned_on": "training split only",
                            "applied": "inside the model: the encoder standardises, the head maps back; feed and "
                                       "read raw values"} if c.scaling != "mean" else
                {"kind": "mean", "applied": "inside the model: each window divided by its own mean |value| per "
                                            "column (DeepAR), the forecast multiplied back; feed and read raw values"}}


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("forecasting", ForecastingTask)
