"""Raw samples -> padded batches, from what an exported file says about itself.

A *sample* is what one sequence looks like to a user: a text or a list of tokens (a model with a vocabulary), a
list of token ids, an array ``[time, ...]`` of numbers, or the path of a WAV file (a model with a speech front
end). A model with several sequence inputs takes a dict ``{input name: value}`` per sample. :class:`Encoder`
turns one sample into one array per input (checked: dtype, rank, fixed dims, finite, ids in range, at least one
step), and :func:`pad_batch` stacks samples into feeds with ``lengths``.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seqkit.errors import InputError
from seqkit.runtime.audio import FrontEnd, wav_features
from seqkit.runtime.checks import DTYPES, Spec, convert

AUDIO_SUFFIXES = (".wav",)


class Tokenizer:
    """The tokenizer and vocabulary an exported file records: text or token strings -> ids."""

    def __init__(self, meta: dict, task_config: dict):
        tok = meta.get("tokenizer") or {}
        self.kind = tok.get("kind")  # "word" | "char" | None: no text, only token lists
        self.lowercase = bool(tok.get("lowercase", self.kind == "word"))
        self.pattern = re.compile(tok["pattern"]) if tok.get("pattern") else None
        self.padding_id = int(tok.get("padding_id", meta.get("padding_id", 0)))
        self.unknown_id = int(tok.get("unknown_id", meta.get("unknown_id", 1)))
        self.max_length = int(tok.get("max_length") or 0)
        vocab = meta.get("vocab") or task_config.get("vocab") or []
        self.ids = {str(w): i + 2 for i, w in enumerate(vocab)}  # ids 0 and 1: padding and unknown

    @property
    def takes_text(self) -> bool:
        return self.kind in ("word", "char") and bool(self.ids)

    def tokens(self, text: str) -> list[str]:
        text = text.lower() if self.lowercase else text
        if self.kind == "char":
            return list(text)
        return self.pattern.findall(text) if self.pattern else text.split()

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.ids.get(t, self.unknown_id) for t in tokens]


class Encoder:
    """One raw sample -> ``{input name: array [time, ...] or [...]}``, each checked against the model's specs."""

    def __init__(self, inputs: Sequence[Spec], task_metadata: dict, task_config: dict):
        self.specs = [s for s in inputs if s.kind not in ("lengths", "state")]
        self.lengths = next((s for s in inputs if s.kind == "lengths"), None)
        self.tokenizer = Tokenizer(task_metadata, task_config)
        fe = task_metadata.get("front_end")
        self.front_end = FrontEnd.from_metadata(fe) if isinstance(fe, dict) else None

    @property
    def main(self) -> Spec:
        return self.specs[0]

    def describe(self) -> str:
        """What a sample of this model is, in words (for error messages and --help)."""
        spec = self.main
        if len(self.specs) > 1:
            return "a dict {" + ", ".join(f"'{s.name}': ..." for s in self.specs) + "}"
        if spec.kind == "ids":
            forms = ["a list of token ids"]
            if self.tokenizer.ids:
                forms.insert(0, "a list of token strings")
            if self.tokenizer.takes_text:
                forms.insert(0, "a text")
            return " or ".join(forms)
        step = [a for a in spec.shape[2:]]
        what = f"an array [time, {', '.join(map(str, step))}]" if step else "an array [time]"
        return what + (" or the path of a WAV file" if self.front_end else "")

    def __call__(self, sample: Any, where: str) -> dict[str, np.ndarray]:
        if len(self.specs) == 1 and not (isinstance(sample, dict) and self.main.name in sample):
            values = {self.main.name: sample}
        elif isinstance(sample, dict):
            values = sample
            missing = [s.name for s in self.specs if s.name not in values]
            extra = sorted(set(values) - {s.name for s in self.specs})
            if missing or extra:
                raise InputError(f"{where}: keys {sorted(values)}, the model takes {self.describe()}")
        else:
            raise InputError(f"{where}: a {type(sample).__name__}; the model takes {self.describe()}")
        return {s.name: self._one(s, values[s.name], where) for s in self.specs}

    def _one(self, spec: Spec, value: Any, where: str) -> np.ndarray:
        timed = spec.axis("time") == 1
        if spec.kind == "ids":
            arr = self._ids(spec, value, where)
        elif isinstance(value, (str, Path)):
            arr = self._wav(spec, value, where)
        elif isinstance(value, np.ndarray):
            arr = value
        else:  # Python lists: numbers as written (ints are exact in float64)
            try:
                arr = np.asarray(value, dtype=np.float64 if spec.dtype == "float32" else None)
            except (TypeError, ValueError):
                raise InputError(f"{where}: input '{spec.name}' is not a regular array of numbers "
                                 f"(ragged or not numeric); the model takes {spec.pretty()}") from None
        try:
            arr = convert(spec.name, arr, spec)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        want = spec.shape[1:]  # one sample: without the batch axis
        if arr.ndim != len(want):
            raise InputError(f"{where}: input '{spec.name}' has shape {list(arr.shape)}; one sample is "
                             f"[{', '.join(map(str, want))}] (the model takes {spec.pretty()})")
        for i, (w, got) in enumerate(zip(want, arr.shape)):
            if isinstance(w, int) and got != w:
                raise InputError(f"{where}: input '{spec.name}' has shape {list(arr.shape)}; axis {i} must be {w} "
                                 f"(one sample is [{', '.join(map(str, want))}])")
        if timed and arr.shape[0] == 0:
            raise InputError(f"{where}: input '{spec.name}' has no steps (time 0); a sample needs at least one")
        if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
            idx = [int(i) for i in np.argwhere(~np.isfinite(arr))[0]]
            original = np.asarray(value) if not isinstance(value, (str, Path)) else arr
            fits = original.dtype == np.float64 and np.isfinite(original[tuple(idx)])
            raise InputError(f"{where}: input '{spec.name}' value {arr[tuple(idx)]} at index {idx} "
                             f"{'does not fit float32' if fits else 'is not finite'}; clean or drop that sample")
        if spec.kind == "ids" and spec.high is not None:
            bad = np.flatnonzero((arr < 0) | (arr >= spec.high))
            if bad.size:
                raise InputError(f"{where}: input '{spec.name}' step {int(bad[0])}: token id {int(arr[bad[0]])} is "
                                 f"outside 0..{spec.high - 1} (the model's {spec.high} ids)")
        return arr

    def _ids(self, spec: Spec, value: Any, where: str) -> np.ndarray:
        tok = self.tokenizer
        if isinstance(value, str):
            if not tok.takes_text:
                raise InputError(f"{where}: a text, but this model records no tokenizer and vocabulary; give "
                                 f"{self.describe()}")
            ids = tok.encode(tok.tokens(value))
            if not ids:
                raise InputError(f"{where}: text {value[:40]!r} has no tokens; drop it or fix the text")
            return np.asarray(ids[:tok.max_length] if tok.max_length else ids, dtype=np.int64)
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            if not tok.ids:
                raise InputError(f"{where}: token strings, but this model records no vocabulary; give token ids")
            return np.asarray(tok.encode(value), dtype=np.int64)
        if isinstance(value, (list, tuple)):
            if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in value):
                raise InputError(f"{where}: input '{spec.name}' holds {self._kinds(value)}; give "
                                 f"{self.describe()}")
            return np.asarray(value, dtype=np.int64)
        if isinstance(value, np.ndarray):
            return value
        raise InputError(f"{where}: a {type(value).__name__}; the model takes {self.describe()}")

    @staticmethod
    def _kinds(value) -> str:
        kinds = sorted({type(v).__name__ for v in value})
        return " and ".join(kinds) + " values"

    def _wav(self, spec: Spec, value: str | Path, where: str) -> np.ndarray:
        path = Path(value)
        if self.front_end is None:
            raise InputError(f"{where}: a path ({path}), but this model has no audio front end; give "
                             f"{self.describe()}")
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            raise InputError(f"{where}: {path} is not a .wav file; the front end reads PCM WAV")
        if not path.is_file():
            raise InputError(f"{where}: {path} does not exist")
        try:
            return wav_features(path, self.front_end)
        except InputError:
            raise
        except Exception as exc:  # SeqkitError from the reader: keep its message, say which sample
            message = str(exc)
            raise InputError(message if where == str(path) else f"{where}: {message}") from None


