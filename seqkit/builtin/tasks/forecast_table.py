"""Reading a forecasting table: one series (a row per step) or many (long format, ``id_column``), with its time
column parsed (:mod:`seqkit.runtime.times`: frequency inferred, a gap or duplicate is an error naming the line).

All series are concatenated into one ``values`` array ``[rows, features]``; ``bounds`` holds each series' rows,
so a window never crosses from one series into the next. A folder (:func:`read_folder`) is one such table: each
CSV/TSV file in it one series named by the file's stem, or (holding the id column) several in long format.
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


def read_folder(folder: Path, name: str, columns: list[str], time_column: str = "", id_column: str = "") -> Table:
    """Every ``.csv``/``.tsv`` file at the top of ``folder`` (sorted by name) as one table: a file with the
    ``id_column`` holds series in long format, any other file is one series whose id is the file's stem. Every
    file must have the first file's value columns and time column; an id may appear in one file only."""
    import csv

    files = sorted(p for p in Path(folder).iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in (".csv", ".tsv"))
    if not files:
        raise SeqkitError(f"{name}: no .csv or .tsv files in the folder; give one file per series (named by the "
                          f"series) or long-format tables with -T id_column=NAME")
    parts, first = [], None
    for path in files:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f, delimiter="\t" if path.suffix.lower() == ".tsv" else ","), [])
        long = bool(id_column) and id_column in header
        table = read_series(path, f"{name}/{path.name}", list(columns or (first.columns if first else [])),
                            time_column or (first.time_column or "none" if first else ""),
                            id_column if long else "")
        if first is not None and table.columns != first.columns:
            raise SeqkitError(f"{name}/{path.name}: columns {', '.join(table.columns)} differ from "
                              f"{', '.join(first.columns)} of {files[0].name}; give every file the same columns")
        first = first or table
        parts.append((table, table.ids if long else [path.stem]))
    ids, seen = [], {}
    for (_, names), path in zip(parts, files):
        for sid in names:
            if sid in seen:
                raise SeqkitError(f"{name}: series {sid!r} is in both {seen[sid]} and {path.name}; give each series "
                                  f"once")
            seen[sid] = path.name
            ids.append(sid)
    offsets = np.cumsum([0] + [len(t.values) for t, _ in parts])
    bounds = [(int(lo + o), int(hi + o)) for (t, _), o in zip(parts, offsets) for lo, hi in t.bounds]
    times = [t for table, _ in parts for t in table.times]
    if len({t.freq.to_dict()["name"] for t in times if t is not None}) > 1:
        raise SeqkitError(f"{name}: the series have different frequencies; give series of one frequency")
    return Table(np.concatenate([t.values for t, _ in parts]), first.columns, ids, bounds, times, first.time_column)
