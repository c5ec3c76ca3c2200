"""Built-in task ``classification``: one label per sequence.

Input is either token ids (``tokens`` int64 ``[batch, time]``, embedded) or numeric feature sequences
(``features`` float32 ``[batch, time, num_features]``, when ``num_features > 0``), plus ``lengths``.
The cell's outputs are pooled over each sequence's *valid* steps (``last``, ``mean`` or ``max``) into logits.

Data (see docs/training.md): built-in ``basic-motions`` and ``fortunes``, CSV/TSV/JSONL files with a text and a
label column (``text_column``, ``label_column``), or ``.npz`` files with ``X [n, time, features]``, ``y [n]`` and
optional ``lengths [n]``. :meth:`ClassificationTask.fit` learns the label names, the vocabulary (id 0 = padding,
1 = unknown) or the per-feature normalisation, which the model then applies itself.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqkit import hookimpl
from seqkit.core.task import Dataset, TensorSpec
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit.baselines import NaiveBayes, accuracy
from seqkit.kit.heads import POOLINGS, BagSkipHead, StatsSkipHead
from seqkit.kit.labels import Item, LabelledTask, read_npz_items
from seqkit.kit.readers import ARRAY_SUFFIXES, pad, read_table
from seqkit.kit.scaling import Standardize, check_scaling, mean_std
from seqkit.kit.skip import naive_bayes_start, ridge_baseline, skip_start, start_from_ridge

PAD, UNK = 0, 1
TOKEN_RE = re.compile(r"\w+|[^\w\s]")


@dataclass
class ClassificationConfig:
    num_classes: int = 2
    vocab_size: int = 100          # token ids are in [0, vocab_size); 0 is padding, 1 unknown
    embedding_dim: int = 16
    embedding_dropout: float = 0.0  # text: dropout on the embedded tokens, in training only
    num_features: int = 0          # > 0: numeric feature sequences instead of tokens
    pooling: str = "last"          # last | mean | max
    linear_skip: bool = False      # add the strong baseline as a linear path past the cell: naive Bayes on the
    #                                tokens (text) or ridge on pooled per-feature statistics (numbers)
    labels: list[str] = field(default_factory=list)  # class names, carried into the exported file
    # data and what fit() learns
    text_column: str = "text"
    label_column: str = "label"
    tokenizer: str = "word"        # word (lower-cased words and punctuation) | char
    min_count: int = 2             # words seen fewer times in training map to the unknown id
    max_vocab: int = 20000
    max_length: int = 0            # > 0: keep the first max_length tokens/steps of each sequence
    vocab: list[str] = field(default_factory=list)    # token of id i+2 is vocab[i]
    mean: list[float] = field(default_factory=list)   # per-feature normalisation, applied inside the model
    std: list[float] = field(default_factory=list)
    class_counts: list[int] = field(default_factory=list)  # training samples per class (majority baseline)
    train_source: str = ""         # the training data's dataset name or path (recorded by load_data; baselines)


def tokenize(text: str, how: str = "word") -> list[str]:
    """The tokenizer fit() and collate() use: lower-cased words and punctuation marks, or characters."""
    return list(text) if how == "char" else TOKEN_RE.findall(text.lower())


class _Encoder(nn.Module):
    def __init__(self, config: ClassificationConfig):
        super().__init__()
        self.embedding = None if config.num_features else nn.Embedding(config.vocab_size, config.embedding_dim)
        self.dropout = nn.Dropout(config.embedding_dropout) if config.embedding_dropout else None
        self.scale = Standardize(config.mean, config.std) if config.num_features and config.mean else None

    def forward(self, x, lengths):
        if self.embedding is not None:
            embedded = self.embedding(x)
            return (embedded if self.dropout is None else self.dropout(embedded)), lengths
        return (x if self.scale is None else self.scale(x)), lengths


class ClassificationTask(LabelledTask):
    """Sequence -> class logits, with length-aware pooling (last valid step, mean or max)."""

    Config = ClassificationConfig

    def validate(self):
        c = self.config
        for name in ("num_classes", "vocab_size", "embedding_dim", "min_count", "max_vocab"):
            if getattr(c, name) <= 0:
                raise ConfigError(f"classification {name} must be positive, got {getattr(c, name)!r}")
        if c.num_classes < 2:
            raise ConfigError(f"classification needs at least 2 classes, got {c.num_classes}")
        if c.num_features < 0 or c.max_length < 0:
            raise ConfigError("classification num_features and max_length must be >= 0")
        if not 0.0 <= c.embedding_dropout < 1.0:
            raise ConfigError(f"embedding_dropout must be in [0, 1), got {c.embedding_dropout!r}")
        if c.pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling {c.pooling!r}; choose one of {', '.join(POOLINGS)}")
        if c.tokenizer not in ("word", "char"):
            raise ConfigError(f"unknown tokenizer {c.tokenizer!r}; choose word or char")
        if c.labels and len(c.labels) != c.num_classes:
            raise ConfigError(f"{len(c.labels)} labels given for {c.num_classes} classes")
        if c.vocab and c.vocab_size != len(c.vocab) + 2:
            raise ConfigError(f"vocab_size {c.vocab_size} does not match the vocabulary ({len(c.vocab)} + 2)")
        if (c.mean or c.std) and not c.num_features:
            raise ConfigError("mean and std normalise feature inputs; set num_features > 0 or leave them empty")
        check_scaling(c.mean, c.std, c.num_features)

    def inputs(self):
        c = self.config
        if c.num_features:
            first = TensorSpec("features", ("batch", "time", c.num_features), "float32",
                               "feature vectors per step (raw: the model normalises them); steps at or after "
                               "lengths[i] are ignored")
        else:
            first = TensorSpec("tokens", ("batch", "time"), "int64",
                               "token ids per step (0 padding, 1 unknown); steps at or after lengths[i] are ignored",
                               kind="ids", high=c.vocab_size)
        return [first, TensorSpec("lengths", ("batch",), "int64", "valid steps per sequence, 1..time",
                                  kind="lengths")]

    def feature_size(self):
        return self.config.num_features or self.config.embedding_dim

    def build_encoder(self):
        return _Encoder(self.config)

    # -- data ---------------------------------------------------------------------------------------------
    DATASETS = {
        "basic-motions": Dataset("BasicMotions: smart-watch accelerometer+gyroscope, 100 steps x 6 features, "
                                 "4 activities, 40 train / 40 test", file="classification/basic_motions_{split}.npz"),
        "fortunes": Dataset("fortune-cookie quotes (Debian fortunes, BSD): text, 4 categories, 1486 train / 638 test",
                            file="classification/fortunes_{split}.csv"),
    }
    FILES = ("a CSV, TSV or JSONL file with a text and a label column (-T text_column=.. -T label_column=..), or "
             "an .npz with X [items, time, features], y [items] and optional lengths [items]")

    def load_file(self, path: Path, split: str, name: str) -> list[Item]:
        if path.suffix.lower() in ARRAY_SUFFIXES:
            return read_npz_items(path, "X", ("features",), name, label_key="y")
        c = self.config
        rows = read_table(path, (c.text_column, c.label_column))
        return [Item(str(row[c.text_column]), str(row[c.label_column]), f"{name} line {line}")
                for line, row in rows]

    def fit(self, data):
        c = self.config
        self.fit_labels(data)
        numeric = not isinstance(data[0].x, str)
        if numeric:
            width = {s.x.shape[1] for s in data}
            if len(width) > 1:
                raise SeqkitError(f"samples have different feature counts {sorted(width)}; every item needs the same")
            c.num_features = width.pop()
            c.mean, c.std = mean_std(s.x for s in data)
            c.vocab = []
        else:
            words = Counter(t for s in data for t in tokenize(s.x, c.tokenizer))
            kept = [w for w, n in sorted(words.items(), key=lambda wn: (-wn[1], wn[0])) if n >= c.min_count]
            c.vocab = kept[:c.max_vocab - 2] if c.max_vocab > 2 else []
            c.vocab_size = len(c.vocab) + 2
            c.num_features, c.mean, c.std = 0, [], []
        self.validate()
        self._ids = None
        if c.linear_skip and numeric:  # the strong baseline, fitted on the training data, as the skip path's start
            start_from_ridge(self, data)
        elif c.linear_skip:
            self.prepared["skip_start"] = naive_bayes_start([self.encode_text(s.x) for s in data],
                                                            [s.label for s in data], c.labels, c.vocab_size)

    def skip_head(self, cell_output_size):
        """Text: :class:`~seqkit.kit.heads.BagSkipHead` (naive Bayes' form on the token ids); numbers:
        :class:`~seqkit.kit.heads.StatsSkipHead` (ridge on pooled per-feature statistics)."""
        c = self.config
        start = skip_start(self)
        if c.num_features:
            return StatsSkipHead(cell_output_size, c.num_classes, c.pooling, c.num_features, start)
        return BagSkipHead(cell_output_size, c.num_classes, c.pooling, c.vocab_size, start)

    def strong_baselines(self, train, test):
        """Text: ``naive Bayes`` (multinomial, add-one smoothing) on the counts of the task's tokens; numbers:
        ``ridge`` on pooled per-feature statistics (see :func:`seqkit.kit.skip.pooled_ridge`)."""
        if not isinstance(train[0].x, str):
            return ridge_baseline(self, train, test)
        how = self.config.tokenizer
        model = NaiveBayes().fit([tokenize(s.x, how) for s in train], [s.label for s in train])
        return {"naive Bayes": {"accuracy": accuracy(model.predict([tokenize(s.x, how) for s in test]),
                                                     [s.label for s in test])}}

    def encode_text(self, text: str) -> list[int]:
        """Token ids of ``text`` with the fitted vocabulary (1 for unknown words)."""
        if getattr(self, "_ids", None) is None or len(self._ids) != len(self.config.vocab):
            self._ids = {w: i + 2 for i, w in enumerate(self.config.vocab)}
        return [self._ids.get(t, UNK) for t in tokenize(text, self.config.tokenizer)]

    def collate(self, samples):
        c = self.config
        index = self.label_index(samples)
        seqs, targets = [], []
        for s in samples:
            if isinstance(s.x, str):
                if c.num_features:
                    raise SeqkitError(f"{s.where}: text given to a model trained on {c.num_features} numeric features")
                seq = np.asarray(self.encode_text(s.x), dtype=np.int64)
                if seq.size == 0:
                    raise SeqkitError(f"{s.where}: text {s.x[:40]!r} has no tokens; drop the row or fix the text")
            else:
                if s.x.shape[1] != c.num_features:
                    raise SeqkitError(f"{s.where}: {s.x.shape[1]} features per step, the model expects "
                                      f"{c.num_features or 'text'}")
                seq = s.x
            seqs.append(seq[:c.max_length] if c.max_length else seq)
            targets.append(index[s.label])
        x, lengths = pad(seqs, torch.float32 if c.num_features else torch.int64)
        return (x, lengths), torch.tensor(targets, dtype=torch.int64)

    def metadata(self):
        c = self.config
        meta = {"labels": list(c.labels)}
        if c.num_features:
            meta["normalisation"] = {"mean": c.mean, "std": c.std, "applied": "inside the model: feed raw features"}
        elif c.vocab:
            meta["tokenizer"] = {"kind": c.tokenizer, "lowercase": c.tokenizer == "word",
                                 "pattern": TOKEN_RE.pattern if c.tokenizer == "word" else None,
                                 "padding_id": PAD, "unknown_id": UNK, "max_length": c.max_length}
            meta["vocab"] = list(c.vocab)
        return meta


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("classification", ClassificationTask)