def pad_batch(encoded: Sequence[dict[str, np.ndarray]], specs: Sequence[Spec], lengths: Spec | None,
              padding_id: int = 0) -> dict[str, np.ndarray]:
    """Feeds for one batch: sequence inputs padded along time (ids with ``padding_id``, numbers with 0),
    per-sample inputs stacked, and ``lengths`` when the model takes it."""
    feeds: dict[str, np.ndarray] = {}
    steps = None
    for spec in specs:
        arrays = [e[spec.name] for e in encoded]
        if spec.axis("time") == 1:
            n = np.array([len(a) for a in arrays], dtype=np.int64)
            if steps is not None and not np.array_equal(n, steps):
                b = int(np.flatnonzero(n != steps)[0])
                raise InputError(f"sample {b}: its inputs have different numbers of steps ({int(steps[b])} and "
                                 f"{int(n[b])}); give them the same length")
            steps = n
            fill = padding_id if spec.kind == "ids" else 0
            out = np.full((len(arrays), int(n.max()), *arrays[0].shape[1:]), fill, dtype=DTYPES[spec.dtype])
            for i, a in enumerate(arrays):
                out[i, :len(a)] = a
            feeds[spec.name] = out
        else:
            feeds[spec.name] = np.stack(arrays)
    if lengths is not None:
        if steps is None:
            raise InputError("the model takes lengths but no input has a time axis")
        feeds[lengths.name] = steps
    return feeds
