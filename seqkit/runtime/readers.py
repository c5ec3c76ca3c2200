"""Files of raw samples for ``seqkit predict`` and :func:`read_samples`: what fits each model, torch-free.

=====================  ===================================================================================
INPUT                  samples
=====================  ===================================================================================
``.txt``               one text per non-empty line (a model with a tokenizer)
``.csv`` / ``.tsv``    a model with a tokenizer: one text per row, column ``text`` (or the task's
                       ``text_column``); a model that records ``columns`` (forecasting): ONE series, a row
                       per step, its last ``lookback`` rows (many with ``id_column``; with covariates: the
                       last observed rows, and the future rows after them, seqkit.runtime.covariates; with
                       ``series_ids`` each series' index as ``series_id``, a file without the id column being
                       the series its stem names); else one sample per row, each cell a JSON value
``.jsonl`` / ``.json`` one sample per line (JSON Lines) or a JSON list: a text, a list of tokens or ids, a
                       nested list of numbers, a WAV path, or an object ``{"text" | input name: value}``
``.npz`` / ``.npy``    ``[items, time, ...]`` under the input's name (or the only array, or ``X``/``frames``/
                       ``clips``/``series``), cut to an optional ``lengths [items]``
a folder / ``.wav``    every ``*.wav`` below it, sorted (a model with a speech front end)
=====================  ===================================================================================

Each sample comes with where it came from ("texts.csv line 4"), so an error names the file and the line.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from seqkit.errors import InputError, SeqkitError

ARRAY_KEYS = ("X", "frames", "clips", "series", "features")


def read_samples(path: str | Path, model) -> tuple[list[Any], list[str]]:
    """``(samples, sources)`` from ``path`` for ``model`` (a :class:`seqkit.runtime.Model`); see the table above."""
    p = Path(path)
    if not p.exists():
        raise SeqkitError(f"input {p} does not exist")
    if p.is_dir():
        return _wav_folder(p, model)
    suffix = p.suffix.lower()
    if p.stat().st_size == 0:
        raise SeqkitError(f"input {p} is empty")
    if suffix == ".wav":
        return [str(p)], [str(p)]
    if suffix in (".npz", ".npy"):
        return _arrays(p, model)
    try:
        if suffix == ".txt":
            return _texts(p, model)
        if suffix in (".csv", ".tsv"):
            return _table(p, model)
        if suffix in (".jsonl", ".ndjson", ".json"):
            return _json(p, model)
    except UnicodeDecodeError as exc:
        raise SeqkitError(f"{p} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    raise SeqkitError(f"{p}: unsupported input type {suffix or '(none)'}; use .txt, .csv, .tsv, .jsonl, .json, .npz, "
                      f".npy, .wav or a folder of WAV files")


def _wav_folder(root: Path, model) -> tuple[list, list]:
    if model.encoder.front_end is None:
        raise SeqkitError(f"{root} is a folder, but this model has no audio front end; give a file of samples")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
    if not files:
        raise SeqkitError(f"{root}: no .wav files found in it or its subfolders")
    return [str(f) for f in files], [str(f) for f in files]


def _texts(p: Path, model) -> tuple[list, list]:
    if not model.encoder.tokenizer.takes_text:
        raise SeqkitError(f"{p}: a text file, but this model takes {model.describe_sample()}; use .jsonl or .npz")
    samples, sources = [], []
    with open(p, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                samples.append(line.rstrip("\n"))
                sources.append(f"{p} line {number}")
    if not samples:
        raise SeqkitError(f"{p} holds no text; write one text per line")
    return samples, sources


def _table(p: Path, model) -> tuple[list, list]:
    with open(p, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t" if p.suffix.lower() == ".tsv" else ",")
        header = reader.fieldnames or []
        rows = [(reader.line_num, row) for row in reader]
    if not rows:
        raise SeqkitError(f"{p} has no data rows under its header")
    meta = model.task_metadata
    if model.encoder.tokenizer.takes_text:
        column = model.task_config.get("text_column") or "text"
        column = column if column in header else ("text" if "text" in header else None)
        if column is None:
            raise SeqkitError(f"{p}: no column 'text' in the header ({', '.join(header)}); name the text column "
                              f"'text'")
        for line, row in rows:
            if not (row.get(column) or "").strip():
                raise InputError(f"{p} line {line}: column '{column}' is empty; fill it or drop the row")
        return [row[column] for _, row in rows], [f"{p} line {line}" for line, _ in rows]
    if meta.get("columns"):  # forecasting: one series a row per step, or many (long format, id_column)
        columns = [c for c in meta["columns"] if c in header]
        if len(columns) != len(meta["columns"]):
            missing = [c for c in meta["columns"] if c not in header]
            raise SeqkitError(f"{p}: no column {', '.join(map(repr, missing))} in the header ({', '.join(header)}); "
                              f"the model forecasts {', '.join(meta['columns'])}")
        samples, sources = [], []
        for key, group in _series_groups(p, rows, header, meta).items():
            if meta.get("covariates"):  # the observed rows, then the future rows (seqkit.runtime.covariates)
                from seqkit.runtime.covariates import covariate_sample

                label = f"{p} series {key!r}" if meta.get("id_column") else str(p)
                sample, source = covariate_sample(p, group, header, meta, label)
                if "series_ids" in meta:
                    sample["series_id"] = _series_id(p, key or p.stem, meta["series_ids"])
                samples.append(sample)
                sources.append(source)
                continue
            lookback = int(meta.get("lookback") or len(group))
            group = group[-lookback:]
            values = np.empty((len(group), len(columns)), dtype=np.float64)
            for i, (line, row) in enumerate(group):
                for j, c in enumerate(columns):
                    try:
                        values[i, j] = float(row[c])
                    except (TypeError, ValueError):
                        raise InputError(f"{p} line {line}: column {c!r} is {row[c]!r}, not a number") from None
            samples.append(values if "series_ids" not in meta else
                           {"series": values, "series_id": _series_id(p, key or p.stem, meta["series_ids"])})
            series = f" series {key!r}" if meta.get("id_column") else ""
            sources.append(f"{p}{series} lines {group[0][0]}-{group[-1][0]} (the last {len(group)} steps)")
        return samples, sources
    samples, sources = [], []
    for line, row in rows:
        sample = {k: _json_cell(v, p, line, k) for k, v in row.items() if k is not None}
        samples.append(sample if len(sample) > 1 else next(iter(sample.values())))
        sources.append(f"{p} line {line}")
    return samples, sources


def _series_id(p: Path, key: str, known: list) -> np.ndarray:
    """The ``series_id`` input of a model with a learnt series embedding: the series' index in its training ids."""
    if key not in known:
        raise SeqkitError(f"{p}: series {key!r} was not in the model's training data, so its series embedding has "
                          f"no vector for it (it knows {', '.join(map(repr, known[:8]))}"
                          f"{', ...' if len(known) > 8 else ''}); forecast new series with a model trained "
                          f"without -T series_embedding")
    return np.asarray(known.index(key), dtype=np.int64)


