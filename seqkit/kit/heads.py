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
