"""The time column of a forecasting table: timestamps parsed, the frequency inferred, and the timestamps that follow.

Torch-free (numpy datetime64 and the standard library), so training and ``seqkit predict`` read a table's
time column alike. A column of integers (years such as ``1700``, or step numbers) counts in its own steps;
``1959Q2`` is a quarter; anything ``numpy.datetime64`` reads (``1949-01``, ``2012-03-01``,
``2012-03-01 10:00``) is a calendar time. Calendar times that all fall on the first (or all on the last) day of
a month count in months (monthly, quarterly, yearly), others in seconds (daily, hourly, weekly...). The step is
the most common difference between neighbouring rows; a row that repeats the time before it, goes back, or
leaves steps out is an error naming its line.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqkit.errors import SeqkitError

INTEGER = re.compile(r"^\s*-?\d+\s*$")
QUARTER = re.compile(r"^\s*(\d{4})-?Q([1-4])\s*$", re.I)
NAMES = {("M", 1): "monthly", ("M", 3): "quarterly", ("M", 12): "yearly", ("s", 86400): "daily",
         ("s", 7 * 86400): "weekly", ("s", 3600): "hourly", ("s", 60): "every minute", ("s", 1): "every second"}
DAY = np.timedelta64(1, "D")


@dataclass
class Frequency:
    """How a time column counts: ``unit`` int (its own numbers), M (calendar months) or s (seconds); ``step``
    units between rows; ``style`` the way labels are written (int, year, quarter, month, date, month_end,
    datetime)."""

    unit: str
    step: int
    style: str

    def name(self) -> str:
        if self.unit == "int":
            return f"every {self.step}" if self.step != 1 else "one step per row"
        return NAMES.get((self.unit, self.step), f"every {self.step} {'months' if self.unit == 'M' else 's'}")

    def to_dict(self) -> dict:
        return {"unit": self.unit, "step": self.step, "style": self.style, "name": self.name()}

    @classmethod
    def from_dict(cls, d: dict) -> Frequency:
        return cls(str(d["unit"]), int(d["step"]), str(d["style"]))

    def label(self, ordinal: int) -> str:
        """The timestamp ``ordinal`` (in ``unit``) written as the column writes it."""
        if self.unit == "int":
            return str(int(ordinal))
        if self.unit == "M":
            month = np.datetime64(int(ordinal), "M")
            year, m = divmod(int(ordinal), 12)
            if self.style == "quarter":
                return f"{1970 + year}Q{m // 3 + 1}"
            if self.style == "year":
                return str(1970 + year)
            if self.style == "month":
                return str(month)
            if self.style == "month_end":
                return str((month + 1).astype("datetime64[D]") - DAY)
            return str(month.astype("datetime64[D]"))
        t = np.datetime64(int(ordinal), "s")
        return str(t.astype("datetime64[D]")) if self.style == "date" else str(t)

    def datetimes(self, ordinals) -> np.ndarray:
        """``datetime64[s]`` of ``ordinals`` (calendar units only; integers count as years only when they are
        years: not used for them)."""
        o = np.asarray(ordinals, dtype=np.int64)
        if self.unit == "M":
            return o.astype("datetime64[M]").astype("datetime64[s]")
        if self.unit == "s":
            return o.astype("datetime64[s]")
        raise SeqkitError("a time column of plain numbers has no calendar; give dates to derive calendar features")


@dataclass
class TimeIndex:
    """The timestamps of one series: ``ordinals`` (int64, in ``freq.unit``), regular with step ``freq.step``."""

    ordinals: np.ndarray
    freq: Frequency

    def labels(self, positions=None) -> list[str]:
        o = self.ordinals if positions is None else self.ordinals[np.asarray(positions, dtype=np.int64)]
        return [self.freq.label(v) for v in o]

    def label(self, position: int) -> str:
        """The timestamp of step ``position``, also past the end (the steps being forecast)."""
        return self.freq.label(int(self.ordinals[0]) + int(position) * self.freq.step)

    def after(self, n: int) -> list[str]:
        """The ``n`` timestamps that follow the last one."""
        return [self.label(len(self.ordinals) + k) for k in range(n)]


def _ordinal(value: str, where: str, column: str) -> tuple[str, np.datetime64 | int]:
    text = str(value).strip()
    if INTEGER.match(text):
        return "int", int(text)
    q = QUARTER.match(text)
    if q:
        return "quarter", np.datetime64(f"{q.group(1)}-{3 * int(q.group(2)) - 2:02d}", "M")
    try:
        return "time", np.datetime64(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        raise SeqkitError(f"{where}: time column {column!r} is {value!r}, neither a date nor a number; write dates "
                          f"as 2012-03-01 (or 2012-03, 2012Q1, 2012-03-01 10:00) or pass -T time_column=none") from None


def parse(values: Sequence[str], lines: Sequence[int | str], name: str, column: str) -> TimeIndex:
    """A :class:`TimeIndex` of one series' time ``values`` (``lines``: where each came from, for errors);
    raises :class:`SeqkitError` naming the line of a duplicate, a step back, a gap or a mixed format."""
    if not values:
        raise SeqkitError(f"{name}: no rows to read times from")
    parsed = [_ordinal(v, f"{name} line {line}", column) for v, line in zip(values, lines)]
    kinds = {k for k, _ in parsed}
    if len(kinds) > 1:
        first = next(i for i, (k, _) in enumerate(parsed) if k != parsed[0][0])
        raise SeqkitError(f"{name} line {lines[first]}: time {values[first]!r} is written unlike {values[0]!r} on "
                          f"line {lines[0]}; write every time of column {column!r} the same way")
    kind = parsed[0][0]
    text = str(values[0]).strip()
    if kind == "int":
        ordinals, unit, style = np.array([v for _, v in parsed], dtype=np.int64), "int", "int"
    else:
        stamps = np.array([v for _, v in parsed]).astype("datetime64[s]")
        months = stamps.astype("datetime64[M]")
        starts = (months.astype("datetime64[s]") == stamps).all()
        ends = ((stamps + np.timedelta64(1, "D")).astype("datetime64[M]").astype("datetime64[s]")
                == stamps + np.timedelta64(1, "D")).all()
        if kind == "quarter" or starts or ends:
            ordinals, unit = months.astype(np.int64), "M"
            style = ("quarter" if kind == "quarter" else "year" if len(text) == 4 else "month" if len(text) == 7
                     else "date" if starts else "month_end")
        else:
            ordinals, unit = stamps.astype(np.int64), "s"
            style = "date" if (stamps.astype("datetime64[D]").astype("datetime64[s]") == stamps).all() else "datetime"
    diffs = np.diff(ordinals)
    positive = diffs[diffs > 0]
    step = int(np.bincount(positive - positive.min()).argmax() + positive.min()) if positive.size else 1
    freq = Frequency(unit, step, style)
    bad = np.flatnonzero(diffs != step)
    if bad.size:
        i = int(bad[0]) + 1
        here, there = f"{name} line {lines[i]}", f"line {lines[i - 1]}"
        if diffs[i - 1] == 0:
            raise SeqkitError(f"{here}: time {values[i]!r} repeats {there}'s; each time may appear once per series "
                              f"(drop or merge the duplicate)")
        if diffs[i - 1] < 0:
            raise SeqkitError(f"{here}: time {values[i]!r} comes before {values[i - 1]!r} on {there}; sort the rows "
                              f"by time")
        if diffs[i - 1] % step == 0:
            missing = int(diffs[i - 1] // step) - 1
            raise SeqkitError(f"{here}: a gap: {values[i]!r} follows {values[i - 1]!r} on {there}, {missing} "
                              f"step(s) missing (the series is {freq.name()}); fill the missing rows (or pass "
                              f"-T time_column=none to forecast by row number)")
        raise SeqkitError(f"{here}: time {values[i]!r} is {int(diffs[i - 1])} {unit} after {there}, the series is "
                          f"{freq.name()}; make the times regular (or pass -T time_column=none)")
    return TimeIndex(ordinals, freq)
