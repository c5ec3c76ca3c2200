"""A seqkit ONNX file on onnxruntime: metadata, checked runs, batch prediction from raw samples, streams.

    from seqkit.runtime import load

    model = load("bm.onnx")                              # provider="cpu" | "cuda"
    model.predict([x1, x2, x3], batch_size=32)           # [{"label": ..., "probability": ..., ...}, ...]
    model.run({"features": x, "lengths": n})             # checked feeds -> {output name: array}
    stream = load("bm-stream.onnx").stream()             # a file written with --streaming
    stream.push(x[:10]); stream.push(x[10:])             # the state is carried between calls

Only numpy and onnxruntime are imported: this module runs where torch is not installed.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seqkit.errors import InputError, SeqkitError
from seqkit.runtime.checks import DTYPES, Spec, check_feeds, first_bad, sample_name
from seqkit.runtime.encode import Encoder, pad_batch
from seqkit.runtime.results import interpret
from seqkit.runtime.session import open_session

META_PREFIX = "seqkit."


def read_metadata(session) -> dict:
    """seqkit's metadata (``seqkit.*`` keys, JSON values decoded) from an onnxruntime session."""
    meta = {}
    for key, value in session.get_modelmeta().custom_metadata_map.items():
        if key.startswith(META_PREFIX):
            try:
                meta[key[len(META_PREFIX):]] = json.loads(value)
            except ValueError:
                meta[key[len(META_PREFIX):]] = value
    return meta


