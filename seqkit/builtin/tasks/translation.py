"""Built-in task ``translation``: an encoder-decoder with attention, built from ONE cell plugin.

The composition's cell is the encoder (bidirectional allowed); the decoder is a second cell of the same plugin,
built through the cell factory that ``compose()`` hands to ``bind_cell_factory`` (:mod:`seqkit.core.seq2seq`),
always unidirectional. Attention: ``-T attention=additive`` (Bahdanau et al. 2015), ``dot`` or ``none``.

Training graph (the composed model; teacher forcing): inputs ``source`` int64 [batch, time] (word ids, 0 padding),
``source_lengths`` [batch] and ``target_in`` int64 [batch, time] (BOS + reference, padded with 0; source and target
share the padded time axis); output ``logits`` [batch, time, target vocab]. Padding: source lengths mask the
attention and stop the encoder; padded target positions are ignored by the loss.

Deployment: an encoder and a decoder step (:mod:`seqkit.onnx.seq2seq`), decoded without torch
(:mod:`seqkit.runtime.translate`). Data, scores and baselines: docs/tasks.md#translation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from seqkit import hookimpl
from seqkit.core.seq2seq import Seq2SeqParts
from seqkit.core.task import Task, TensorSpec
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit import mt_scores
from seqkit.kit.mt_baselines import IBMModel1, TranslationMemory
from seqkit.kit.pairs import FORMATS, Pairs, read_pairs, split_pairs, vocabularies
from seqkit.kit.seq2seq import ATTENTIONS, Bridge, DecoderStep, EncoderPart, TeacherForcedHead, greedy
from seqkit.runtime.translate import BOS, EOS, PAD, SPECIALS, detokenize, target_tokens, words

STATE_NAMES = {1: (["h"], ["h_out"], ["h0"]), 2: (["h", "c"], ["h_out", "c_out"], ["h0", "c0"])}


@dataclass
class TranslationConfig:
    attention: str = "additive"     # additive (Bahdanau), dot (Luong) or none
    embedding_dim: int = 64
    attention_size: int = 64
    target_tokens: str = "char"     # char (Chinese, Japanese) or word
    min_count: int = 2              # tokens seen fewer times in training become <unk>
    max_source_length: int = 20     # pairs with longer sources (words) are left out when reading
    max_target_length: int = 40     # ... and longer targets (tokens)
    max_pairs: int = 0              # > 0: a seeded sample of this many pairs (quick runs)
    test_fraction: float = 0.1      # distinct source sentences held out, with all their translations
    split_seed: int = 0
    source_column: str = "source"   # CSV header / JSONL keys
    target_column: str = "target"
    buckets: list[int] = field(default_factory=lambda: [4, 8, 12])  # source-length bucket edges (words)
    eval_batch: int = 64
    # learned by fit()
    source_vocab: list = field(default_factory=lambda: list(SPECIALS[:2]))
    target_vocab: list = field(default_factory=lambda: list(SPECIALS))
    examples: list = field(default_factory=list)   # a few training sources: export verifies greedy decodes on them
    train_source: str = ""


class _Embed(nn.Module):
    """The task encoder: source word embeddings and lengths (``target_in`` goes to the head)."""

    def __init__(self, vocab: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)

    def forward(self, source, source_lengths, target_in):
        return self.embedding(source), source_lengths


class TranslationTask(Task):
    Config = TranslationConfig

    def validate(self):
        c = self.config
        if c.attention not in ATTENTIONS:
            raise ConfigError(f"attention must be one of {', '.join(ATTENTIONS)}, got {c.attention!r}")
        if c.target_tokens not in ("char", "word"):
            raise ConfigError(f"target_tokens must be char or word, got {c.target_tokens!r}")
        if min(c.embedding_dim, c.attention_size, c.min_count, c.max_source_length, c.max_target_length,
               c.eval_batch) < 1 or c.max_pairs < 0:
            raise ConfigError("translation needs embedding_dim, attention_size, min_count, max_source_length, "
                              "max_target_length, eval_batch >= 1 and max_pairs >= 0")
        if not 0.0 < c.test_fraction < 1.0:
            raise ConfigError(f"test_fraction must be in (0, 1), got {c.test_fraction}")
        if list(c.buckets) != sorted(set(c.buckets)) or any(b < 1 for b in c.buckets):
            raise ConfigError(f"buckets must be increasing positive word counts, got {c.buckets}")

    # -- the model ------------------------------------------------------------------------------------------
    def bind_cell_factory(self, factory):
        self._factory = factory

    def bind_cell(self, cell):
        self._cell = cell
        self._shape = (cell.num_layers, cell.num_directions, cell.hidden_size, cell.STATE_SIZE)
        if cell.STATE_SIZE not in STATE_NAMES:
            n = cell.STATE_SIZE
            STATE_NAMES[n] = ([f"s{i}" for i in range(n)], [f"s{i}_out" for i in range(n)], [f"s{i}_0" for i in
                                                                                              range(n)])

    def inputs(self):
        return [TensorSpec("source", ("batch", "time"), "int64", "source word ids (0 padding)", kind="ids",
                           high=len(self.config.source_vocab)),
                TensorSpec("source_lengths", ("batch",), "int64", "source words per sentence", kind="lengths"),
                TensorSpec("target_in", ("batch", "time"), "int64", "BOS + reference ids (teacher forcing)",
                           kind="ids", high=len(self.config.target_vocab))]

    def outputs(self):
        return [TensorSpec("logits", ("batch", "time", len(self.config.target_vocab)), "float32",
                           "scores of the next target token")]

    def feature_size(self):
        return self.config.embedding_dim

    def build_encoder(self):
        self._embed = _Embed(len(self.config.source_vocab), self.config.embedding_dim)
        return self._embed

    def build_head(self, cell_output_size):
        if not hasattr(self, "_factory") or not hasattr(self, "_cell"):
            raise SeqkitError("the translation task builds its decoder from the cell factory; build the model with "
                              "seqkit.compose(...)")
        layers, dirs, hidden, count = self._shape
        c = self.config
        self._bridge = Bridge(layers, dirs, hidden, hidden, count)
        self._step = DecoderStep(self._factory, len(c.target_vocab), c.embedding_dim, cell_output_size, c.attention,
                                 c.attention_size, hidden, count)
        return TeacherForcedHead(self._bridge, self._step)

    def greedy(self, sources: list, max_length: int | None = None) -> list[list[int]]:
        """Greedy target ids of source id arrays (PyTorch; batched as given)."""
        encoder = EncoderPart(self._embed.embedding, self._cell, self._bridge)
        return greedy(encoder, self._step, sources, max_length or self.config.max_target_length + 1)

    def seq2seq_parts(self) -> Seq2SeqParts:
        layers, _, hidden, count = self._shape
        ins, outs, from_enc = STATE_NAMES[count]
        c = self.config
        memory = self._cell.output_size
        state = [TensorSpec(n, (layers, "batch", hidden), "float32", "decoder state") for n in ins]
        enc_outputs = [TensorSpec("encoder_outputs", ("batch", "time", memory), "float32", "encoder outputs"),
                       TensorSpec("encoder_mask", ("batch", "time"), "float32", "1 for source words, 0 padding")] + \
            [TensorSpec(n, (layers, "batch", hidden), "float32", "the decoder's initial state") for n in from_enc]
        dec_inputs = [TensorSpec("token", ("batch",), "int64", "previous target token (BOS first)", kind="ids",
                                 high=len(c.target_vocab))] + state + enc_outputs[:2]
        dec_outputs = [TensorSpec("logits", ("batch", len(c.target_vocab)), "float32", "next-token scores")] + \
            [TensorSpec(n, (layers, "batch", hidden), "float32", "new decoder state") for n in outs]
        examples = [self.encode_source(s) for s in c.examples]
        meta = {"source_vocab": list(c.source_vocab), "target_vocab": list(c.target_vocab), "pad_id": PAD,
                "bos_id": BOS, "eos_id": EOS, "unk_id": 1, "max_length": c.max_target_length + 1,
                "max_source_length": c.max_source_length, "target_tokens": c.target_tokens, "lowercase": True,
                "attention": c.attention}
        return Seq2SeqParts(EncoderPart(self._embed.embedding, self._cell, self._bridge), self.inputs()[:2],
                            enc_outputs, self._step, dec_inputs, dec_outputs, ins, outs, from_enc,
                            lambda sources, n=None: self.greedy(sources, n), examples, meta)

    def encode_source(self, text: str) -> np.ndarray:
        index = {w: i for i, w in enumerate(self.config.source_vocab)}
        return np.array([index.get(w, 1) for w in words(text)][: self.config.max_source_length] or [1],
                        dtype=np.int64)

    # -- data -----------------------------------------------------------------------------------------------
    FILES = (f"sentence pairs: {FORMATS}. English-Chinese: download cmn-eng.zip from https://www.manythings.org/anki/ "
             f"(Tatoeba sentences, CC BY 2.0 FR), unzip it and pass --data cmn.txt")
    FILE_SPLITS = ("train", "test", "all", "val")

    def load_file(self, path, split, name):
        c = self.config
        pairs = read_pairs(path, c.source_column, c.target_column)
        keep = [i for i, (source, target) in enumerate(pairs) if len(words(source)) <= c.max_source_length
                and 0 < len(target_tokens(target, c.target_tokens)) <= c.max_target_length]
        if c.max_pairs and len(keep) > c.max_pairs:
            keep = sorted(np.random.default_rng(c.split_seed).permutation(keep)[: c.max_pairs].tolist())
        pairs = [pairs[i] for i in keep]
        if not pairs:
            raise SeqkitError(f"{path}: no pair has at most {c.max_source_length} source words and "
                              f"{c.max_target_length} target tokens; raise max_source_length / max_target_length")
        if split in ("all", "val"):
            return Pairs(pairs, c, f"{name} ({split})")
        kept, held = split_pairs(pairs, c.test_fraction, c.split_seed)
        chosen = kept if split == "train" else held
        if not chosen:
            raise SeqkitError(f"{path}: {len(pairs)} pairs are too few for a {split} split; give more pairs")
        return Pairs([pairs[i] for i in chosen], c, f"{name} ({split})")

    def split_validation(self, data, fraction, seed):
        if not fraction or not isinstance(data, Pairs):
            return None
        kept, held = split_pairs(data.pairs, fraction, seed)
        if not kept or not held:
            raise SeqkitError(f"{data.name}: too few distinct sentences to hold out {fraction:.0%} for validation")
        return data.subset(kept, data.name), data.subset(held, data.name + " validation")

    def fit(self, data):
        if not isinstance(data, Pairs) or not len(data):
            raise SeqkitError("no training pairs: the data source gave none")
        c = self.config
        c.source_vocab, c.target_vocab = vocabularies(data, c.min_count)
        c.examples = [data.pairs[i][0] for i in np.linspace(0, len(data) - 1, min(8, len(data))).astype(int)]
        self.validate()

    def collate(self, samples):
        time = max(max(len(s[0]), len(s[1]) - 1) for s in samples)
        source = torch.zeros(len(samples), time, dtype=torch.int64)
        target_in = torch.zeros(len(samples), time, dtype=torch.int64)
        target = torch.zeros(len(samples), time, dtype=torch.int64)
        for row, (src, tgt, _) in enumerate(samples):
            source[row, : len(src)] = torch.from_numpy(src)
            target_in[row, : len(tgt) - 1] = torch.from_numpy(tgt[:-1])
            target[row, : len(tgt) - 1] = torch.from_numpy(tgt[1:])
        lengths = torch.tensor([len(s[0]) for s in samples], dtype=torch.int64)
        return (source, lengths, target_in), target

    def loss(self, outputs, target):
        logits = outputs[0]
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                           ignore_index=PAD)

    def metrics(self, outputs, target):
        real = target != PAD
        right = (outputs[0].argmax(-1) == target) & real
        return {"token_accuracy": float(right.sum()) / max(1, int(real.sum()))}

    # -- scores ---------------------------------------------------------------------------------------------
    def _scored(self, data: Pairs, hypotheses: list[str]) -> dict:
        sources, refs = data.references()
        lengths = [len(words(s)) for s in sources]
        result = mt_scores.scores(hypotheses, refs, self.config.target_tokens)
        result["bleu_by_length"] = mt_scores.bleu_by_bucket(hypotheses, refs, lengths, self.config.buckets,
                                                            self.config.target_tokens)
        return result

    def translate_texts(self, texts: list[str]) -> list[str]:
        was = self._step.training
        self._step.eval(), self._cell.eval()
        out = []
        for start in range(0, len(texts), self.config.eval_batch):
            chunk = [self.encode_source(t) for t in texts[start: start + self.config.eval_batch]]
            out += self.greedy(chunk)
        self._step.train(was)
        vocab = self.config.target_vocab
        return [detokenize([vocab[i] for i in ids if i >= len(SPECIALS)], self.config.target_tokens) for ids in out]

    def report(self, outputs, target, data):
        """Greedy translations of every distinct test source: BLEU, chrF (sacrebleu) and BLEU by length."""
        if not isinstance(data, Pairs):
            return {}
        sources, _ = data.references()
        scored = self._scored(data, self.translate_texts(sources))
        return {"bleu": scored["bleu"], "chrf": scored["chrf"],
                **{f"bleu_{k}": v["bleu"] for k, v in scored["bleu_by_length"].items()},
                "signatures": scored["signatures"],
                "translation": {"decode": "greedy", "sentences": len(sources),
                                "bleu_by_length": scored["bleu_by_length"]}}

    def baselines(self, train, test):
        train = train if train is not None else self.training_data()
        if train is None or not isinstance(test, Pairs):
            return {}
        src = [words(s) for s, _ in train.pairs]
        tgt = [train.target_tokens(i) for i in range(len(train))]
        sources, _ = test.references()
        ibm = IBMModel1().fit(src, tgt)
        memory = TranslationMemory().fit(src, [t for _, t in train.pairs])
        unit = self.config.target_tokens
        out = {}
        for name, hyps in (("ibm1_word_by_word", [detokenize(ibm.translate(words(s)), unit) for s in sources]),
                           ("translation_memory", [memory.translate(words(s)) for s in sources])):
            scored = self._scored(test, hyps)
            out[name] = {"bleu": scored["bleu"], "chrf": scored["chrf"],
                         **{f"bleu_{k}": v["bleu"] for k, v in scored["bleu_by_length"].items()}}
        return out

    def metadata(self):
        return {"source_vocab_size": len(self.config.source_vocab),
                "target_vocab_size": len(self.config.target_vocab), "attention": self.config.attention}

    def streaming_problem(self):
        return "a translation model is exported as an encoder and a decoder step (seqkit export without --streaming)"


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("translation", TranslationTask)
