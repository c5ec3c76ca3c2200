"""Forecasting's covariates (darts' names): ``past_covariates`` (other columns of the table, observed up to the
forecast origin), ``future_covariates`` (columns known in advance, also over the horizon) and ``calendar``
(future covariates derived from the time column: dayofweek, month, hour, ...; :mod:`seqkit.runtime.covariates`).

The model's ``series`` input holds ``[targets, past, future, calendar]`` per step (the encoder and the linear skip
path read them all over the lookback); a second input ``future_covariates [batch, horizon, K]`` holds the future
and calendar columns of the steps being forecast, which the head maps linearly onto the forecast. Covariates
are standardised inside the model with the training split's mean and std (the targets keep their own scaling).
Helpers of :class:`~seqkit.builtin.tasks.forecasting.ForecastingTask`, kept apart so that each module holds
one idea.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqkit.builtin.tasks.forecast_windows import items
from seqkit.core.options import TextOptions
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit.scaling import check_scaling, mean_std
from seqkit.runtime.covariates import calendar_columns, calendar_problem, calendar_values

OPTIONS = ("past_covariates", "future_covariates", "calendar")
NO_TIME = ("none", "no", "false")


def split_lists(values):
    """``-T past_covariates=a,b`` as ``["a", "b"]`` (a list option's text is otherwise one item)."""
    raw = getattr(values, "raw", values)
    texts = {k: raw[k] for k in OPTIONS if isinstance(raw.get(k), str) and not raw[k].strip().startswith("[")}
    if not texts:
        return values
    lists = {k: [v.strip() for v in text.split(",") if v.strip()] for k, text in texts.items()}
    if isinstance(values, TextOptions):
        return TextOptions({**values, **lists}, {k: v for k, v in values.raw.items() if k not in lists})
    return {**values, **lists}


def counts(c) -> tuple[int, int]:
    """``(P, K)``: past covariate columns and future ones (user columns + 2 per calendar attribute)."""
    return len(c.past_covariates), len(c.future_covariates) + 2 * len(c.calendar)


def width(c) -> int:
    """Covariate columns of the ``series`` input (after the targets)."""
    return sum(counts(c))


def validate(c) -> None:
    problem = calendar_problem(c.calendar)
    if problem:
        raise ConfigError(problem)
    if c.calendar and c.time_column.lower() in NO_TIME:
        raise ConfigError(f"calendar={','.join(c.calendar)} needs a time column of dates, but time_column is "
                          f"{c.time_column!r}; name the column with -T time_column=COLUMN or drop calendar")
    names = [*c.past_covariates, *c.future_covariates]
    for name in names:
        if not name or name in (c.id_column, c.time_column) or name in c.columns:
            role = ("the id column" if name == c.id_column else "the time column" if name == c.time_column
                    else "a target column (columns)")
            raise ConfigError(f"covariate {name!r} is {role if name else 'empty'}; a covariate is another column of "
                              f"the table")
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"column {twice!r} is given twice in past_covariates/future_covariates; name each once "
                          f"(a column known in advance is a future covariate)")
    check_scaling(c.covariate_mean, c.covariate_std, width(c) or None, per="covariate column")


def read_columns(c, columns: list[str]) -> list[str]:
    """The value columns to read: the targets given and, when they are, the covariate columns too."""
    return [*columns, *c.past_covariates, *c.future_covariates] if columns and width(c) else columns


def take(table, c, source: str):
    """``(table of the target columns, covariates [rows, C] float32 or None)`` of a table read with
    :func:`read_columns`; the calendar columns computed from each series' times."""
    if not width(c):
        return table, None
    users = [*c.past_covariates, *c.future_covariates]
    missing = [n for n in users if n not in table.columns]
    if missing:
        raise SeqkitError(f"{source}: no column {missing[0]!r} for the covariates in the table's columns "
                          f"({', '.join(table.columns)})")
    targets = [n for n in (c.columns or table.columns) if n not in users]
    if not targets:
        raise SeqkitError(f"{source}: every column is a covariate; leave a column to forecast")
    pick = lambda names: table.values[:, [table.columns.index(n) for n in names]]  # noqa: E731
    parts = [pick(users)]
    if c.calendar:
        if not table.time_column:
            raise SeqkitError(f"{source}: calendar={','.join(c.calendar)} needs a time column of dates and the table "
                              f"has none; name it with -T time_column=COLUMN")
        cal = np.empty((len(table.values), 2 * len(c.calendar)), np.float32)
        for (lo, hi), times in zip(table.bounds, table.times):
            try:
                cal[lo:hi] = calendar_values(times.freq.datetimes(times.ordinals), c.calendar)
            except SeqkitError as exc:
                raise SeqkitError(f"{source}: time column {table.time_column!r}: {exc}") from None
        parts.append(cal)
    table.values, table.columns = pick(targets), targets
    return table, np.concatenate(parts, 1).astype(np.float32)


def fit(c, data) -> None:
    """The covariates' mean and std over the training part of each series (each step once) into ``c``."""
    cov = getattr(data, "covariates", None)
    if not width(c):
        c.covariate_mean, c.covariate_std = [], []
        return
    if cov is None:
        raise SeqkitError("covariates need a table of windows (a dataset or CSV), not a list of windows")
    seg = data.segment_of(data.starts)
    part = np.concatenate([cov[data.segments[k][1]: int(data.starts[seg == k].max()) + c.horizon]
                           for k in np.unique(seg)])
    c.covariate_mean, c.covariate_std = mean_std([part])


