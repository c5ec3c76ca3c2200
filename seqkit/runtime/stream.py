"""Streams: a file exported with ``--streaming`` run chunk by chunk, its recurrent state carried between calls.

A streaming file takes the recurrent state of every layer as inputs and returns the new state as outputs (names
and shapes in its ``seqkit.streaming`` metadata). A :class:`Stream` starts from zero state, feeds each chunk with
the state the previous chunk left, and keeps the new one -- so chunks of any sizes give what one call on the
whole sequence gives (``seqkit export --streaming`` verifies exactly that). Uses: per-frame speech, online
forecasting, a running classification of a growing text.

    stream = load("digits-stream.onnx").stream()
    for frames in chunks:                    # [steps, coefficients] each
        print(stream.push(frames)["label"])  # the label of everything heard so far
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from seqkit.errors import InputError, SeqkitError
from seqkit.runtime.results import interpret


class Stream:
    """``batch`` sequences fed chunk by chunk; :attr:`state` holds each layer's state between calls."""

    def __init__(self, model, batch: int = 1):
        if not model.streaming:
            raise SeqkitError(f"{model.path} was exported without --streaming, so it cannot carry its state between "
                              f"calls; export it again with 'seqkit export ... --streaming'")
        if not isinstance(batch, int) or batch < 1:
            raise SeqkitError(f"a stream needs a batch of at least 1 sequence, got {batch!r}")
        self.model, self.batch = model, batch
        self.pairs = [(d["input"], d["output"]) for d in model.streaming["state"]]
        self.steps = np.zeros(batch, dtype=np.int64)  # steps consumed per sequence
        self.reset()

    def reset(self) -> None:
        """Back to the zero state, as before the first chunk."""
        self.state = self.model.zero_state(self.batch)
        self.steps[:] = 0

    def run(self, feeds: dict[str, Any], samples: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """One chunk of already padded feeds (without the state inputs) -> every output; the state moves on."""
        clash = sorted(set(feeds) & set(self.state))
        if clash:
            raise InputError(f"input '{clash[0]}' is the stream's own state; leave it out (stream.state holds it)")
        values = self.model.run({**feeds, **self.state}, samples)
        self.state = {i: values[o] for i, o in self.pairs}
        if self.model.lengths is not None and self.model.lengths.name in feeds:
            self.steps += np.asarray(feeds[self.model.lengths.name], dtype=np.int64)
        else:
            timed = [s for s in self.model.encoder.specs if s.axis("time") == 1]
            self.steps += np.asarray(feeds[timed[0].name]).shape[1] if timed else 0
        return values

    def push(self, chunk: Any) -> dict | list[dict]:
        """Feed the next raw chunk (a sample as :meth:`Model.predict` takes it: text, tokens, an array
        ``[steps, ...]``) of a one-sequence stream and return its readable result; for ``batch > 1`` give a list
        with one chunk per sequence and get a list of results. Per-step outputs (tags) cover this chunk's steps;
        per-sequence outputs (labels, forecasts) describe everything pushed so far."""
        chunks = [chunk] if self.batch == 1 else list(chunk)
        if len(chunks) != self.batch:
            raise InputError(f"this stream holds {self.batch} sequences; push a list of {self.batch} chunks, one per "
                             f"sequence (got {len(chunks)})")
        names = [f"chunk of sequence {i} (after {int(self.steps[i])} steps)" for i in range(self.batch)]
        encoded = [self.model.encode(c, names[i]) for i, c in enumerate(chunks)]
        feeds = self.model.batch(encoded)
        for name in self.state:
            feeds.pop(name, None)
        if self.model.lengths is None:
            timed = [s for s in self.model.encoder.specs if s.axis("time") == 1]
            sizes = {len(e[timed[0].name]) for e in encoded} if timed else set()
            if len(sizes) > 1:
                raise InputError(f"this model takes no lengths, so every sequence's chunk needs the same number of "
                                 f"steps (got {sorted(sizes)})")
        values = self.run(feeds, names)
        lengths = feeds.get(self.model.lengths.name) if self.model.lengths is not None else None
        results = interpret(self.model.outputs, values, lengths, self.model.task_metadata)
        return results[0] if self.batch == 1 else results
