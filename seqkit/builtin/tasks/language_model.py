"""Built-in task ``language-model``: a character-level language model whose exported file is step-able.

Inputs: ``tokens`` int64 ``[batch, time]`` (character ids; 0 is the unknown character) and the cell's initial
state, ``h0`` (and ``c0`` for an LSTM) float32 ``[num_layers, batch, hidden]`` (zeros to start). Outputs:
``logits`` float32 ``[batch, time, vocab]`` (scores of the next character after each step) and the final state
``hn`` (and ``cn``). Feeding the final state back as the next call's initial state continues the text where the
last call stopped: the exported file *is* a streaming model, and ``seqkit generate`` samples from it one
character at a time in the torch-free runtime (:mod:`seqkit.runtime.generate`). The state's shapes come from the
cell (``Task.bind_cell``); a bidirectional cell cannot read left to right and is refused.

Training: the text is cut into non-overlapping windows of ``window`` characters; each predicts its characters
shifted by one, from a zero state. Loss: cross-entropy in nats; metric ``bpc``, bits per character (loss / ln 2).
Baseline: an interpolated bigram model (counts from the training text, stored by ``fit``; the next character's
probability given the previous one, smoothed towards the add-one unigram) on the same windows; ``unigram_bpc``
is the unigram alone.

Data: built-in ``fortunes`` (the Debian fortune quotes shipped for the classification task, BSD; train and test
are its two splits, quotes joined by newlines), a ``.txt`` file (its last ``test_fraction`` is the test split,
``all`` the whole text, which is also what ``--val-data FILE`` reads), or a CSV/TSV/JSONL with a ``text_column``
(rows joined by newlines; split likewise).
"""
from __future__ import annotations

import math
import string
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from seqkit import hookimpl
from seqkit.core.task import Dataset, Task, TensorSpec, packaged_file
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit.readers import read_table

UNK = 0
DEFAULT_VOCAB = sorted(set(string.printable) - set("\t\r\x0b\x0c"))
#: state tensor names by count: (inputs, outputs)
STATE_NAMES = {1: (["h0"], ["hn"]), 2: (["h0", "c0"], ["hn", "cn"])}


@dataclass
class LanguageModelConfig:
    window: int = 100              # characters per training window
    embedding_dim: int = 32
    min_count: int = 2             # characters seen fewer times in training become the unknown id 0
    test_fraction: float = 0.1     # for a user's file: its tail held out as the test split
    text_column: str = "text"
    smoothing: float = 2.0         # bigram baseline: weight of the unigram prior
    # learned by fit()
    vocab: list = field(default_factory=lambda: list(DEFAULT_VOCAB))  # character of id i + 1 is vocab[i]
    bigram_counts: list = field(default_factory=list)                  # [vocab_size, vocab_size]


class Windows:
    """Non-overlapping windows over ``text``: item i is (inputs, targets) as character ids, the targets shifted by
    one. Ids are computed with ``config.vocab`` when first needed, so the same object serves before and after
    ``fit`` learns the vocabulary."""

    def __init__(self, text: str, config: LanguageModelConfig, name: str):
        self.text, self.config, self.name = text, config, name
        self._key, self._ids = None, None

    @property
    def window(self) -> int:
        return min(self.config.window, len(self.text) - 1)

    def __len__(self):
        return len(range(0, len(self.text) - self.window, self.window)) if len(self.text) > 1 else 0

    def ids(self) -> np.ndarray:
        key = tuple(self.config.vocab)
        if key != self._key:
            index = {ch: i + 1 for i, ch in enumerate(key)}
            self._ids = np.array([index.get(ch, UNK) for ch in self.text], dtype=np.int64)
            self._key = key
        return self._ids

    def __getitem__(self, i):
        if not 0 <= i < len(self):
            raise IndexError(i)
        w = self.window
        s, ids = i * w, self.ids()
        return ids[s: s + w], ids[s + 1: s + w + 1]


class _Encoder(nn.Module):
    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)

    def forward(self, tokens, *state):
        return self.embedding(tokens), None, tuple(state)


class _Head(nn.Module):
    def __init__(self, in_size: int, vocab_size: int):
        super().__init__()
        self.proj = nn.Linear(in_size, vocab_size)

    def forward(self, outputs, state, lengths):
        return (self.proj(outputs), *state)