def scaled(c, samples) -> tuple[np.ndarray, np.ndarray]:
    """Standardised covariates of windows: over the lookback ``[n, lookback, C]`` and the future ones over the
    horizon ``[n, horizon, K]``."""
    cov = np.stack([_covariates(s, i) for i, s in enumerate(samples)]).astype(np.float64)
    cov = (cov - np.asarray(c.covariate_mean)) / np.asarray(c.covariate_std)
    steps = cov.shape[1] - c.horizon
    return cov[:, :steps], cov[:, steps:, counts(c)[0]:]


def design(task, data) -> tuple[np.ndarray, np.ndarray, int]:
    """The linear ARX regression of ``data``'s windows in model units: inputs ``[n, lookback * (F + C) + horizon
    * K]`` (the window's targets and covariates, then the future covariates of the horizon), targets ``[n, horizon
    * F]``, and how many inputs are the window's (the skip path's; the rest are the future projection's)."""
    x, y = task._scaled_pairs(data)
    n = len(x)
    future = np.zeros((n, 0))
    if width(task.config):
        past, future = scaled(task.config, list(items(data)))
        x, future = np.concatenate([x, past], -1), future.reshape(n, -1)
    x = x.reshape(n, -1)
    return np.concatenate([x, future], 1), y.reshape(n, -1), x.shape[1]


def linear_arx(task, train, test) -> np.ndarray | None:
    """The baseline a model with covariates must beat: ridge regression of the ``horizon`` targets on the window
    and its covariates and the future covariates (:func:`design`), fitted on ``train``; forecasts ``[n, horizon,
    F]`` of ``test`` in the data's units, or None without covariates or training windows."""
    c = task.config
    if not width(c) or train is None or not len(train) or not len(test):
        return None
    from seqkit.kit.baselines import Ridge
    from seqkit.kit.scaling import mean_scale

    fit_x, fit_y, _ = design(task, train)
    pred = Ridge().fit(fit_x, fit_y).predict(design(task, test)[0]).reshape(len(test), c.horizon, c.num_features)
    if c.scaling == "mean":
        return pred * mean_scale(np.stack([x for x, _ in items(test)]).astype(np.float64))
    return pred * np.asarray(c.std) + np.asarray(c.mean)


def _covariates(sample, i: int) -> np.ndarray:
    cov = getattr(sample, "covariates", None)
    if cov is None:
        raise SeqkitError(f"window {i} has no covariates; the model takes windows of a table with its covariate "
                          f"columns")
    return cov


def inputs(c, samples, x: torch.Tensor) -> tuple:
    """The model's inputs for ``samples`` with target windows ``x``: ``(series,)`` or ``(series, future)``."""
    if not width(c):
        return (x,)
    cov = np.stack([_covariates(s, i) for i, s in enumerate(samples)]).astype(np.float32)
    steps = x.shape[1]
    series = torch.cat([x, torch.from_numpy(cov[:, :steps])], -1)
    if not counts(c)[1]:
        return (series,)
    return series, torch.from_numpy(np.ascontiguousarray(cov[:, steps:, counts(c)[0]:]))


def future_columns(c) -> list[str]:
    return [*c.future_covariates, *calendar_columns(c.calendar)]


def series_columns(c) -> list[str]:
    return [*c.columns, *c.past_covariates, *future_columns(c)]


def metadata(c) -> dict:
    if not width(c):
        return {}
    return {"covariates": {
        "past": list(c.past_covariates), "future": list(c.future_covariates), "calendar": list(c.calendar),
        "inputs": {"series": series_columns(c), **({"future_covariates": future_columns(c)} if counts(c)[1] else {})},
        "future_covariates_axes": ["batch", "horizon", "covariate"],
        "calendar_encoding": "cyclic: a_sin = sin(2 pi a / period), a_cos = cos(...), a counted from 0 (Monday, "
                             "January, midnight)",
        "future_rows": "predict from a table: the observed rows, then one row per step to forecast with the "
                       "targets empty and the future covariates filled",
        "mean": list(c.covariate_mean), "std": list(c.covariate_std), "learned_on": "training split only",
        "applied": "inside the model: covariates are standardised; feed raw values"}}


class CovariateScale(nn.Module):
    """The covariates standardised with the training split's statistics (identity before fit); :meth:`future`
    for the future columns alone."""

    def __init__(self, c):
        super().__init__()
        n, past = width(c), counts(c)[0]
        mean = torch.tensor(c.covariate_mean or [0.0] * n, dtype=torch.float32)
        std = torch.tensor(c.covariate_std or [1.0] * n, dtype=torch.float32)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)
        self.past = past

    def forward(self, x):
        return (x - self.mean) / self.std

    def future(self, x):
        return (x - self.mean[self.past:]) / self.std[self.past:]


class FutureProjection(nn.Module):
    """The head's path for the future covariates: a linear map of the standardised ``[batch, horizon, K]`` onto
    the forecast ``[batch, horizon, F]`` (in model units), started at ``start`` (the ridge fit) or zeros."""

    def __init__(self, c, scale: CovariateScale, start=None):
        super().__init__()
        self.horizon, self.features, self.scale = c.horizon, c.num_features, scale
        self.proj = nn.Linear(c.horizon * counts(c)[1], c.horizon * c.num_features, bias=False)
        with torch.no_grad():
            self.proj.weight.copy_(torch.as_tensor(start) if start is not None else torch.zeros_like(self.proj.weight))

    def forward(self, future):
        b = future.shape[0]
        return self.proj(self.scale.future(future).reshape(b, -1)).reshape(b, self.horizon, self.features)
