"""Adaptive batching of concurrent requests, padded by length as ``Model.predict`` pads (asyncio + numpy).

Each request is checked on its own first (``check_feeds``), so a bad request is refused alone and never spoils a
batch. Checked requests wait in a queue; one worker thread takes every request queued when the previous batch finished
(up to ``max_batch_size`` rows; with ``max_batch_time`` > 0 it also waits up to that many seconds for more),
groups those that can share a run, pads each group's ``time`` axis to its longest member (zeros; the padding id
for token ids), concatenates along each input's ``batch`` axis (the recurrent state of a ``--streaming`` file has
it second), runs onnxruntime once, and hands every request its own rows back, cut to its own length. The worker
never waits for the event loop, so onnxruntime runs one batch while the loop answers the last and parses the
next. Under light load a request runs at once (nothing waits for company); under heavy load batches grow.

Files without a ``lengths`` input (forecasting, adding) batch only requests of equal length, as ``predict`` does.
Padding never reaches a result of a file with ``lengths``: that is what ``seqkit export`` verifies.
MLServer's own adaptive batcher is not used: it concatenates the flat data of equal-shaped requests (no
padding of variable-length sequences) and fails every request of a batch when one of them is bad.
"""
from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from seqkit.errors import SeqkitError


class _Item:
    __slots__ = ("feeds", "rows", "steps", "future")

    def __init__(self, feeds, rows, steps, future):
        self.feeds, self.rows, self.steps, self.future = feeds, rows, steps, future


