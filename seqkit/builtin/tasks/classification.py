"""Built-in task ``classification``: one label per sequence.

Input is either token ids (``tokens`` int64 ``[batch, time]``, embedded) or numeric feature sequences
(``features`` float32 ``[batch, time, num_features]``, when ``num_features > 0``), plus ``lengths``.
The cell's outputs are pooled over each sequence's *valid* steps (``last``, ``mean`` or ``max``) into logits.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from seqkit import hookimpl
from seqkit.errors import ConfigError
from seqkit.task import POOLINGS, Task, TensorSpec, pool


@dataclass
class ClassificationConfig:
    num_classes: int = 2
    vocab_size: int = 100          # token ids are in [0, vocab_size); 0 is padding
    embedding_dim: int = 16
    num_features: int = 0          # > 0: numeric feature sequences instead of tokens
    pooling: str = "last"          # last | mean | max
    labels: list = field(default_factory=list)  # class names, carried into the exported file


class _Encoder(nn.Module):
    def __init__(self, config: ClassificationConfig):
        super().__init__()
        self.embedding = None if config.num_features else nn.Embedding(config.vocab_size, config.embedding_dim)

    def forward(self, x, lengths):
        return (x if self.embedding is None else self.embedding(x)), lengths


class _Head(nn.Module):
    def __init__(self, in_size: int, num_classes: int, pooling: str):
        super().__init__()
        self.pooling = pooling
        self.proj = nn.Linear(in_size, num_classes)

    def forward(self, outputs, state, lengths):
        return (self.proj(pool(outputs, state, lengths, self.pooling)),)


class ClassificationTask(Task):
    """Sequence -> class logits, with length-aware pooling (last valid step, mean or max)."""

    Config = ClassificationConfig

    def validate(self):
        c = self.config
        for name in ("num_classes", "vocab_size", "embedding_dim"):
            if int(getattr(c, name)) <= 0:
                raise ConfigError(f"classification {name} must be positive, got {getattr(c, name)!r}")
        if c.num_classes < 2:
            raise ConfigError(f"classification needs at least 2 classes, got {c.num_classes}")
        if c.num_features < 0:
            raise ConfigError(f"classification num_features must be >= 0, got {c.num_features}")
        if c.pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling {c.pooling!r}; choose one of {', '.join(POOLINGS)}")
        if c.labels and len(c.labels) != c.num_classes:
            raise ConfigError(f"{len(c.labels)} labels given for {c.num_classes} classes")

    def inputs(self):
        c = self.config
        if c.num_features:
            first = TensorSpec("features", ("batch", "time", c.num_features), "float32",
                               "feature vectors per step; steps at or after lengths[i] are ignored")
        else:
            first = TensorSpec("tokens", ("batch", "time"), "int64",
                               "token ids per step; steps at or after lengths[i] are ignored", kind="ids",
                               high=c.vocab_size)
        return [first, TensorSpec("lengths", ("batch",), "int64", "valid steps per sequence, 1..time",
                                  kind="lengths")]

    def outputs(self):
        return [TensorSpec("logits", ("batch", self.config.num_classes), "float32",
                           "unnormalised class scores; softmax gives probabilities")]

    def feature_size(self):
        return self.config.num_features or self.config.embedding_dim

    def build_encoder(self):
        return _Encoder(self.config)

    def build_head(self, cell_output_size):
        return _Head(cell_output_size, self.config.num_classes, self.config.pooling)

    def loss(self, outputs, target):
        return nn.functional.cross_entropy(outputs[0], target)

    def metrics(self, outputs, target):
        return {"accuracy": (outputs[0].argmax(-1) == target).float().mean().item()}

    def metadata(self):
        return {"labels": list(self.config.labels)}


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("classification", ClassificationTask)
