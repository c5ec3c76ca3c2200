"""Built-in task ``forecasting``: the last ``lookback`` steps of a multivariate series -> the next ``horizon``.

Input: ``series`` float32 ``[batch, time, num_features]`` in the data's own units (``time`` is the lookback; any
length works). Output: ``forecast`` float32 ``[batch, horizon, num_features]``, all horizon steps at once (direct
multi-step), in the same units. ``fit()`` learns each feature's mean and standard deviation on the training part
of the series only; the encoder standardises with them and the head maps back, inside the model (and the
exported file), so callers feed and get raw values. Windows are always full length, so there is no ``lengths``.

Splits are chronological: ``test`` holds the windows whose targets lie in the last ``test_fraction`` of the series
(the held-out tail; their inputs may reach back before it), ``train`` every window that ends before that tail,
``all`` every window (for a separate file of later data: ``seqkit evaluate RUN --data later.csv --split all``).
Baseline: the seasonal-naive forecast (each step repeats the value one ``season`` earlier) on the same windows,
with the same metrics (MAE and MSE, in the data's units).

Data: built-in ``sunspots``, ``co2``, ``airline``, ``macro`` (seqkit/datasets/forecasting/README.md), or a CSV
with a header and numeric columns (``columns`` picks them; by default every column but a leading time column).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqkit import hookimpl
from seqkit.core.task import Dataset, Task, TensorSpec, packaged_file
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit.heads import pool
from seqkit.kit.readers import read_table
from seqkit.kit.scaling import Standardize, check_scaling, mean_std

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
    # learned by fit() from the training split
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)


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

    def forward(self, series):
        return (series if self.scale is None else self.scale(series)), None


class _Head(nn.Module):
    def __init__(self, in_size: int, config: ForecastingConfig):
        super().__init__()
        self.horizon, self.features = config.horizon, config.num_features
        self.proj = nn.Linear(in_size, config.horizon * config.num_features)
        self.scale = Standardize(config.mean, config.std) if config.mean else None

    def forward(self, outputs, state, lengths):
        y = self.proj(pool(outputs, state, lengths, "last")).reshape(-1, self.horizon, self.features)
        return (y if self.scale is None else self.scale.inverse(y),)


class ForecastingTask(Task):
    """Multivariate series window -> the next ``horizon`` steps (direct), scaling inside the model."""

    Config = ForecastingConfig

    def validate(self):
        c = self.config
        if c.lookback < 1 or c.horizon < 1 or c.num_features < 1 or c.season < 0:
            raise ConfigError("forecasting needs lookback, horizon, num_features >= 1 and season >= 0")
        if c.season > c.lookback:
            raise ConfigError(f"season {c.season} is longer than lookback {c.lookback}: the seasonal-naive baseline "
                              f"needs one season of inputs; raise lookback to at least {c.season}")
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
        return _Head(cell_output_size, self.config)

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
            c.mean, c.std = mean_std([series[: int(data.starts[-1]) + c.horizon]])
        else:
            c.mean, c.std = mean_std(np.concatenate([x, y]) for x, y in data)
        self.validate()
        self._std = None

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

    def metrics(self, outputs, target):
        err = outputs[0].detach() - target
        return {"mae": err.abs().mean().item(), "mse": (err ** 2).mean().item()}

    def main_metric(self):
        return ("mae", "min")

    def seasonal_naive(self, x: np.ndarray) -> np.ndarray:
        """Forecast ``[horizon, F]`` from inputs ``x`` ``[lookback, F]``: step h repeats step h - season."""
        m = self.config.season or 1
        return x[len(x) - m + np.arange(self.config.horizon) % m]

    def baseline(self, train, test):
        """Seasonal naive on ``test`` (needs no training data), with :meth:`metrics`' keys."""
        if not len(test):
            return {}
        err = np.stack([self.seasonal_naive(x) - y for x, y in (test[i] for i in range(len(test)))])
        return {"mae": float(np.abs(err).mean()), "mse": float((err ** 2).mean())}

    def metadata(self):
        c = self.config
        return {"columns": list(c.columns), "lookback": c.lookback, "horizon": c.horizon, "season": c.season,
                "scaling": {"mean": c.mean, "std": c.std, "learned_on": "training split only",
                            "applied": "inside the model: the encoder standardises, the head maps back; feed and "
                                       "read raw values"}}


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("forecasting", ForecastingTask)