class Batcher:
    """Runs checked feeds of ``model`` (a :class:`seqkit.runtime.Model`) alone or batched with others."""

    def __init__(self, model, max_batch_size: int = 64, max_batch_time: float = 0.0):
        self.model = model
        self.max_batch_size, self.max_batch_time = int(max_batch_size), float(max_batch_time)
        self.specs = {s.name: s for s in model.inputs}
        self.padding = {s.name: (model.encoder.tokenizer.padding_id if s.kind == "ids" else 0) for s in model.inputs}
        self.timed = [s for s in model.inputs if s.axis("time") is not None]
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="seqkit-run")
        self.pending: queue.SimpleQueue = queue.SimpleQueue()  # checked requests, from the event loop to the worker
        self.worker = None
        self.batches = 0  # onnxruntime calls made (the benchmark reports rows per call)

    # -- what a request is ------------------------------------------------------------------------------
    def _rows(self, feeds) -> int:
        spec = next(s for s in self.model.inputs if s.axis("batch") is not None)
        return int(feeds[spec.name].shape[spec.axis("batch")])

    def _steps(self, feeds) -> int | None:
        return int(feeds[self.timed[0].name].shape[self.timed[0].axis("time")]) if self.timed else None

    def _key(self, item: _Item) -> tuple:
        """Requests with equal keys can share a run."""
        key = []
        for name, arr in item.feeds.items():
            spec = self.specs[name]
            dims = [d for i, d in enumerate(arr.shape) if i != spec.axis("batch")
                    and not (i == spec.axis("time") and self.model.lengths is not None)]
            key.append((name, tuple(dims)))
        return tuple(key)

    # -- running ----------------------------------------------------------------------------------------
    async def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs for checked ``feeds``, run alone (batching off) or with other requests."""
        loop = asyncio.get_running_loop()
        if self.max_batch_size <= 1:
            self.batches += 1
            return await loop.run_in_executor(self.executor, self.model.run, feeds)
        if self.worker is None:  # a daemon: a server that has answered everything may exit while it waits
            self.worker = threading.Thread(target=self._work, name="seqkit-batch", daemon=True)
            self.worker.start()
        future = loop.create_future()
        self.pending.put(_Item(feeds, self._rows(feeds), self._steps(feeds), future))
        return await future

    def _collect(self) -> list[_Item] | None:
        """The next batch (blocking, in the worker thread): every request queued now, up to ``max_batch_size``
        rows, and with ``max_batch_time`` > 0 those that come within that time; None once closed."""
        first = self.pending.get()
        if first is None:
            return None
        items, rows = [first], first.rows
        deadline = time.monotonic() + self.max_batch_time
        while rows < self.max_batch_size:
            try:
                item = self.pending.get_nowait()
            except queue.Empty:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    break
                try:
                    item = self.pending.get(timeout=wait)
                except queue.Empty:
                    break
            if item is None:
                self.pending.put(None)  # closing: this batch still runs, the next _collect ends the worker
                break
            items.append(item)
            rows += item.rows
        return items

    def _work(self) -> None:
        """The worker thread's loop. It never waits for the event loop: while the loop writes one batch's
        responses and parses the next requests, onnxruntime already runs the batch queued meanwhile."""
        while (items := self._collect()) is not None:
            groups: dict[tuple, list[_Item]] = {}
            for item in items:
                groups.setdefault(self._key(item), []).append(item)
            for group in groups.values():
                try:
                    self._run_group(group)
                except BaseException as exc:  # noqa: BLE001 -- never leave a request unanswered
                    for item in group:
                        item.future.get_loop().call_soon_threadsafe(_settle, item.future, None, exc)
                    if not isinstance(exc, Exception):
                        raise

    def _run_group(self, group: Sequence[_Item]) -> None:
        """One onnxruntime call for ``group`` (in the worker thread); each request alone if the batch fails."""
        loop = group[0].future.get_loop()
        if len(group) > 1:
            try:
                values = self.model.run(self.merge(group))
                self.batches += 1
                answers = [(item.future, out, None) for item, out in zip(group, self.split(values, group))]
                loop.call_soon_threadsafe(_settle_all, answers)  # one wake-up of the event loop per batch
                return
            except SeqkitError:
                pass  # e.g. a non-finite output: run each request alone so that only its own request fails
        for item in group:
            try:
                out = self.model.run(item.feeds)
                self.batches += 1
                loop.call_soon_threadsafe(_settle, item.future, out, None)
            except Exception as exc:  # noqa: BLE001 -- the request's own error goes back to its client
                loop.call_soon_threadsafe(_settle, item.future, None, exc)

    def merge(self, group: Sequence[_Item]) -> dict[str, np.ndarray]:
        """Feeds of ``group`` padded to the longest ``time`` and concatenated along each ``batch`` axis."""
        steps = max((it.steps for it in group if it.steps is not None), default=None)
        merged = {}
        for name, spec in self.specs.items():
            arrays = []
            for it in group:
                arr = it.feeds[name]
                t = spec.axis("time")
                if t is not None and steps is not None and arr.shape[t] < steps:
                    pad = [(0, 0)] * arr.ndim
                    pad[t] = (0, steps - arr.shape[t])
                    arr = np.pad(arr, pad, constant_values=self.padding[name])
                arrays.append(arr)
            merged[name] = np.concatenate(arrays, axis=spec.axis("batch") or 0)
        return merged

    def split(self, values: dict[str, np.ndarray], group: Sequence[_Item]) -> list[dict[str, np.ndarray]]:
        """Each request's rows of the batch's outputs, its ``time`` axis cut back to its own size."""
        out: list[dict[str, np.ndarray]] = [{} for _ in group]
        for spec in self.model.outputs:
            value, b, t = values[spec.name], spec.axis("batch"), spec.axis("time")
            start = 0
            for i, it in enumerate(group):
                index = [slice(None)] * value.ndim
                if b is not None:
                    index[b] = slice(start, start + it.rows)
                if t is not None and it.steps is not None:
                    index[t] = slice(0, it.steps)
                out[i][spec.name] = value[tuple(index)]
                start += it.rows
        return out

    def close(self) -> None:
        self.pending.put(None)
        self.executor.shutdown(wait=False)


def _settle_all(answers) -> None:
    for future, value, exc in answers:
        _settle(future, value, exc)


def _settle(future: asyncio.Future, value, exc) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)