def _series_groups(p: Path, rows: list, header: list, meta: dict) -> dict[str, list]:
    """The rows of each series (a model trained on many records its ``id_column``), in file order."""
    id_column = meta.get("id_column")
    if not id_column:
        return {"": rows}
    if id_column not in header:
        raise SeqkitError(f"{p}: no column {id_column!r} in the header ({', '.join(header)}); the model forecasts "
                          f"each series named in it (long format)")
    groups: dict[str, list] = {}
    for line, row in rows:
        groups.setdefault(str(row[id_column]), []).append((line, row))
    return groups


def forecast_times(path: str | Path, model) -> list[list[str]] | None:
    """The timestamps each forecast of :func:`read_samples` (``path``, a forecasting model's CSV) is for: the
    ``horizon`` times after the file's last, by the frequency the model recorded; None when the model or the file
    has no time column. A gap or duplicate in the file's times is an error naming the line."""
    from seqkit.runtime.times import Frequency, parse

    meta = model.task_metadata
    time = meta.get("time") or {}
    p = Path(path)
    if not time.get("column") or p.is_dir() or p.suffix.lower() not in (".csv", ".tsv"):
        return None
    with open(p, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t" if p.suffix.lower() == ".tsv" else ",")
        header = list(reader.fieldnames or [])
        if time["column"] not in header:
            return None
        rows = [(reader.line_num, row) for row in reader]
    recorded = Frequency.from_dict(time)
    out = []
    for key, group in _series_groups(p, rows, header, meta).items():
        if meta.get("covariates"):  # the steps after the observed rows (the future rows hold covariates)
            from seqkit.runtime.covariates import observed_count

            group = group[:observed_count(group, meta["columns"])] or group
        name = f"{p} (series {key!r})" if key else str(p)
        index = parse([r[time["column"]] for _, r in group], [line for line, _ in group], name, time["column"])
        if (index.freq.unit, index.freq.step) != (recorded.unit, recorded.step) and len(group) > 1:
            raise SeqkitError(f"{name}: its times are {index.freq.name()}, the model was trained on a series "
                              f"{recorded.name()}; give the model data of its own frequency")
        index.freq = Frequency(recorded.unit, recorded.step, recorded.style if len(group) == 1 else index.freq.style)
        out.append(index.after(int(meta.get("horizon") or 1)))
    return out


def _json_cell(value: str, p: Path, line: int, column: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        raise InputError(f"{p} line {line}: column {column!r} is not a JSON value ({str(value)[:30]!r})") from None


def _json(p: Path, model) -> tuple[list, list]:
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise SeqkitError(f"{p}: not valid JSON ({exc}); give a list of samples") from None
        if not isinstance(data, list):
            raise SeqkitError(f"{p}: a JSON {type(data).__name__}; give a list of samples (or use .jsonl)")
        rows = [(f"{p} item {i}", v) for i, v in enumerate(data)]
    else:
        rows = []
        with open(p, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rows.append((f"{p} line {number}", json.loads(line)))
                except ValueError as exc:
                    raise InputError(f"{p} line {number}: not valid JSON ({exc.msg}); write one sample per "
                                     f"line") from None
    if not rows:
        raise SeqkitError(f"{p} holds no samples")
    names = {s.name for s in model.encoder.specs}
    samples = []
    for where, value in rows:
        if isinstance(value, dict) and not set(value) & names:
            keys = [k for k in ("text", "tokens", "path", "wav") if k in value]
            if not keys:
                raise InputError(f"{where}: keys {sorted(value)}; give 'text' or {', '.join(map(repr, sorted(names)))}")
            value = value[keys[0]]
        elif isinstance(value, dict) and len(names) == 1:
            value = value[next(iter(names))]
        samples.append(value)
    return samples, [w for w, _ in rows]


def _arrays(p: Path, model) -> tuple[list, list]:
    try:
        if p.suffix.lower() == ".npy":
            arrays = {"X": np.load(p, allow_pickle=False)}
        else:
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # several numpy/zipfile error types
        raise SeqkitError(f"{p} is not a readable numpy file without pickle ({type(exc).__name__}); save it with "
                          f"numpy.savez") from None
    spec = model.encoder.main
    if len(model.encoder.specs) > 1:
        missing = [s.name for s in model.encoder.specs if s.name not in arrays]
        if missing:
            raise SeqkitError(f"{p}: no array {missing[0]!r}; the model takes {model.describe_sample()}")
    key = next((k for k in (spec.name, *ARRAY_KEYS) if k in arrays), None)
    others = [k for k in arrays if k != "lengths"]
    if key is None and len(others) == 1:
        key = others[0]
    if key is None:
        raise SeqkitError(f"{p}: cannot tell which array holds the samples ({', '.join(arrays)}); name it "
                          f"{spec.name!r}")
    x = arrays[key]
    if x.ndim < 2:
        raise SeqkitError(f"{p}: array {key!r} has shape {list(x.shape)}; give [items, time, ...]")
    lengths = arrays.get("lengths")
    if lengths is not None:
        if lengths.shape != (len(x),) or not np.issubdtype(lengths.dtype, np.integer):
            raise SeqkitError(f"{p}: lengths must be integers [items] ({len(x)}), got {lengths.dtype} "
                              f"{list(lengths.shape)}")
        bad = np.flatnonzero((lengths < 1) | (lengths > x.shape[1]))
        if bad.size:
            raise InputError(f"{p} item {int(bad[0])}: length {int(lengths[bad[0]])} is outside 1..{x.shape[1]} "
                             f"(time)")
    cut = [x[i, :int(lengths[i])] if lengths is not None else x[i] for i in range(len(x))]
    if len(model.encoder.specs) > 1:
        samples = [{s.name: (arrays[s.name][i, :int(lengths[i])] if lengths is not None and s.axis("time") == 1
                             else arrays[s.name][i]) for s in model.encoder.specs} for i in range(len(x))]
    else:
        samples = cut
    return samples, [f"{p} item {i}" for i in range(len(x))]
