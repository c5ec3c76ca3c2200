"""Sentence pairs for translation: reading (Tatoeba's tab-separated export, TSV/CSV/JSONL), vocabularies and the
seeded split that holds out whole source sentences (every translation of a repeated sentence on one side)."""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np

from seqkit.errors import SeqkitError
from seqkit.runtime.translate import BOS, EOS, SPECIALS, UNK, target_tokens, words

#: share of malformed lines (fewer than two columns) skipped before a file is refused
MAX_BAD = 0.01
FORMATS = ".txt/.tsv (source<TAB>target[<TAB>attribution], Tatoeba's format), .csv or .jsonl"


def read_pairs(path: Path, source_column: str = "source", target_column: str = "target") -> list[tuple[str, str]]:
    """``[(source, target)]`` from ``path``; an error naming the file and line for a bad row."""
    if not path.is_file():
        raise SeqkitError(f"{path} is not a file; give sentence pairs as {FORMATS}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SeqkitError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    suffix = path.suffix.lower()
    pairs = []
    if suffix == ".jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SeqkitError(f"{path} line {n}: not JSON ({exc.msg})") from None
            if isinstance(row, dict) and source_column in row and target_column in row:
                pairs.append((row[source_column], row[target_column]))
            elif isinstance(row, list) and len(row) >= 2:
                pairs.append((row[0], row[1]))
            else:
                raise SeqkitError(f"{path} line {n}: expected {{\"{source_column}\": .., \"{target_column}\": ..}} or "
                                  f"[source, target]")
            if not all(isinstance(p, str) for p in pairs[-1]):
                raise SeqkitError(f"{path} line {n}: source and target must be text")
    else:
        delimiter = "," if suffix == ".csv" else "\t"
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if delimiter == ","
                               else csv.QUOTE_NONE))
        start = 0
        if suffix == ".csv" and rows and source_column in rows[0] and target_column in rows[0]:
            cols = (rows[0].index(source_column), rows[0].index(target_column))
            start = 1
        else:
            cols = (0, 1)
        bad = []
        for n, row in enumerate(rows[start:], start + 1):
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) <= max(cols):
                bad.append((n, len(row)))
                continue
            pairs.append((row[cols[0]], row[cols[1]]))
        if bad and len(bad) > MAX_BAD * (len(pairs) + len(bad)):  # a stray line (Tatoeba's file has one) is skipped
            sep = "comma" if delimiter == "," else "tab"
            raise SeqkitError(f"{path} line {bad[0][0]}: expected source{delimiter!r}target (two {sep}-separated "
                              f"columns), got {bad[0][1]} column(s) ({len(bad)} such lines); give {FORMATS}")
    pairs = [(s.strip(), t.strip()) for s, t in pairs if s.strip() and t.strip()]
    if not pairs:
        raise SeqkitError(f"{path} holds no sentence pairs; give {FORMATS}")
    return pairs


def source_key(text: str) -> str:
    """What makes two source sentences "the same" for the split: their lowercased words."""
    return " ".join(words(text))


def split_pairs(pairs: list[tuple[str, str]], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(kept, held)`` indices: a seeded ``fraction`` of the distinct source sentences held out, each with every
    one of its translations."""
    keys = sorted({source_key(s) for s, _ in pairs})
    order = np.random.default_rng(seed).permutation(len(keys))
    held_keys = {keys[i] for i in order[: int(round(len(keys) * fraction))]}
    held = [i for i, (s, _) in enumerate(pairs) if source_key(s) in held_keys]
    kept = [i for i, (s, _) in enumerate(pairs) if source_key(s) not in held_keys]
    return kept, held


def build_vocab(token_lists, min_count: int, specials: list[str]) -> list[str]:
    counts = Counter(tok for tokens in token_lists for tok in tokens)
    return specials + sorted(t for t, n in counts.items() if n >= min_count and t not in specials)


class Pairs:
    """Sentence pairs; item i is ``(source ids, target ids with BOS ... EOS, i)`` under the task's current
    vocabularies (``config.source_vocab`` / ``target_vocab``), so the same object serves before and after fit."""

    def __init__(self, pairs: list[tuple[str, str]], config, name: str):
        self.pairs, self.config, self.name = pairs, config, name
        self._key, self._cache = None, None

    def __len__(self):
        return len(self.pairs)

    def subset(self, indices, name: str) -> Pairs:
        return Pairs([self.pairs[i] for i in indices], self.config, name)

    def source_tokens(self, i: int) -> list[str]:
        return words(self.pairs[i][0])[: self.config.max_source_length]

    def target_tokens(self, i: int) -> list[str]:
        return target_tokens(self.pairs[i][1], self.config.target_tokens)[: self.config.max_target_length]

    def _ids(self):
        key = (tuple(self.config.source_vocab), tuple(self.config.target_vocab))
        if key != self._key:
            src = {w: i for i, w in enumerate(key[0])}
            tgt = {w: i for i, w in enumerate(key[1])}
            self._cache = [
                (np.array([src.get(w, UNK) for w in self.source_tokens(i)] or [UNK], dtype=np.int64),
                 np.array([BOS] + [tgt.get(t, UNK) for t in self.target_tokens(i)] + [EOS], dtype=np.int64), i)
                for i in range(len(self))]
            self._key = key
        return self._cache

    def __getitem__(self, i):
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._ids()[i]

    def references(self) -> tuple[list[str], list[list[str]]]:
        """``(distinct sources in order of first appearance, every reference translation of each)``."""
        refs: dict[str, list[str]] = {}
        first: dict[str, str] = {}
        for s, t in self.pairs:
            key = source_key(s)
            first.setdefault(key, s)
            refs.setdefault(key, []).append(t)
        return [first[k] for k in refs], list(refs.values())


def vocabularies(data: Pairs, min_count: int) -> tuple[list[str], list[str]]:
    src = build_vocab((data.source_tokens(i) for i in range(len(data))), min_count, SPECIALS[:2])
    tgt = build_vocab((data.target_tokens(i) for i in range(len(data))), min_count, SPECIALS)
    return src, tgt
