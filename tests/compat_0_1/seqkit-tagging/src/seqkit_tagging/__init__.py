"""seqkit task ``tagging``: one tag per step (part-of-speech, named-entity or BIO-style tagging).

ONNX inputs ``tokens`` int64 ``[batch, time]`` (0 is padding, 1 an unknown token) and ``lengths`` int64
``[batch]``; output ``tag_logits`` float32 ``[batch, time, num_tags]``, zero at steps ``t >= lengths[i]``. The
loss is cross-entropy over valid steps only; the metric token accuracy over valid steps; the baseline tags
every token with the most frequent training tag.

Data: a JSON Lines file, one sequence per line: ``{"tokens": ["the", "cat"], "tags": ["DET", "NOUN"]}``; or the
generated dataset ``brackets``: tokens ``a``..``p`` with ``(`` and ``)``, tags ``B`` (opening bracket), ``I``
(inside), ``E`` (closing bracket) and ``O`` (outside) -- a token's tag depends on what came before it, so a
model must remember. :meth:`TaggingTask.fit` learns the vocabulary and tag set from the training data.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

import seqkit
from seqkit.errors import ConfigError, SeqkitError
from seqkit.task import lengths_mask

__version__ = "0.1.0"
SEQKIT_PLUGIN_API = ">=1"
PAD, UNK = 0, 1
IGNORE = -100  # target value at padded steps (cross_entropy's ignore_index)
SPLITS = {"train": 0, "val": 1, "test": 2}


@dataclass
class TaggingConfig:
    num_tags: int = 4
    vocab_size: int = 100      # token ids in [0, vocab_size); set by fit()
    embedding_dim: int = 16
    vocab: list = field(default_factory=list)   # token strings of ids 2, 3, ...; learnt by fit()
    labels: list = field(default_factory=list)  # tag names; learnt by fit()
    majority: str = ""         # most frequent training tag (the baseline); learnt by fit()
    length: int = 24           # generated 'brackets' data: longest sequence (lengths vary from 4)
    num_samples: int = 2000    # generated: train sequences
    num_eval: int = 300        # generated: val / test sequences
    seed: int = 0


@dataclass
class Sample:
    tokens: list
    tags: list
    where: str


def brackets(n: int, length: int, seed: int) -> list[Sample]:
    """``n`` generated sequences of 4..``length`` tokens with bracketed spans, tagged B / I / E / O."""
    rng = np.random.default_rng(seed)
    letters = [chr(ord("a") + i) for i in range(16)]
    out = []
    for k in range(n):
        tokens, tags, inside = [], [], False
        for _ in range(int(rng.integers(4, length + 1))):
            if not inside and rng.random() < 0.2:
                tokens.append("("), tags.append("B")
                inside = True
            elif inside and rng.random() < 0.2:
                tokens.append(")"), tags.append("E")
                inside = False
            else:
                tokens.append(letters[int(rng.integers(16))]), tags.append("I" if inside else "O")
        out.append(Sample(tokens, tags, f"brackets #{k}"))
    return out


def read_jsonl(path: Path) -> list[Sample]:
    if not path.is_file():
        raise SeqkitError(f"data file {path} does not exist; give a .jsonl file or the dataset name 'brackets'")
    samples = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path} line {number}"
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise SeqkitError(f"{where}: not valid JSON ({exc.msg}); one object per line") from None
            tokens, tags = (row.get("tokens"), row.get("tags")) if isinstance(row, dict) else (None, None)
            if not isinstance(tokens, list) or not isinstance(tags, list) or not tokens:
                raise SeqkitError(f'{where}: expected {{"tokens": [...], "tags": [...]}} with at least one token')
            if len(tokens) != len(tags):
                raise SeqkitError(f"{where}: {len(tokens)} tokens but {len(tags)} tags; give one tag per token")
            samples.append(Sample([str(t) for t in tokens], [str(t) for t in tags], where))
    if not samples:
        raise SeqkitError(f"{path} has no sequences; add one JSON object per line")
    return samples


class _Encoder(nn.Module):
    def __init__(self, config: TaggingConfig):
        super().__init__()
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=PAD)

    def forward(self, tokens, lengths):
        return self.embedding(tokens), lengths


class _Head(nn.Module):
    def __init__(self, in_size: int, num_tags: int):
        super().__init__()
        self.proj = nn.Linear(in_size, num_tags)

    def forward(self, outputs, state, lengths):
        mask = lengths_mask(lengths, outputs.shape[1]).unsqueeze(-1)
        return (self.proj(outputs) * mask,)  # zero at padded steps, exactly


class TaggingTask(seqkit.Task):
    """Per-step tagging: tokens -> one tag per step, [batch, time, tags] logits; loss masked by lengths."""

    Config = TaggingConfig

    def validate(self):
        c = self.config
        for name in ("num_tags", "vocab_size", "embedding_dim", "length", "num_samples", "num_eval"):
            value = getattr(c, name)
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"tagging {name} must be a positive integer, got {value!r}")
        if c.num_tags < 2:
            raise ConfigError(f"tagging needs at least 2 tags, got {c.num_tags}")
        if c.vocab_size < 2:
            raise ConfigError(f"tagging vocab_size must be >= 2 (ids 0 and 1 are padding and unknown), got "
                              f"{c.vocab_size}")
        if c.labels and len(c.labels) != c.num_tags:
            raise ConfigError(f"{len(c.labels)} tag labels given for {c.num_tags} tags")
        if c.length < 4:
            raise ConfigError(f"tagging length must be >= 4, got {c.length}")

    def inputs(self):
        return [seqkit.TensorSpec("tokens", ("batch", "time"), "int64",
                                  "token ids per step (0 padding, 1 unknown); steps at or after lengths[i] are ignored",
                                  kind="ids", high=self.config.vocab_size),
                seqkit.TensorSpec("lengths", ("batch",), "int64", "valid steps per sequence, 1..time", kind="lengths")]

    def outputs(self):
        return [seqkit.TensorSpec("tag_logits", ("batch", "time", self.config.num_tags), "float32",
                                  "unnormalised tag scores per step; zero at steps t >= lengths[i]")]

    def feature_size(self):
        return self.config.embedding_dim

    def build_encoder(self):
        return _Encoder(self.config)

    def build_head(self, cell_output_size):
        return _Head(cell_output_size, self.config.num_tags)

    # -- data -------------------------------------------------------------------------------------------
    @classmethod
    def datasets(cls):
        return {"brackets": "generated: tokens a..p, '(' and ')'; tags B/I/E/O (inside or outside a bracket span)"}

    def load_data(self, source, split="train"):
        if str(source) == "brackets":
            if split not in SPLITS:
                raise SeqkitError(f"unknown split {split!r} for 'brackets'; choose one of {', '.join(SPLITS)}")
            c = self.config
            return brackets(c.num_samples if split == "train" else c.num_eval, c.length,
                            c.seed * len(SPLITS) + SPLITS[split])
        return read_jsonl(Path(source))

    def fit(self, data):
        if not len(data):
            raise SeqkitError("no training data: the data source gave no sequences")
        c = self.config
        tokens = Counter(t for s in data for t in s.tokens)
        tags = Counter(t for s in data for t in s.tags)
        if len(tags) < 2:
            raise SeqkitError(f"tagging needs at least 2 tags in the training data, found {sorted(tags)}")
        c.vocab = sorted(tokens)
        c.vocab_size = len(c.vocab) + 2
        c.labels = sorted(tags)
        c.num_tags = len(c.labels)
        c.majority = max(c.labels, key=lambda t: tags[t])

    def collate(self, samples):
        c = self.config
        if not c.labels:
            raise SeqkitError("the tagging task is not fitted (no labels); build the model with "
                              "seqkit.train.prepare(...) so that fit() sees the training data")
        ids = {t: i + 2 for i, t in enumerate(c.vocab)}
        tag_ids = {t: i for i, t in enumerate(c.labels)}
        time = max(len(s.tokens) for s in samples)
        tokens = torch.full((len(samples), time), PAD, dtype=torch.int64)
        target = torch.full((len(samples), time), IGNORE, dtype=torch.int64)
        for i, s in enumerate(samples):
            unknown = [t for t in s.tags if t not in tag_ids]
            if unknown:
                raise SeqkitError(f"{s.where}: tag {unknown[0]!r} was not in the training data (tags: "
                                  f"{', '.join(c.labels)})")
            tokens[i, :len(s.tokens)] = torch.tensor([ids.get(t, UNK) for t in s.tokens])
            target[i, :len(s.tags)] = torch.tensor([tag_ids[t] for t in s.tags])
        lengths = torch.tensor([len(s.tokens) for s in samples], dtype=torch.int64)
        return (tokens, lengths), target

    # -- training ---------------------------------------------------------------------------------------
    def loss(self, outputs, target):
        logits = outputs[0]
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                           ignore_index=IGNORE)

    def metrics(self, outputs, target):
        valid = target != IGNORE
        correct = (outputs[0].argmax(-1) == target) & valid
        return {"accuracy": correct.sum().item() / max(1, valid.sum().item())}

    def main_metric(self):
        return ("accuracy", "max")

    def baseline(self, train, test):
        """Tag every token with the most frequent training tag; token accuracy on ``test``."""
        majority = Counter(t for s in train for t in s.tags).most_common(1)[0][0] if train else self.config.majority
        total = sum(len(s.tags) for s in test)
        return {"accuracy": sum(t == majority for s in test for t in s.tags) / total} if total else {}

    def metadata(self):
        return {"labels": list(self.config.labels), "padding_id": PAD, "unknown_id": UNK}


@seqkit.hookimpl
def seqkit_register_tasks(registry):
    registry.register("tagging", TaggingTask)
