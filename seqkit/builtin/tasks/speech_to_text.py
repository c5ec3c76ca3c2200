"""Built-in task ``speech-to-text``: acoustic frames of an utterance -> its transcription, trained with CTC.

Inputs: ``frames`` float32 ``[batch, time, num_coeffs]`` (raw log-mel energies from :mod:`seqkit.kit.audio`; the
model standardises them) and ``lengths``. Output: ``log_probs`` float32 ``[batch, time, symbols]``, per frame the
log-probabilities of the CTC blank (id 0) and of each character of the fitted ``alphabet`` (id i is
``alphabet[i - 1]``); frames at or after ``lengths[i]`` carry no meaning. Training minimises the CTC loss
(``torch.nn.functional.ctc_loss``: every frame-level path that reads as the transcription counts); reading the
text back is greedy (best-path) decoding, :func:`seqkit.runtime.ctc.greedy_decode`, numpy only, which the
exported file's metadata names with its alphabet and front end.

Metrics: ``cer`` and ``wer``, the character and word error rates (edit distance / reference length) averaged over
utterances. Baseline: the best *constant* transcription (the training transcription with the lowest mean word
error rate on the training set, found in ``fit``): what a model that ignores the audio can reach.

Data: built-in ``digit-strings`` (2-5 digit words spoken by espeak-ng, 8 voices x 3 speeds x 2 pitches; the test
split is two voices never heard in training), a CSV/TSV/JSONL manifest with columns ``audio`` (a 16 kHz WAV,
relative to the manifest) and ``text``, or an ``.npz`` with ``frames [total frames, coeffs]`` (utterances
concatenated), ``lengths [items]`` and ``texts [items]``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from seqkit import hookimpl
from seqkit.core.task import Dataset, Task, TensorSpec, packaged_file
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit.audio import FrontEnd, wav_features
from seqkit.kit.readers import pad, read_arrays, read_table
from seqkit.kit.scaling import ScaleFrames, mean_std
from seqkit.runtime.ctc import edit_distance, error_rate, greedy_decode

DEFAULT_ALPHABET = list(" 'abcdefghijklmnopqrstuvwxyz")


@dataclass
class Utterance:
    """Frames ``x`` float32 ``[time, coeffs]``, the transcription, and where it came from (for errors)."""

    x: np.ndarray
    text: str
    where: str


def normalise(text: str) -> str:
    """Transcriptions are compared lower-cased with single spaces."""
    return " ".join(str(text).lower().split())


@dataclass
class SpeechToTextConfig:
    num_coeffs: int = 20           # coefficients per frame (set by fit() from the data)
    # log-mel front end for WAV files (seqkit.kit.audio.FrontEnd; numpy, outside the model)
    sample_rate: int = 16000
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_mels: int = 20
    # learned by fit()
    alphabet: list = field(default_factory=lambda: list(DEFAULT_ALPHABET))  # symbol i (>= 1) is alphabet[i - 1]
    mean: list = field(default_factory=list)
    std: list = field(default_factory=list)
    baseline_text: str = ""        # the best constant transcription on the training data


class _Head(nn.Module):
    """Per-frame log-probabilities over blank + alphabet."""

    def __init__(self, in_size: int, symbols: int):
        super().__init__()
        self.proj = nn.Linear(in_size, symbols)

    def forward(self, outputs, state, lengths):
        return (torch.log_softmax(self.proj(outputs), dim=-1),)


class SpeechToTextTask(Task):
    """Frames -> per-frame CTC log-probabilities; greedy decoding gives the text."""

    CAPABILITIES = frozenset({"baselines", "streaming"})

    Config = SpeechToTextConfig

    def validate(self):
        c = self.config
        if c.num_coeffs <= 0 or c.n_mels <= 0 or c.sample_rate <= 0 or not 0 < c.hop_ms <= c.win_ms:
            raise ConfigError("speech-to-text needs num_coeffs, n_mels, sample_rate > 0 and 0 < hop_ms <= win_ms")
        if not c.alphabet or any(not isinstance(a, str) or len(a) != 1 for a in c.alphabet) or \
                len(set(c.alphabet)) != len(c.alphabet):
            raise ConfigError("speech-to-text alphabet must be a non-empty list of distinct single characters")
        if len(c.mean) != len(c.std) or (c.mean and len(c.mean) != c.num_coeffs):
            raise ConfigError(f"normalisation has {len(c.mean)} means for {c.num_coeffs} coefficients")

    def front_end(self) -> FrontEnd:
        c = self.config
        return FrontEnd(sample_rate=c.sample_rate, win_ms=c.win_ms, hop_ms=c.hop_ms, n_mels=c.n_mels,
                        fmax=c.sample_rate / 2)

    def symbols(self) -> int:
        return len(self.config.alphabet) + 1

    def inputs(self):
        return [TensorSpec("frames", ("batch", "time", self.config.num_coeffs), "float32",
                           "raw log-mel frames (the model standardises them); frames at or after lengths[i] are "
                           "ignored"),
                TensorSpec("lengths", ("batch",), "int64", "valid frames per utterance, 1..time", kind="lengths")]

    def outputs(self):
        return [TensorSpec("log_probs", ("batch", "time", self.symbols()), "float32",
                           "per frame: log-probabilities of the CTC blank (0) and of alphabet[i - 1] (i >= 1); "
                           "decode the first lengths[i] frames greedily (seqkit.runtime.ctc.greedy_decode)")]

    def feature_size(self):
        return self.config.num_coeffs

    def build_encoder(self):
        return ScaleFrames(self.config.mean, self.config.std)

    def build_head(self, cell_output_size):
        return _Head(cell_output_size, self.symbols())

    # -- data ---------------------------------------------------------------------------------------------
    DATASETS = {
        "digit-strings": Dataset("2-5 digit words ('seven two nine') synthesised by espeak-ng, 8 voices x 3 speeds x "
                                 "2 pitches x 12 strings, 20 log-mel energies per 10 ms frame; test = 2 voices unseen "
                                 "in training, 432/144", file="speech/digit_strings.npz"),
    }
    FILES = "a CSV/TSV/JSONL manifest with columns audio and text, or an .npz with frames, lengths, texts"

    def load_file(self, path, split, name):
        if not path.is_file():
            raise SeqkitError(f"{path} is not a file; give {self.FILES}")
        if path.suffix.lower() == ".npz":
            a = read_arrays(path, ("frames", "lengths", "texts"))
            return self._concatenated(a["frames"].astype(np.float32), a["lengths"], a["texts"], str(path))
        fe = self.front_end()
        items = []
        for line, row in read_table(path, ("audio", "text")):
            wav = path.parent / str(row["audio"])
            if not wav.is_file():
                raise SeqkitError(f"{path} line {line}: audio file {wav} does not exist; paths are relative to "
                                  f"{path.parent}")
            items.append(Utterance(wav_features(wav, fe), normalise(row["text"]), f"{path} line {line}"))
        return items

    def load_dataset(self, name, split):
        with packaged_file(self.DATASETS[name].file) as path, np.load(path, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
        frames = a["low"] + a["step"] * a["codes"].astype(np.float32)
        items = self._concatenated(frames, a["lengths"], a["texts"], f"{name} ({split})")
        keep = (a["voice"] >= 6) == (split == "test")  # voices 6 and 7 are held out
        return [items[i] for i in np.flatnonzero(keep)]

    @staticmethod
    def _concatenated(frames, lengths, texts, name) -> list[Utterance]:
        lengths = np.asarray(lengths)
        if frames.ndim != 2 or lengths.ndim != 1 or len(texts) != len(lengths) or lengths.sum() != len(frames) \
                or (lengths < 1).any():
            raise SeqkitError(f"{name}: expected frames [total frames, coeffs], lengths [items] >= 1 summing to the "
                              f"total and texts [items]; got frames {list(frames.shape)}, lengths "
                              f"{list(lengths.shape)} (sum {int(lengths.sum())}), texts {len(texts)}")
        starts = np.concatenate([[0], np.cumsum(lengths)])
        return [Utterance(np.asarray(frames[starts[i]:starts[i + 1]], dtype=np.float32), normalise(texts[i]),
                          f"{name} item {i}") for i in range(len(lengths))]

    def fit(self, data):
        if len(data) == 0:
            raise SeqkitError("no training data: the data source gave no utterances")
        widths = {s.x.shape[1] for s in data}
        if len(widths) > 1:
            raise SeqkitError(f"utterances have different coefficient counts {sorted(widths)}; every frame needs "
                              f"the same")
        c = self.config
        c.num_coeffs = widths.pop()
        c.mean, c.std = mean_std([s.x for s in data])
        c.alphabet = sorted({ch for s in data for ch in s.text})
        if not c.alphabet:
            raise SeqkitError(f"every training transcription is empty ({data[0].where} ...); nothing to learn")
        c.baseline_text = best_constant([s.text for s in data])
        self.validate()

    def collate(self, samples):
        c = self.config
        index = {ch: i + 1 for i, ch in enumerate(c.alphabet)}
        labels = []
        for s in samples:
            if s.x.shape[1] != c.num_coeffs:
                raise SeqkitError(f"{s.where}: {s.x.shape[1]} coefficients per frame, the model expects "
                                  f"{c.num_coeffs}")
            unknown = sorted(set(s.text) - set(index))
            if unknown:
                raise SeqkitError(f"{s.where}: characters {''.join(unknown)!r} are not in the model's alphabet "
                                  f"{''.join(c.alphabet)!r}; drop the utterance or retrain with it")
            labels.append(np.array([index[ch] for ch in s.text], dtype=np.int64))
        x, lengths = pad([s.x for s in samples], torch.float32)
        targets, target_lengths = pad(labels, torch.int64)
        return (x, lengths), (targets, target_lengths, lengths.clone())

    def loss(self, outputs, target):
        targets, target_lengths, input_lengths = target
        log_probs = outputs[0].transpose(0, 1)  # [time, batch, symbols]
        return nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0,
                                      reduction="mean", zero_infinity=True)

    def texts(self, targets, target_lengths) -> list[str]:
        alphabet = self.config.alphabet
        return ["".join(alphabet[int(i) - 1] for i in row[:n]) for row, n in zip(targets.tolist(),
                                                                                    target_lengths.tolist())]

    def metrics(self, outputs, target):
        targets, target_lengths, input_lengths = (t.cpu() for t in target)
        hyps = greedy_decode(outputs[0].detach().cpu().numpy(), input_lengths.numpy(), self.config.alphabet)
        refs = self.texts(targets, target_lengths)
        return {"cer": float(np.mean([error_rate(r, h) for r, h in zip(refs, hyps)])),
                "wer": float(np.mean([error_rate(r.split(), h.split()) for r, h in zip(refs, hyps)]))}

    def main_metric(self):
        return ("cer", "min")

    def baseline(self, train, test):
        """CER and WER on ``test`` of always answering the best constant transcription (fitted on training)."""
        if not len(test):
            return {}
        guess = self.config.baseline_text
        return {"cer": float(np.mean([error_rate(s.text, guess) for s in test])),
                "wer": float(np.mean([error_rate(s.text.split(), guess.split()) for s in test]))}

    def metadata(self):
        c = self.config
        return {"alphabet": list(c.alphabet), "blank": 0,
                "decoder": "CTC greedy (best path): seqkit.runtime.ctc.greedy_decode(log_probs, lengths, alphabet)",
                "normalisation": {"mean": c.mean, "std": c.std, "applied": "inside the model: feed raw log-mel"},
                "front_end": {"sample_rate": c.sample_rate, "win_ms": c.win_ms, "hop_ms": c.hop_ms,
                              "n_mels": c.n_mels,
                              "implementation": "seqkit.kit.audio.wav_features (numpy), not in the graph"}}


def best_constant(texts: list[str], candidates: int = 100, seed: int = 0) -> str:
    """The transcription, among up to ``candidates`` distinct training ones (seeded pick), with the lowest mean
    word error rate over ``texts``: the answer of a model that ignores the audio."""
    distinct = sorted(set(texts))
    if len(distinct) > candidates:
        distinct = [distinct[i] for i in np.random.default_rng(seed).choice(len(distinct), candidates, replace=False)]
    words = [t.split() for t in texts]

    def cost(guess: str) -> float:
        g = guess.split()
        return sum(edit_distance(w, g) / max(1, len(w)) for w in words)

    return min(sorted(distinct), key=cost)


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("speech-to-text", SpeechToTextTask)