class LanguageModelTask(Task):
    """Characters -> next-character logits, with the recurrent state as inputs and outputs (streaming)."""

    Config = LanguageModelConfig
    CAPABILITIES = frozenset({"baselines", "state", "streaming"})

    def state_pairs(self):
        """``(h0, hn)`` (and ``(c0, cn)``): the state this task takes and returns; ``--streaming`` exports the same
        file, with the streaming metadata and the chunk-by-chunk proof."""
        _, (ins, outs) = self._state()
        return list(zip(ins, outs))

    def validate(self):
        c = self.config
        if c.window < 1 or c.embedding_dim < 1 or c.min_count < 1 or c.smoothing <= 0:
            raise ConfigError("language-model needs window, embedding_dim, min_count >= 1 and smoothing > 0")
        if not 0.0 < c.test_fraction < 1.0:
            raise ConfigError(f"test_fraction must be in (0, 1), got {c.test_fraction}")
        if not c.vocab or len(set(c.vocab)) != len(c.vocab) or any(len(ch) != 1 for ch in c.vocab):
            raise ConfigError("language-model vocab must be a non-empty list of distinct single characters")
        if c.bigram_counts and len(c.bigram_counts) != self.vocab_size():
            raise ConfigError(f"bigram counts are for {len(c.bigram_counts)} ids, the vocabulary has "
                              f"{self.vocab_size()}")

    def vocab_size(self) -> int:
        return len(self.config.vocab) + 1

    def bind_cell(self, cell):
        if cell.num_directions != 1:
            raise ConfigError("a language model reads left to right: use a unidirectional cell (--unidirectional)")
        n = cell.STATE_SIZE
        self.state_shape = (cell.num_layers, cell.hidden_size)
        self.state_names = STATE_NAMES.get(n, ([f"s{i}_in" for i in range(n)], [f"s{i}_out" for i in range(n)]))

    def _state(self) -> tuple[tuple[int, int], tuple[list[str], list[str]]]:
        if not hasattr(self, "state_shape"):
            raise SeqkitError("the language-model task does not know its cell's state yet; build the model with "
                              "seqkit.compose(...) (it calls task.bind_cell)")
        return self.state_shape, self.state_names

    def inputs(self):
        (layers, hidden), (names, _) = self._state()
        return [TensorSpec("tokens", ("batch", "time"), "int64", "character ids (0 unknown); see metadata vocab",
                           kind="ids", high=self.vocab_size())] + \
               [TensorSpec(n, (layers, "batch", hidden), "float32", "recurrent state to start from: zeros at the "
                           "start of a text, else the previous call's final state", kind="state") for n in names]

    def outputs(self):
        (layers, hidden), (_, names) = self._state()
        return [TensorSpec("logits", ("batch", "time", self.vocab_size()), "float32",
                           "scores of the next character after each step (softmax gives probabilities)")] + \
               [TensorSpec(n, (layers, "batch", hidden), "float32", "final recurrent state: feed it back to continue",
                           kind="state") for n in names]

    def feature_size(self):
        return self.config.embedding_dim

    def build_encoder(self):
        return _Encoder(self.vocab_size(), self.config.embedding_dim)

    def build_head(self, cell_output_size):
        return _Head(cell_output_size, self.vocab_size())

    # -- data ---------------------------------------------------------------------------------------------
    DATASETS = {
        "fortunes": Dataset("fortune-cookie quotes (Debian fortunes, BSD; the classification fixture's texts): 4 "
                            "categories, quotes joined by newlines, ~64k characters train / ~27k test",
                            file="classification/fortunes_{split}.csv"),
    }
    FILES = ("a .txt file or a CSV/TSV/JSONL with a text column (-T text_column=..; rows joined by newlines), its last "
             "test_fraction being the test split")
    FILE_SPLITS = ("train", "test", "all", "val")

    def load_dataset(self, name, split):
        with packaged_file(self.DATASETS[name].file.format(split=split)) as path:
            rows = read_table(path, ("text",))
        return Windows("".join(str(row["text"]) + "\n" for _, row in rows), self.config, f"{name} ({split})")

    def load_file(self, path, split, name):
        if not path.is_file():
            raise SeqkitError(f"{path} is not a file; give {self.FILES}")
        if path.suffix.lower() == ".txt":
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise SeqkitError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
        else:
            col = self.config.text_column
            text = "".join(str(row[col]) + "\n" for _, row in read_table(path, (col,)))
        cut = len(text) - int(round(len(text) * self.config.test_fraction))
        part = {"train": text[:cut], "test": text[cut:]}.get(split, text)  # all / val (--val-data FILE): all of it
        if len(part) < 2:
            raise SeqkitError(f"{path}: the {split} part holds {len(part)} characters; a language model needs more")
        return Windows(part, self.config, f"{path} ({split})")

    def encode(self, text: str) -> np.ndarray:
        """Character ids of ``text`` with the fitted vocabulary (0 for unknown characters)."""
        index = {ch: i + 1 for i, ch in enumerate(self.config.vocab)}
        return np.array([index.get(ch, UNK) for ch in text], dtype=np.int64)

    def split_validation(self, data, fraction, seed):
        """The text's last ``fraction`` for validation (contiguous text, not a random pick of windows)."""
        if not fraction or not isinstance(data, Windows):
            return None
        cut = len(data.text) - int(round(len(data.text) * fraction))
        train, val = (Windows(data.text[:cut], data.config, data.name),
                      Windows(data.text[cut:], data.config, data.name + " validation"))
        if not len(train) or not len(val):
            raise SeqkitError(f"{data.name}: too little text to hold out {fraction:.0%} for validation; give more "
                              f"text, a smaller window or val_fraction 0")
        return train, val

    def fit(self, data):
        if not isinstance(data, Windows) or len(data.text) < 2:
            raise SeqkitError("no training text: the data source gave fewer than 2 characters")
        c = self.config
        chars, counts = np.unique(np.array(list(data.text)), return_counts=True)
        c.vocab = sorted(str(ch) for ch, n in zip(chars, counts) if n >= c.min_count)
        if not c.vocab:
            raise SeqkitError(f"no character occurs {c.min_count} times in the training text; lower min_count")
        ids = data.ids()
        v = self.vocab_size()
        bigram = np.zeros((v, v), dtype=np.int64)
        np.add.at(bigram, (ids[:-1], ids[1:]), 1)
        c.bigram_counts = bigram.tolist()
        self.validate()

    def collate(self, samples):
        (layers, hidden), (names, _) = self._state()
        x = torch.from_numpy(np.stack([s[0] for s in samples]).astype(np.int64))
        y = torch.from_numpy(np.stack([s[1] for s in samples]).astype(np.int64))
        zeros = [torch.zeros(layers, len(samples), hidden) for _ in names]
        return (x, *zeros), y

    def loss(self, outputs, target):
        logits = outputs[0]
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))

    def metrics(self, outputs, target):
        return {"bpc": self.loss(outputs, target).item() / math.log(2)}

    def main_metric(self):
        return ("bpc", "min")

    def bigram_probabilities(self) -> tuple[np.ndarray, np.ndarray]:
        """(unigram [V], bigram [V, V]) next-character probabilities of the baseline, from the fitted counts."""
        c = self.config
        counts = np.asarray(c.bigram_counts, dtype=np.float64)
        unigram = (counts.sum(axis=0) + 1.0) / (counts.sum() + counts.shape[0])
        bigram = (counts + c.smoothing * unigram[None]) / (counts.sum(axis=1, keepdims=True) + c.smoothing)
        return unigram, bigram

    def baseline(self, train, test):
        """Bits per character of the bigram (``bpc``) and unigram (``unigram_bpc``) models on ``test``'s windows."""
        if not self.config.bigram_counts:
            return {}
        windows = test
        if not len(windows):
            return {}
        unigram, bigram = self.bigram_probabilities()
        x = np.stack([windows[i][0] for i in range(len(windows))]).ravel()
        y = np.stack([windows[i][1] for i in range(len(windows))]).ravel()
        return {"bpc": float(-np.log2(bigram[x, y]).mean()), "unigram_bpc": float(-np.log2(unigram[y]).mean())}

    def metadata(self):
        (layers, hidden), (ins, outs) = self._state()
        return {"vocab": list(self.config.vocab), "unknown_id": UNK, "id_of_char": "vocab.index(char) + 1",
                "streaming": {"state_inputs": ins, "state_outputs": outs, "shape": [layers, "batch", hidden],
                              "initial": "zeros", "generate": "seqkit generate MODEL.onnx --prompt TEXT "
                                                              "(seqkit.runtime.generate)"}}


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("language-model", LanguageModelTask)
