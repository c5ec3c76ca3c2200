"""Readers for users' files, with errors that name the file and row, and padding into a batch.

Readers return plain Python/numpy values; tasks turn them into samples. Every problem a user can cause raises
:class:`SeqkitError` with one line naming the file and the line or item, and what to do about it.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqkit.errors import SeqkitError

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")
ARRAY_SUFFIXES = (".npz", ".npy")


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise SeqkitError(f"data file {p} does not exist; give a path to a file or a built-in dataset name")
    if p.is_dir():
        raise SeqkitError(f"{p} is a directory; give a data file ({', '.join(TABLE_SUFFIXES + ARRAY_SUFFIXES)})")
    if p.stat().st_size == 0:
        raise SeqkitError(f"{p} is empty; it needs a header and at least one row")
    return p


def read_table(path: str | Path, columns: Sequence[str] = ()) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a CSV/TSV (header line) or JSON Lines file as ``(line number, {column: value})``.

    Every name in ``columns`` must be present (and non-empty) in every row.
    """
    p = _existing(path)
    suffix = p.suffix.lower()
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        if suffix in (".csv", ".tsv"):
            with open(p, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")
                header = reader.fieldnames or []
                missing = [c for c in columns if c not in header]
                if missing:
                    raise SeqkitError(f"{p}: no column {', '.join(map(repr, missing))} in the header (columns: "
                                      f"{', '.join(header) or 'none'}); name the right one in the task options")
                for row in reader:
                    rows.append((reader.line_num, row))
        elif suffix in (".jsonl", ".ndjson"):
            with open(p, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except ValueError as exc:
                        raise SeqkitError(f"{p} line {number}: not valid JSON ({exc.msg}); write one object per "
                                          f"line") from None
                    if not isinstance(row, dict):
                        raise SeqkitError(f"{p} line {number}: expected a JSON object, got {type(row).__name__}")
                    rows.append((number, row))
        else:
            raise SeqkitError(f"{p}: unsupported file type {suffix or '(none)'}; use "
                              f"{', '.join(TABLE_SUFFIXES)} for tables or .npz for arrays")
    except UnicodeDecodeError as exc:
        raise SeqkitError(f"{p} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if not rows:
        raise SeqkitError(f"{p} has no data rows; add at least one")
    for number, row in rows:
        for c in columns:
            value = row.get(c)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise SeqkitError(f"{p} line {number}: column {c!r} is missing or empty; fill it or drop the row")
    return rows


def read_arrays(path: str | Path, required: Sequence[str] = (), optional: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """Arrays of a ``.npz`` (by key) or a ``.npy`` (key ``X``), without pickle; ``required`` keys must exist."""
    p = _existing(path)
    try:
        if p.suffix.lower() == ".npy":
            arrays = {"X": np.load(p, allow_pickle=False)}
        elif p.suffix.lower() == ".npz":
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        else:
            raise SeqkitError(f"{p}: unsupported file type {p.suffix or '(none)'}; use .npz (or .npy)")
    except SeqkitError:
        raise
    except ValueError as exc:
        raise SeqkitError(f"{p}: cannot read it without pickle ({exc}); save plain numeric/str arrays") from None
    except Exception as exc:  # zipfile/format errors of several types
        raise SeqkitError(f"{p} is not a readable numpy file ({type(exc).__name__}); write it with "
                          f"numpy.savez") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise SeqkitError(f"{p}: no array {', '.join(map(repr, missing))} (has: {', '.join(arrays) or 'none'}); "
                          f"save it with numpy.savez(path, {', '.join(f'{k}=...' for k in required)})")
    return {k: v for k, v in arrays.items() if k in (*required, *optional)} if (required or optional) else arrays


def pad(sequences: Sequence[np.ndarray], dtype: torch.dtype, value: float = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``[batch, max_time, ...]`` tensor of ``sequences`` (each ``[time, ...]``) padded with ``value``, and lengths."""
    lengths = [len(s) for s in sequences]
    first = np.asarray(sequences[0])
    out = np.full((len(sequences), max(lengths), *first.shape[1:]), value, dtype=np.float64 if dtype.is_floating_point
                  else np.int64)
    for i, s in enumerate(sequences):
        out[i, :lengths[i]] = s
    return torch.from_numpy(out).to(dtype), torch.tensor(lengths, dtype=torch.int64)
