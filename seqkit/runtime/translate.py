"""Translation without torch: an exported encoder + decoder-step pair (Optimum's seq2seq layout) on onnxruntime.

``seqkit export`` of a sequence-to-sequence run writes ``NAME.onnx`` (the encoder: source ids and lengths in;
encoder outputs, their mask and the decoder's initial state out) and ``NAME.decoder.onnx`` (one decoder step:
previous token, state, encoder outputs and mask in; logits and the new state out). Both carry the same
``seqkit.seq2seq`` metadata: the two file names, the vocabularies, the special ids and the maximum length.

    from seqkit.runtime.translate import Translator
    t = Translator("en-zh.onnx")
    t.translate(["I like tea."])                  # greedy
    t.translate(["I like tea."], beam=5, length_penalty=0.6)

The tokenizers live here (numpy-free, torch-free) so that training and serving split text identically.
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np

from seqkit.errors import InputError, SeqkitError

META_KEY = "seqkit.seq2seq"
PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]
_WORDS = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def words(text: str, lowercase: bool = True) -> list[str]:
    """Words and punctuation marks as separate tokens (``"Don't!"`` -> ``don ' t !``)."""
    return _WORDS.findall(text.lower() if lowercase else text)


def target_tokens(text: str, unit: str) -> list[str]:
    """``char``: every non-space character (Chinese has no spaces); ``word``: words and punctuation, case kept."""
    if unit == "char":
        return [ch for ch in text if not ch.isspace()]
    return words(text, lowercase=False)


def detokenize(tokens: list[str], unit: str) -> str:
    return "".join(tokens) if unit == "char" else " ".join(tokens)


def read_seq2seq_metadata(path: str | os.PathLike) -> dict | None:
    """The ``seqkit.seq2seq`` metadata of an ONNX file, or None when it is not one half of a seq2seq pair."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception:
        return None
    value = session.get_modelmeta().custom_metadata_map.get(META_KEY)
    return json.loads(value) if value else None


class Translator:
    """The encoder file ``path`` and its decoder-step file (named in the metadata, beside it) on ``provider``.

    ``threads``: the decoder step's intra-op threads (None: one per core); the encoder runs on one thread.
    ``encoder`` / ``decoder`` may be given as already opened sessions (``seqkit.runtime.session.Session``), which
    export's verification does with its temporary files."""

    def __init__(self, path: str | os.PathLike, provider: str = "cpu", threads: int | None = None,
                 encoder=None, decoder=None, metadata: dict | None = None):
        from seqkit.runtime.session import open_session

        path = Path(path)
        self.meta = metadata or read_seq2seq_metadata(path)
        if not self.meta or self.meta.get("role") != "encoder":
            raise SeqkitError(f"{path} is not the encoder file of a seqkit sequence-to-sequence export (give the "
                              f"file `seqkit export` wrote with -o, not its .decoder.onnx)")
        decoder_path = path.parent / self.meta["decoder_file"]
        if decoder is None and not decoder_path.is_file():
            raise SeqkitError(f"the decoder step {decoder_path} that {path} names is missing; keep the two files "
                              f"of an export together")
        # The encoder runs once per batch, on one thread; ``threads`` go to the decoder step, run once per token.
        # Each session has its own thread pool, whose threads spin-wait after a run: two pools of 2 threads on 2
        # cores took each other's cores, and greedy decoding ran 1.8x slower (docs/tasks.md, "Two thread pools").
        self.encoder = encoder or open_session(str(path), provider, threads=1)
        self.decoder = decoder or open_session(str(decoder_path), provider, threads)
        self.source_index = {w: i for i, w in enumerate(self.meta["source_vocab"])}
        self.target_vocab = self.meta["target_vocab"]
        self.unit = self.meta["target_tokens"]
        self._dec_inputs = {i.name for i in self.decoder.session.get_inputs()}

    # -- text <-> ids ---------------------------------------------------------------------------------------
    def source_ids(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise InputError(f"a sentence to translate must be text, got {type(text).__name__}")
        ids = [self.source_index.get(w, UNK) for w in words(text, self.meta.get("lowercase", True))]
        return ids[: self.meta["max_source_length"]] or [UNK]

    def text(self, ids: list[int]) -> str:
        return detokenize([self.target_vocab[i] for i in ids if i >= len(SPECIALS)], self.unit)

    @staticmethod
    def pad(sources: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        lengths = np.array([len(s) for s in sources], dtype=np.int64)
        ids = np.zeros((len(sources), int(lengths.max())), dtype=np.int64)
        for row, s in enumerate(sources):
            ids[row, : len(s)] = s
        return ids, lengths

    # -- the two files --------------------------------------------------------------------------------------
    def encode(self, ids: np.ndarray, lengths: np.ndarray) -> dict[str, np.ndarray]:
        names = [o.name for o in self.encoder.session.get_outputs()]
        return dict(zip(names, self.encoder.run({"source": ids, "source_lengths": lengths})))

    def start(self, encoded: dict) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        state = [encoded[name] for name in self.meta["state_from_encoder"]]
        return state, encoded["encoder_outputs"], encoded["encoder_mask"]

    def step(self, tokens: np.ndarray, state: list[np.ndarray], memory: np.ndarray, mask: np.ndarray):
        """``(logits [batch, vocab], new state)`` after feeding ``tokens`` [batch]."""
        feeds = {"token": tokens, "encoder_outputs": memory, "encoder_mask": mask,
                 **dict(zip(self.meta["state_inputs"], state))}
        out = self.decoder.run({k: v for k, v in feeds.items() if k in self._dec_inputs})
        return out[0], list(out[1:])

    # -- decoding -------------------------------------------------------------------------------------------
    def greedy_ids(self, sources: list[list[int]], max_length: int | None = None) -> list[list[int]]:
        """Greedy decoding of a batch of source id lists: the target ids of each, without BOS/EOS.

        A sentence that has emitted EOS leaves the batch: later steps run on the unfinished rows only (each row's
        result does not depend on the others, so this changes no token; it saves the finished rows' arithmetic,
        most of a step's cost at batch 32). ``seqkit.kit.seq2seq.greedy``, PyTorch's loop, does the same."""
        max_length = max_length or self.meta["max_length"]
        encoded = self.encode(*self.pad(sources))
        state, memory, mask = self.start(encoded)
        tokens = np.full(len(sources), BOS, dtype=np.int64)
        rows = np.arange(len(sources))  # the sentence of each row still in the batch
        out: list[list[int]] = [[] for _ in sources]
        for _ in range(max_length):
            logits, state = self.step(tokens, state, memory, mask)
            tokens = logits.argmax(axis=-1).astype(np.int64)
            going = tokens != EOS
            for row, tok in zip(rows[going].tolist(), tokens[going].tolist()):
                out[row].append(tok)
            if not going.all():
                if not going.any():
                    break
                rows, tokens, memory, mask = rows[going], tokens[going], memory[going], mask[going]
                state = [s[:, going] for s in state]  # [layers, batch, hidden]
        return out

    def beam_ids(self, source: list[int], width: int = 5, length_penalty: float = 0.0,
                 max_length: int | None = None) -> tuple[list[int], float]:
        """Beam search for one sentence: ``(target ids, log-probability)``. Hypotheses are ranked by
        log-probability / ((5 + length) / 6) ** ``length_penalty`` (GNMT's; 0: raw log-probability)."""
        if width < 1:
            raise SeqkitError(f"beam width must be >= 1, got {width}")
        max_length = max_length or self.meta["max_length"]
        state, memory, mask = self.start(self.encode(*self.pad([source])))
        beams: list[tuple[float, list[int]]] = [(0.0, [])]
        finished: list[tuple[float, list[int]]] = []

        def rank(score: float, ids: list[int]) -> float:
            return score / (((5.0 + len(ids) + 1) / 6.0) ** length_penalty)

        for step in range(max_length):
            k = len(beams)
            tokens = np.array([ids[-1] if ids else BOS for _, ids in beams], dtype=np.int64)
            logits, new_state = self.step(tokens, state, np.repeat(memory, k, 0), np.repeat(mask, k, 0))
            logp = logits - logits.max(-1, keepdims=True)
            logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
            total = np.array([s for s, _ in beams])[:, None] + logp
            order = np.argsort(-total, axis=None)[: 2 * width]
            alive, keep = [], []
            for flat in order:
                row, tok = divmod(int(flat), total.shape[1])
                score, ids = float(total[row, tok]), beams[row][1]
                if tok == EOS or step == max_length - 1:
                    finished.append((score, ids if tok == EOS else ids + [tok]))
                elif len(alive) < width:
                    alive.append((score, ids + [tok]))
                    keep.append(row)
            best_done = max((rank(s, i) for s, i in finished), default=-math.inf)
            if not alive or (len(finished) >= width and best_done >= max(rank(s, i) for s, i in alive)):
                break
            beams = alive
            state = [s[:, keep] for s in new_state]
        score, ids = max(finished, key=lambda f: rank(*f))
        return ids, score

    def score(self, source: list[int], target: list[int]) -> float:
        """Log-probability of ``target`` (ids without BOS/EOS, EOS scored at the end) given ``source``."""
        state, memory, mask = self.start(self.encode(*self.pad([source])))
        total, previous = 0.0, BOS
        for tok in [*target, EOS]:
            logits, state = self.step(np.array([previous], dtype=np.int64), state, memory, mask)
            row = logits[0] - logits[0].max()
            total += float(row[tok] - np.log(np.exp(row).sum()))
            previous = tok
        return total

    def translate(self, texts: list[str], beam: int = 1, length_penalty: float = 0.0, batch_size: int = 32,
                  max_length: int | None = None) -> list[str]:
        """Translations of ``texts``: greedy (``beam`` 1, batched) or beam search of that width."""
        sources = [self.source_ids(t) for t in texts]
        if beam <= 1:
            out = []
            for start in range(0, len(sources), batch_size):
                out += self.greedy_ids(sources[start: start + batch_size], max_length)
            return [self.text(ids) for ids in out]
        return [self.text(self.beam_ids(s, beam, length_penalty, max_length)[0]) for s in sources]
