"""Greedy CTC decoding and error rates, in numpy only (no torch): used by the ``speech-to-text`` task's
evaluation and by anything that serves its exported file.

A CTC model emits, per frame, scores over ``blank`` plus the symbols of an alphabet. Greedy (best path)
decoding takes the best symbol of every frame, merges repeats and drops blanks: frames ``a a - a b b -`` read
``aab``. A blank between two equal symbols keeps both; without it they merge.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def best_path(scores: np.ndarray, length: int | None = None, blank: int = 0) -> list[int]:
    """Symbol ids of the greedy path through ``scores`` ``[time, symbols]`` (first ``length`` frames): the best
    id per frame, repeats merged, blanks removed."""
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be [time, symbols], got shape {list(scores.shape)}")
    ids = scores[: scores.shape[0] if length is None else int(length)].argmax(axis=-1)
    if ids.size == 0:
        return []
    keep = np.ones(ids.shape, dtype=bool)
    keep[1:] = ids[1:] != ids[:-1]
    return [int(i) for i in ids[keep & (ids != blank)]]


def greedy_decode(scores: np.ndarray, lengths: Sequence[int] | None = None, alphabet: Sequence[str] = (),
                  blank: int = 0) -> list[str]:
    """Transcriptions of a batch: ``scores`` ``[batch, time, symbols]`` (log-probabilities or logits: only the
    argmax matters), ``lengths`` valid frames per item (None: all), ``alphabet[i - 1]`` the text of symbol ``i``
    (symbols after the blank, which is id 0). Leading, trailing and repeated spaces are collapsed."""
    scores = np.asarray(scores)
    if scores.ndim != 3:
        raise ValueError(f"scores must be [batch, time, symbols], got shape {list(scores.shape)}")
    if len(alphabet) + 1 != scores.shape[-1]:
        raise ValueError(f"{scores.shape[-1]} symbols per frame, but the alphabet has {len(alphabet)} + blank")
    if blank != 0:
        raise ValueError("the alphabet maps symbols 1.. to text; the blank must be id 0")
    texts = []
    for b in range(scores.shape[0]):
        ids = best_path(scores[b], None if lengths is None else lengths[b], blank)
        texts.append(" ".join("".join(alphabet[i - 1] for i in ids).split()))
    return texts


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance (substitutions, insertions, deletions; each costs 1) between two sequences."""
    if len(ref) < len(hyp):
        ref, hyp = hyp, ref
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def error_rate(ref: Sequence, hyp: Sequence) -> float:
    """``edit_distance(ref, hyp) / len(ref)``; for an empty reference 0.0 if ``hyp`` is empty, else 1.0."""
    if not len(ref):
        return 0.0 if not len(hyp) else 1.0
    return edit_distance(ref, hyp) / len(ref)


def cer(ref: str, hyp: str) -> float:
    """Character error rate of one transcription (spaces count as characters)."""
    return error_rate(ref, hyp)


def wer(ref: str, hyp: str) -> float:
    """Word error rate of one transcription (words split on whitespace)."""
    return error_rate(ref.split(), hyp.split())
