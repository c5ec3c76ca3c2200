"""One check of a file against a reference (:class:`Check`) and how two arrays are compared (:func:`compare`):
shared by verification (:mod:`seqkit.onnx.verify`) and the chunk-by-chunk proof (:mod:`seqkit.onnx.streaming`),
which imports them from here, not from verify (verify uses streaming's proof on a streaming file)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Check:
    batch: int
    time: int
    output: str
    max_abs: float
    max_rel: float
    ok: bool
    note: str = ""
    #: what ran the file: "onnxruntime", or "reference" (onnx.reference.ReferenceEvaluator)
    runtime: str = "onnxruntime"


def compare(ours: np.ndarray, ref: np.ndarray, atol: float, rtol: float, against: str = "torch",
             ) -> tuple[float, float, bool, str]:
    """Largest absolute and relative difference of ``ours`` from ``ref``, whether every value is within
    ``atol + rtol * |ref|``, and a note on a mismatch (``against`` names what ``ref`` came from)."""
    if ours.shape != ref.shape:
        return float("inf"), float("inf"), False, f"(shape {ours.shape} vs {against} {ref.shape})"
    if not np.all(np.isfinite(ours)):
        return float("inf"), float("inf"), False, "(non-finite values)"
    diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
    scale = np.abs(ref.astype(np.float64))
    max_abs = float(diff.max()) if diff.size else 0.0
    significant = scale > atol
    max_rel = float((diff[significant] / scale[significant]).max()) if significant.any() else 0.0
    ok = bool(np.all(diff <= atol + rtol * scale))
    return max_abs, max_rel, ok, ""
