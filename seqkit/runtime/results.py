"""Model outputs -> readable results, one JSON-ready dict per sample, from the file's own metadata.

- ``logits [batch, K]``: ``label`` (the most probable class name), its ``probability`` and every class's
  ``probabilities`` (softmax);
- ``*logits [batch, time, K]``: one ``tags`` entry per valid step (cut to the sample's length) and each tag's
  probability in ``tag_probabilities``;
- ``log_probs [batch, time, 1 + len(alphabet)]`` with an ``alphabet`` in the metadata (speech-to-text, CTC):
  the greedy transcription ``text`` (:func:`seqkit.runtime.ctc.greedy_decode` over the sample's valid frames);
- ``[batch, horizon, F]`` with ``columns`` in the metadata (forecasting): ``{column: [horizon values]}`` in the
  data's units (the model scales inside); ``[batch, horizon, F, Q]`` with ``quantiles`` too: ``{column:
  {level: [horizon values]}}``; ``distribution [batch, horizon, F, P]`` with ``distribution.parameters``:
  ``{column: {"loc": [...], "scale": [...]}}``;
- anything else: the values as (nested) lists, a single number as a number.

A model with several outputs nests each output's result under its name.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seqkit.runtime.checks import Spec
from seqkit.runtime.ctc import greedy_decode


def softmax(x: np.ndarray) -> np.ndarray:
    z = x.astype(np.float64) - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def class_names(labels: Sequence[str], k: int) -> list[str]:
    """The recorded label names, or "0".."k-1" for a model that was never fitted on labelled data."""
    return [str(v) for v in labels] if len(labels) == k else [str(i) for i in range(k)]


def _one(spec: Spec, value: np.ndarray, length: int | None, labels: Sequence[str], columns: Sequence[str],
         alphabet: Sequence[str] = (), blank: int = 0, quantiles: Sequence[float] = (),
         parameters: Sequence[str] = ()) -> dict:
    shape = spec.shape
    if alphabet and len(shape) == 3 and spec.axis("time") == 1 and value.shape[-1] == len(alphabet) + 1:
        frames = value.shape[0] if length is None else length
        return {"text": greedy_decode(value[None], [frames], alphabet, blank)[0]}
    if spec.name.endswith("logits") and len(shape) == 2:
        names = class_names(labels, value.shape[-1])
        p = softmax(value)
        best = int(p.argmax())
        return {"label": names[best], "probability": float(p[best]),
                "probabilities": {n: float(v) for n, v in zip(names, p)}}
    if spec.name.endswith("logits") and len(shape) == 3 and spec.axis("time") == 1:
        names = class_names(labels, value.shape[-1])
        steps = value[:length] if length is not None else value
        p = softmax(steps)
        best = p.argmax(-1)
        return {"tags": [names[int(i)] for i in best],
                "tag_probabilities": [float(p[t, i]) for t, i in enumerate(best)]}
    if (len(shape) == 4 and columns and quantiles and spec.name != "distribution"
            and value.shape[-2:] == (len(columns), len(quantiles))
            and spec.axis("time") is None):  # forecasting's quantiles [horizon, F, Q]: per column, per level
        return {spec.name: {str(c): {str(q): [float(v) for v in value[:, j, k]] for k, q in enumerate(quantiles)}
                            for j, c in enumerate(columns)}}
    if (spec.name == "distribution" and len(shape) == 4 and columns and parameters
            and value.shape[-2:] == (len(columns), len(parameters))):  # forecasting's loc, scale (, df) per column
        return {spec.name: {str(c): {str(p): [float(v) for v in value[:, j, k]] for k, p in enumerate(parameters)}
                            for j, c in enumerate(columns)}}
    if len(shape) == 3 and columns and len(columns) == value.shape[-1] and spec.axis("time") is None:
        return {spec.name: {str(c): [float(v) for v in value[:, j]] for j, c in enumerate(columns)}}
    if spec.axis("time") == 1 and length is not None:
        value = value[:length]
    if value.size == 1:
        return {spec.name: float(value.reshape(-1)[0]) if value.dtype.kind == "f" else int(value.reshape(-1)[0])}
    return {spec.name: value.tolist()}


def interpret(outputs: Sequence[Spec], values: dict[str, np.ndarray], lengths: np.ndarray | None,
              task_metadata: dict) -> list[dict]:
    """One result dict per sample of a batch (see the module docstring)."""
    labels = task_metadata.get("labels") or []
    columns = task_metadata.get("columns") or []
    alphabet = task_metadata.get("alphabet") or []
    blank = int(task_metadata.get("blank", 0))
    quantiles = task_metadata.get("quantiles") or []
    parameters = (task_metadata.get("distribution") or {}).get("parameters") or []
    specs = [s for s in outputs if s.kind != "state" and s.name in values]
    batch = len(next(iter(values[s.name] for s in specs))) if specs else 0
    results = []
    for b in range(batch):
        length = int(lengths[b]) if lengths is not None else None
        parts = {s.name: _one(s, values[s.name][b], length, labels, columns, alphabet, blank, quantiles, parameters)
                 for s in specs}
        if len(parts) == 1:
            results.append(next(iter(parts.values())))
        else:
            results.append({name: (p[name] if list(p) == [name] else p) for name, p in parts.items()})
    return results
