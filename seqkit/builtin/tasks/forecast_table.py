"""Reading a forecasting table: one series (a row per step) or many (long format, ``id_column``), with its time
column parsed (:mod:`seqkit.runtime.times`: frequency inferred, a gap or duplicate is an error naming the line).

All series are concatenated into one ``values`` array ``[rows, features]``; ``bounds`` holds each series' rows,
so a window never crosses from one series into the next.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqkit.errors import SeqkitError
from seqkit.kit.readers import read_table
from seqkit.runtime.times import TimeIndex, parse

TIME_COLUMN = re.compile(r"^(date|time|timestamp|year|month|quarter|week|day|period|index|t|ds)$", re.I)
NO_TIME = ("none", "no", "false")


@dataclass
class Table:
    values: np.ndarray                 # [rows, features], every series one after the other
    columns: list[str]                 # the value columns (features)
    ids: list[str]                     # one per series; [""] for a table of one series
    bounds: list[tuple[int, int]]      # each series' rows [lo, hi) in values
    times: list[TimeIndex | None]      # each series' timestamps (None: no time column)
    time_column: str                   # "" when there is none


def is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def read_series(path: Path, name: str, columns: list[str], time_column: str = "", id_column: str = "") -> Table:
    """The series of a CSV/TSV/JSON Lines table with a header; errors name the file, line and column.

    ``columns``: the value columns (empty: every column but the time and id columns); ``time_column``: the
    timestamps (empty: a leading column named like one -- date, month, year... -- or not numeric; ``none``: no
    time, steps are row numbers); ``id_column``: the series each row belongs to (long format; rows of a series in
    time order, series in any order)."""
    wanted = [c for c in (*columns, id_column, time_column) if c and c.lower() not in NO_TIME]
    rows = read_table(path, wanted)
    header = list(rows[0][1])
    if id_column and id_column not in header:
        raise SeqkitError(f"{name}: no id column {id_column!r} in the header ({', '.join(header)})")
    off = time_column.lower() in NO_TIME
    time = time_column if not off else ""
    rest = [h for h in header if h != id_column]
    if (not time_column or off) and rest and rest[0] not in columns:
        first = [row.get(rest[0]) for _, row in rows]
        if TIME_COLUMN.match(rest[0].strip()) or (len(rest) > 1 and not all(is_number(v) for v in first)):
            time = rest[0]  # a leading time column: never a value; with time_column=none not read either
    values_columns = list(columns) or [h for h in rest if h != time]
    time = "" if off else time
    if not values_columns:
        raise SeqkitError(f"{name}: no numeric columns to forecast; the header is {', '.join(header)}")
    groups: dict[str, list] = {}
    for line, row in rows:
        groups.setdefault(str(row.get(id_column, "")) if id_column else "", []).append((line, row))
    values = np.empty((len(rows), len(values_columns)), dtype=np.float32)
    ids, bounds, times = [], [], []
    at = 0
    for key, members in groups.items():
        for line, row in members:
            for j, col in enumerate(values_columns):
                raw = row.get(col)
                if not is_number(raw) or not np.isfinite(float(raw)):
                    raise SeqkitError(f"{name} line {line}: column {col!r} is {raw!r}, not a finite number; fix or "
                                      f"fill it (forecasting needs a value at every step)")
                values[at, j] = float(raw)
            at += 1
        label = f"{name} (series {key!r})" if id_column else name
        times.append(parse([str(r.get(time)) for _, r in members], [ln for ln, _ in members], label, time)
                     if time else None)
        ids.append(key)
        bounds.append((at - len(members), at))
    if len({t.freq.to_dict()["name"] for t in times if t is not None}) > 1:
        raise SeqkitError(f"{name}: the series have different frequencies; give series of one frequency")
    return Table(values, values_columns, ids, bounds, times, time)