class Model:
    """An exported seqkit model, ready to serve. Build it with :func:`load`."""

    def __init__(self, path: str, session, metadata: dict):
        self.path, self.session, self.metadata = path, session, metadata
        self.inputs = [Spec.from_dict(d) for d in metadata["inputs"]]
        self.outputs = [Spec.from_dict(d) for d in metadata["outputs"]]
        self.task_metadata: dict = metadata.get("task_metadata") or {}
        config = metadata.get("config") or {}
        self.task_config: dict = config.get("task_config") or {}
        #: {"state": [{"input", "output", "shape", ...}], ...} for a file written with --streaming, else None
        self.streaming: dict | None = metadata.get("streaming")
        self.encoder = Encoder(self.inputs, self.task_metadata, self.task_config)
        self.lengths = self.encoder.lengths
        self._check_graph()

    # -- what the file says ------------------------------------------------------------------------------
    @property
    def task(self) -> str:
        return self.metadata.get("task", "")

    @property
    def cell(self) -> str:
        return self.metadata.get("cell", "")

    @property
    def labels(self) -> list[str]:
        return [str(v) for v in self.task_metadata.get("labels") or []]

    @property
    def provider(self) -> str:
        return self.session.provider

    @property
    def state_inputs(self) -> list[Spec]:
        return [s for s in self.inputs if s.kind == "state"]

    def describe_sample(self) -> str:
        """What one sample of :meth:`predict` is for this model, in words."""
        return self.encoder.describe()

    def __repr__(self) -> str:
        stream = ", streaming" if self.streaming else ""
        return f"<seqkit model {self.path!r}: cell {self.cell!r}, task {self.task!r}, {self.provider}{stream}>"

    def _check_graph(self) -> None:
        sess = self.session.session
        for kind, specs, values in (("inputs", self.inputs, sess.get_inputs()), ("outputs", self.outputs,
                                                                                  sess.get_outputs())):
            names = [v.name for v in values]
            if names != [s.name for s in specs]:
                raise SeqkitError(f"{self.path}: the graph's {kind} {names} differ from its metadata "
                                  f"{[s.name for s in specs]}; the file was changed after 'seqkit export'")

    # -- running ----------------------------------------------------------------------------------------
    def run(self, feeds: dict[str, Any], samples: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Check ``feeds`` against the metadata (see :mod:`seqkit.runtime.checks`), run, and return
        ``{output name: array}``. ``samples`` names the batch entries in errors (default "sample i")."""
        checked = check_feeds(self.inputs, feeds, samples)
        values = self.session.session.run(None, checked)
        for spec, value in zip(self.outputs, values):  # checked inputs of extreme size could still overflow
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                name = sample_name(samples, first_bad(~np.isfinite(value), spec.axis("batch"))[0])
                raise SeqkitError(f"output '{spec.name}' {name}: the model computed a non-finite value (inputs of "
                                  f"extreme size?); no result is returned rather than NaN")
        return {s.name: v for s, v in zip(self.outputs, values)}

    def zero_state(self, batch: int) -> dict[str, np.ndarray]:
        """Zero recurrent state for ``batch`` streams (empty for a file without --streaming)."""
        return {s.name: np.zeros(tuple(batch if a == "batch" else a for a in s.shape), DTYPES[s.dtype])
                for s in self.state_inputs}

    def encode(self, sample: Any, where: str = "sample 0") -> dict[str, np.ndarray]:
        """One raw sample -> one checked array per sequence input (see :mod:`seqkit.runtime.encode`)."""
        return self.encoder(sample, where)

    def batch(self, encoded: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """Feeds (padded, with lengths; zero state for a streaming file) for encoded samples."""
        feeds = pad_batch(encoded, self.encoder.specs, self.lengths, self.encoder.tokenizer.padding_id)
        feeds.update(self.zero_state(len(encoded)))
        return feeds

    def predict(self, samples: Iterable[Any], batch_size: int = 32, sources: Sequence[str] | None = None,
                progress: Callable[[int, int], None] | None = None) -> list[dict]:
        """Readable results (see :mod:`seqkit.runtime.results`) for raw ``samples``, in their order.

        Every sample is encoded and checked before anything runs; a bad one raises :class:`InputError` naming it
        (``sources[i]`` if given, e.g. "texts.csv line 4", else "sample i"). Samples are batched ``batch_size``
        at a time, by similar length (results do not depend on the batch: padding never reaches a result); a
        model without a ``lengths`` input batches only samples of equal length. ``progress(done, total)`` is
        called after each batch.
        """
        samples = list(samples)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise SeqkitError(f"batch size must be a positive integer, got {batch_size!r}")
        if sources is not None and len(sources) != len(samples):
            raise SeqkitError(f"{len(sources)} sources given for {len(samples)} samples")
        names = list(sources) if sources is not None else [f"sample {i}" for i in range(len(samples))]
        if not samples:
            return []
        encoded = [self.encoder(s, names[i]) for i, s in enumerate(samples)]
        timed = [s for s in self.encoder.specs if s.axis("time") == 1]
        steps = [len(e[timed[0].name]) if timed else 0 for e in encoded]
        order = sorted(range(len(samples)), key=lambda i: steps[i])  # stable: equal lengths keep their order
        batches: list[list[int]] = []
        for i in order:
            if (batches and len(batches[-1]) < batch_size
                    and (self.lengths is not None or steps[batches[-1][0]] == steps[i])):
                batches[-1].append(i)
            else:
                batches.append([i])
        results: list[dict | None] = [None] * len(samples)
        done = 0
        for idx in batches:
            feeds = self.batch([encoded[i] for i in idx])
            values = self.run(feeds, [names[i] for i in idx])
            lengths = feeds.get(self.lengths.name) if self.lengths is not None else None
            for i, r in zip(idx, interpret(self.outputs, values, lengths, self.task_metadata)):
                results[i] = r
            done += len(idx)
            if progress is not None:
                progress(done, len(samples))
        return results  # type: ignore[return-value]

    def stream(self, batch: int = 1):
        """A :class:`seqkit.runtime.stream.Stream` over ``batch`` sequences (a file written with --streaming)."""
        from seqkit.runtime.stream import Stream

        return Stream(self, batch)


def load(path: str | os.PathLike, provider: str = "cpu", threads: int | None = None) -> Model:
    """Open a file written by ``seqkit export`` on onnxruntime's ``provider`` ("cpu" or "cuda").

    ``threads``: onnxruntime's intra-op threads (None: its default, one per core, spinning while they wait; 1: the
    calling thread alone, which is what a server that shares the cores with its event loop wants).
    """
    path = Path(path)
    if not path.is_file():
        raise SeqkitError(f"model file {path} does not exist" if not path.exists() else
                          f"{path} is not a file; give a .onnx file written by 'seqkit export'")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SeqkitError(f"cannot read {path}: {exc.strerror}") from None
    session = open_session(data, provider, threads=threads)
    meta = read_metadata(session.session)
    if "inputs" not in meta or "outputs" not in meta:
        raise SeqkitError(f"{path} has no seqkit metadata (seqkit.inputs / seqkit.outputs); it was not written by "
                          f"'seqkit export'")
    return Model(str(path), session, meta)


__all__ = ["InputError", "Model", "load", "read_metadata"]
