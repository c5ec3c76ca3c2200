"""One pass over the data: batches, loss, metrics, and (when training) the optimizer step.

:class:`Loop` is the only place that touches batches. :meth:`Loop.order` cuts the global batches (seeded;
shard-blocked for a folder of shards, seqkit.training.shards); in a job of several processes (``group``,
seqkit.training.distributed) each process takes its share of every batch and weights its loss so that DDP's
gradient average is the whole batch's, and :meth:`Loop.reduce` sums the per-process totals. Everything above it
(selection, checkpoints, logs) sees only the epoch's mean loss and metrics.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence

import torch

from seqkit.core.compose import eval_mode
from seqkit.errors import SeqkitError
from seqkit.training.data import subset, to_device
from seqkit.training.distributed import Group
from seqkit.training.shards import epoch_batches


class Loop:
    def __init__(self, model: torch.nn.Module, task, device: torch.device, batch_size: int,
                 optimizer: torch.optim.Optimizer | None = None, clip_norm: float | None = None,
                 group: Group = Group()):
        self.model, self.task, self.device, self.batch_size = model, task, device, batch_size
        self.optimizer, self.clip_norm, self.group = optimizer, clip_norm, group
        # training forwards go through DistributedDataParallel in a job of several processes; evaluation does not
        self.trained = group.wrap(model) if optimizer is not None else model

    def order(self, data: Sequence, shuffle: bool, seed) -> Iterator[list[int]]:
        """Global index batches of one pass over ``data`` (seeded permutation when ``shuffle``)."""
        return epoch_batches(data, self.batch_size, shuffle=shuffle, seed=seed)

    def reduce(self, totals: dict[str, float], count: int) -> tuple[dict[str, float], int]:
        """Totals of all processes (one process: as they are)."""
        if self.group.size == 1:
            return totals, count
        summed = self.group.sum({**totals, "__count__": count})
        return summed, summed.pop("__count__")

    def train_epoch(self, data: Sequence, seed, lr: float,
                    on_batch: Callable[[float], None] | None = None) -> dict[str, float]:
        """One training pass at learning rate ``lr``: mean loss and task metrics (weighted by batch size)."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        return self._pass(data, train=True, seed=seed, on_batch=on_batch)

    def evaluate(self, data: Sequence) -> dict[str, float]:
        """Mean loss and task metrics on ``data``, in eval mode, without gradients."""
        with eval_mode(self.model), torch.no_grad():
            return self._pass(data, train=False, seed=0)

    def _pass(self, data, train: bool, seed, on_batch=None) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        count = 0
        for batch in self.order(data, shuffle=train, seed=seed):
            idx = self.group.mine(batch)  # this process's share (all of it in one process)
            if not idx and not train:
                continue
            inputs, target = to_device(self.task.collate(subset(data, idx or batch[:1])), self.device)
            with torch.set_grad_enabled(train):
                outputs = (self.trained if train else self.model)(*inputs)
                loss = self.task.loss(outputs, target)
            if not torch.isfinite(loss):
                raise SeqkitError(f"the loss became {loss.item()} (batch of samples {batch[:3]}...); lower the "
                                  f"learning rate, keep gradient clipping on, or check the data")
            if train:  # a process without a sample in a last batch adds a zero gradient to DDP's average
                self._step(loss * self.group.weight(len(idx), len(batch)) if self.group.size > 1 else loss)
            if not idx:
                continue
            k = len(idx)
            totals["loss"] += loss.item() * k
            for name, value in self.task.metrics(tuple(o.detach() for o in outputs), target).items():
                totals[name] += value * k
            count += k
            if on_batch:
                on_batch(totals["loss"] / count)
        totals, count = self.reduce(dict(totals), count)
        return {name: value / count for name, value in totals.items()}

    def _step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip_norm:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm)
        self.optimizer.step()
