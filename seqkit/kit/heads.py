"""Heads that tasks share: length-aware pooling of cell outputs and a pooled linear classifier."""
from __future__ import annotations

import torch
from torch import nn

from seqkit.core.masks import lengths_mask
from seqkit.errors import ConfigError


def pool(outputs: torch.Tensor, state: tuple, lengths: torch.Tensor | None, how: str) -> torch.Tensor:
    """Length-aware pooling of cell ``outputs`` ``[batch, time, features]`` to ``[batch, features]``.

    ``last``: the final hidden state of the top layer (each direction at its own end: the forward direction
    at the last *valid* step, never ``outputs[:, -1]`` of a padded batch); ``mean`` / ``max``: over valid steps.
    """
    if how == "last":
        directions = outputs.shape[-1] // state[0].shape[-1]
        h = state[0][-directions:]  # [directions, batch, hidden]
        return h.permute(1, 0, 2).reshape(h.shape[1], -1)
    if lengths is None:
        return outputs.mean(1) if how == "mean" else outputs.max(1).values
    mask = lengths_mask(lengths, outputs.shape[1]).unsqueeze(-1)
    if how == "mean":
        return (outputs * mask).sum(1) / lengths.unsqueeze(1).to(outputs.dtype)
    if how == "max":
        return outputs.masked_fill(~mask, float("-inf")).max(1).values
    raise ConfigError(f"unknown pooling {how!r}; choose last, mean or max")


POOLINGS = ("last", "mean", "max")


class PooledHead(nn.Module):
    """Cell outputs -> length-aware pooling -> linear class scores (``(logits,)``)."""

    def __init__(self, in_size: int, num_classes: int, pooling: str):
        super().__init__()
        self.pooling = pooling
        self.proj = nn.Linear(in_size, num_classes)

    def forward(self, outputs, state, lengths):
        return (self.proj(pool(outputs, state, lengths, self.pooling)),)


def pooled_stats(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``[batch, time, ...]`` -> ``[batch, 4 * features + 1]``: per-feature mean, std, min and max over each
    sequence's valid steps (steps flattened to features), and its length -- in torch and length-aware, what
    :func:`seqkit.kit.baselines.pooled_statistics` computes for the ridge baseline."""
    b, t = x.shape[0], x.shape[1]
    steps = x.reshape(b, t, -1)
    mask = lengths_mask(lengths, t).unsqueeze(-1)
    n = lengths.to(steps.dtype).unsqueeze(1)
    mean = (steps * mask).sum(1) / n
    var = (((steps - mean.unsqueeze(1)) * mask) ** 2).sum(1) / n
    low = steps.masked_fill(~mask, float("inf")).min(1).values
    high = steps.masked_fill(~mask, float("-inf")).max(1).values
    return torch.cat([mean, var.sqrt(), low, high, n], 1)


class StatsSkipHead(PooledHead):
    """:class:`PooledHead` plus a linear model of the pooled statistics of the task's first input (raw values, or
    ``steps(x)`` per step; standardised with the training statistics): the ridge baseline as a path past the
    cell, so the cell learns what it misses. ``start``: ``(mean, std, weight [classes, stats], bias [classes])``,
    the ridge fit that ``fit()`` leaves (never saved; a saved run's weights and buffers come from its state
    dict)."""

    uses_inputs = True

    def __init__(self, in_size: int, num_classes: int, pooling: str, step_features: int, start=None, steps=None):
        super().__init__(in_size, num_classes, pooling)
        self.steps = steps  # None, or a function of the raw input giving what is pooled per step
        width = 4 * step_features + 1
        mean, std, weight, bias = start if start is not None else (
            torch.zeros(width), torch.ones(width), torch.zeros(num_classes, width), torch.zeros(num_classes))
        self.register_buffer("stats_mean", torch.as_tensor(mean, dtype=torch.float32).clone())
        self.register_buffer("stats_std", torch.as_tensor(std, dtype=torch.float32).clone())
        self.skip = nn.Linear(width, num_classes)
        with torch.no_grad():
            self.skip.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            self.skip.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))

    def forward(self, outputs, state, lengths, x, *_):
        steps = x if self.steps is None else self.steps(x)
        stats = (pooled_stats(steps, lengths) - self.stats_mean) / self.stats_std
        return (self.proj(pool(outputs, state, lengths, self.pooling)) + self.skip(stats),)


class BagSkipHead(PooledHead):
    """:class:`PooledHead` plus a bag-of-words linear model of the token ids (one score per class and token id,
    summed over the valid tokens, plus a bias): naive Bayes' form, as a path past the cell. ``start``:
    ``(table [vocab, classes], bias [classes])``, naive Bayes fitted by ``fit()`` (never saved)."""

    uses_inputs = True

    def __init__(self, in_size: int, num_classes: int, pooling: str, vocab_size: int, start=None):
        super().__init__(in_size, num_classes, pooling)
        self.bag = nn.Embedding(vocab_size, num_classes)
        self.bag_bias = nn.Parameter(torch.zeros(num_classes))
        with torch.no_grad():
            if start is None:
                self.bag.weight.zero_()
            else:
                self.bag.weight.copy_(torch.as_tensor(start[0], dtype=torch.float32))
                self.bag_bias.copy_(torch.as_tensor(start[1], dtype=torch.float32))

    def forward(self, outputs, state, lengths, tokens, *_):
        mask = lengths_mask(lengths, tokens.shape[1]).unsqueeze(-1)
        bag = (self.bag(tokens) * mask).sum(1) + self.bag_bias
        return (self.proj(pool(outputs, state, lengths, self.pooling)) + bag,)
