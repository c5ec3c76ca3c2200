"""Covariates of a forecasting model, torch-free: calendar features of timestamps, and the inputs ``seqkit
predict`` builds from a table whose future rows hold the covariates known in advance.

Calendar features (darts' cyclic encoder): attribute ``a`` of each timestamp, counted from 0 (Monday is day 0
of the week, January month 0, midnight hour 0), with period ``P`` gives two columns ``a_sin = sin(2 pi a / P)``
and ``a_cos = cos(2 pi a / P)``; :data:`CALENDAR` holds the attributes and their periods.

A table for a model with covariates (``task_metadata["covariates"]``): the observed rows (every target filled),
then the *future rows*: the times being forecast, the target columns empty (or NaN), the future covariates
filled. The model's ``series`` input is the last ``lookback`` observed rows of the targets, past covariates,
future covariates and calendar columns; its ``future_covariates`` input the first ``horizon`` future rows of
the future covariates and calendar columns.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqkit.errors import InputError, SeqkitError

#: calendar attribute -> its period (darts' names: dayofweek, month, hour, ...)
CALENDAR = {"dayofweek": 7, "dayofmonth": 31, "dayofyear": 365.25, "weekofyear": 52.18, "month": 12, "quarter": 4,
            "hour": 24, "minute": 60}
BLANK = ("", "nan", "na", "null", "none")


def calendar_problem(names: Sequence[str]) -> str | None:
    """What is wrong with calendar attribute ``names`` (None: nothing)."""
    bad = [n for n in names if n not in CALENDAR]
    if bad:
        return f"calendar attribute {bad[0]!r} is unknown; choose from {', '.join(CALENDAR)}, e.g. dayofweek,month"
    if len(set(names)) != len(names):
        return f"calendar lists an attribute twice ({', '.join(names)})"
    return None


def calendar_columns(names: Sequence[str]) -> list[str]:
    """The feature columns of calendar attributes ``names``: ``a_sin, a_cos`` each."""
    return [f"{n}_{f}" for n in names for f in ("sin", "cos")]


def attribute(stamps: np.ndarray, name: str) -> np.ndarray:
    """Attribute ``name`` (counted from 0) of ``datetime64`` ``stamps``."""
    t = np.asarray(stamps).astype("datetime64[s]")
    day = t.astype("datetime64[D]")
    month = t.astype("datetime64[M]")
    if name == "dayofweek":
        return (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    if name == "month":
        return month.astype(np.int64) % 12
    if name == "quarter":
        return (month.astype(np.int64) % 12) // 3
    if name == "dayofmonth":
        return (day - month.astype("datetime64[D]")).astype(np.int64)
    if name == "dayofyear":
        return (day - t.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    if name == "weekofyear":
        return np.array([d.isocalendar()[1] - 1 for d in day.astype(object)], dtype=np.int64)
    seconds = (t - day.astype("datetime64[s]")).astype(np.int64)
    if name == "hour":
        return seconds // 3600
    if name == "minute":
        return (seconds // 60) % 60
    raise SeqkitError(calendar_problem([name]) or f"calendar attribute {name!r} is unknown")


def calendar_values(stamps: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """``[len(stamps), 2 * len(names)]`` float64: the sin and cos of each attribute (see the module docstring)."""
    out = np.empty((len(stamps), 2 * len(names)))
    for j, name in enumerate(names):
        angle = 2.0 * np.pi * attribute(stamps, name) / CALENDAR[name]
        out[:, 2 * j], out[:, 2 * j + 1] = np.sin(angle), np.cos(angle)
    return out


def observed_count(rows: Sequence, targets: Sequence[str]) -> int:
    """How many of ``rows`` ``[(line, row dict)]`` are observed: up to the last row with a target value; the rows
    after it (every target empty or NaN) are future rows."""
    k = len(rows)
    while k and all(str(rows[k - 1][1].get(t) or "").strip().lower() in BLANK for t in targets):
        k -= 1
    return k


def _numbers(p: Path, rows: Sequence, columns: Sequence[str], what: str) -> np.ndarray:
    out = np.empty((len(rows), len(columns)))
    for i, (line, row) in enumerate(rows):
        for j, c in enumerate(columns):
            raw = row.get(c)
            try:
                out[i, j] = float(raw)
            except (TypeError, ValueError):
                out[i, j] = np.nan
            if not np.isfinite(out[i, j]):
                raise InputError(f"{p} line {line}: column {c!r} is {raw!r}, not a number; {what}")
    return out


def covariate_sample(p: Path, rows: Sequence, header: Sequence[str], meta: dict,
                     label: str) -> tuple[dict, str]:
    """``({"series": [time, F + C], "future_covariates": [horizon, K]}, source)`` for one series' ``rows`` of
    table ``p`` (see the module docstring); one clear error for missing columns or future rows."""
    cov = meta["covariates"]
    targets, past, future, calendar = meta["columns"], cov["past"], cov["future"], cov["calendar"]
    lookback, horizon = int(meta.get("lookback") or len(rows)), int(meta.get("horizon") or 1)
    time = (meta.get("time") or {}).get("column") if calendar else None
    missing = [c for c in (*past, *future, *([time] if time else [])) if c not in header]
    if missing:
        raise SeqkitError(f"{p}: no column {missing[0]!r} in the header ({', '.join(header)}); the model reads "
                          f"covariates {', '.join([*past, *future]) or 'from the time column'}"
                          + (f" and the time column {time!r}" if time else ""))
    cut = observed_count(rows, targets)
    if not cut:
        raise SeqkitError(f"{label}: no row holds a value of {', '.join(targets)}; give the observed rows, then the "
                          f"future rows")
    observed, ahead = rows[:cut][-lookback:], rows[cut:cut + horizon]
    needs_future = bool(future or calendar)
    if needs_future and len(ahead) < horizon:
        raise SeqkitError(f"{label}: {len(ahead)} future row(s) after line {rows[cut - 1][0]} (the last with "
                          f"{', '.join(targets)}), the model needs {horizon}: add a row for each step to forecast, "
                          f"with its time{', ' + ', '.join(future) if future else ''} filled and "
                          f"{', '.join(targets)} empty")
    fill = "fill it (the target and past covariates in every observed row)"
    parts = [_numbers(p, observed, [*targets, *past], fill),
             _numbers(p, observed, future, "fill it (future covariates in every row)")]
    ahead_parts = [_numbers(p, ahead, future, "fill it (future covariates are needed in every future row)")]
    if calendar:
        from seqkit.runtime.times import parse

        both = [*observed, *ahead]
        index = parse([str(r.get(time)) for _, r in both], [line for line, _ in both], label, time)
        values = calendar_values(index.freq.datetimes(index.ordinals), calendar)
        parts.append(values[:len(observed)])
        ahead_parts.append(values[len(observed):])
    sample = {"series": np.concatenate(parts, 1)}
    source = f"{label} lines {observed[0][0]}-{observed[-1][0]} (the last {len(observed)} steps"
    if needs_future:
        sample["future_covariates"] = np.concatenate(ahead_parts, 1)
        source += f"; future rows {ahead[0][0]}-{ahead[-1][0]}"
    return sample, source + ")"
