"""Built-in task ``speech-frames``: acoustic feature frames of an utterance -> one label (speaker, word...).

Inputs: ``frames`` float32 ``[batch, time, num_coeffs]`` (raw coefficients: the model standardises them with the
per-coefficient mean/std that ``fit()`` learned) and ``lengths``. Output: ``logits`` ``[batch, num_classes]``,
from the cell outputs pooled over each utterance's valid frames.

Data: built-in ``japanese-vowels`` (12 LPC cepstrum coefficients per frame, 9 speakers) and ``spoken-digits``
(20 log-mel energies per frame of digit words synthesised by espeak-ng, 10 words), a folder of 16 kHz WAV files
in per-label subfolders (turned into log-mel frames by :mod:`seqkit.kit.audio`, numpy only, outside the model), or an
``.npz`` with ``frames [items, time, coeffs]``, ``labels [items]`` and optional ``lengths [items]``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seqkit import hookimpl
from seqkit.core.task import Dataset, TensorSpec, packaged_file
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit.audio import FrontEnd, wav_folder
from seqkit.kit.labels import Item, LabelledSequenceTask, read_npz_items
from seqkit.kit.scaling import ScaleFrames, mean_std


@dataclass
class SpeechFramesConfig:
    num_coeffs: int = 12           # coefficients per frame (set by fit() from the data)
    num_classes: int = 9
    pooling: str = "mean"          # last | mean | max, over each utterance's valid frames
    linear_skip: bool = False      # add the ridge baseline on pooled frame statistics as a path past the cell
    # log-mel front end for WAV folders (seqkit.kit.audio.FrontEnd; numpy, outside the model)
    sample_rate: int = 16000
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_mels: int = 20
    # learned by fit()
    labels: list[str] = field(default_factory=list)
    class_counts: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    features: str = ""             # what the coefficients are, recorded in the exported file
    train_source: str = ""         # the training data's dataset name or path (recorded by load_data; baselines)


class SpeechFramesTask(LabelledSequenceTask):
    """Acoustic frames (LPC cepstra, log-mel...) -> utterance label, pooled over valid frames."""

    Config = SpeechFramesConfig

    def validate(self):
        super().validate()
        c = self.config
        if c.num_coeffs <= 0 or c.n_mels <= 0 or c.sample_rate <= 0 or not 0 < c.hop_ms <= c.win_ms:
            raise ConfigError("speech-frames needs num_coeffs, n_mels, sample_rate > 0 and 0 < hop_ms <= win_ms")
        if c.mean and len(c.mean) != c.num_coeffs:
            raise ConfigError(f"normalisation has {len(c.mean)} means for {c.num_coeffs} coefficients")

    def front_end(self) -> FrontEnd:
        c = self.config
        return FrontEnd(sample_rate=c.sample_rate, win_ms=c.win_ms, hop_ms=c.hop_ms, n_mels=c.n_mels,
                        fmax=c.sample_rate / 2)

    def inputs(self):
        return [TensorSpec("frames", ("batch", "time", self.config.num_coeffs), "float32",
                           "raw feature frames (the model standardises them); frames at or after lengths[i] are "
                           "ignored"),
                TensorSpec("lengths", ("batch",), "int64", "valid frames per utterance, 1..time", kind="lengths")]

    def item_shape(self):
        return (self.config.num_coeffs,)

    def feature_size(self):
        return self.config.num_coeffs

    def build_encoder(self):
        return ScaleFrames(self.config.mean, self.config.std)

    # -- data ---------------------------------------------------------------------------------------------
    DATASETS = {
        "japanese-vowels": Dataset("JapaneseVowels (UCI): 12 LPC cepstrum coefficients per frame, 7-29 frames, 9 "
                                   "male speakers saying /ae/; label = speaker; 270 train / 370 test",
                                   file="speech/japanese_vowels.npz"),
        "spoken-digits": Dataset("digit words 'zero'..'nine' synthesised by espeak-ng (8 voices x 2 speeds x 2 "
                                 "pitches), 20 log-mel energies per 10 ms frame; label = word; test = 2 voices unseen "
                                 "in training, 240/80", file="speech/spoken_digits.npz"),
    }
    FILES = ("a folder of 16 kHz WAV files in per-label subfolders, or an .npz with frames [items, time, coeffs], "
             "labels [items] and optional lengths [items]")

    def load_file(self, path, split, name):
        if path.is_dir():
            fe = self.front_end()
            frames, labels, files = wav_folder(path, fe)
            what = (f"log-mel: {fe.n_mels} mels, {fe.win_ms:g} ms Hann window every {fe.hop_ms:g} ms at "
                    f"{fe.sample_rate} Hz (seqkit.kit.audio, numpy, outside the model)")
            return [Item(f, label, file, what) for f, label, file in zip(frames, labels, files)]
        return read_npz_items(path, "frames", (None,), name)

    def load_dataset(self, name: str, split: str) -> list[Item]:
        """The shipped .npz holds every utterance of both splits, frames concatenated; the split is a mask."""
        with packaged_file(self.DATASETS[name].file) as path:
            with np.load(path, allow_pickle=False) as z:
                a = {k: z[k] for k in z.files}
        starts = np.concatenate([[0], np.cumsum(a["lengths"])])
        if name == "japanese-vowels":
            keep = a["test"] == (split == "test")
            names = [f"speaker{v}" for v in a["labels"]]
            what = "12 LPC cepstrum coefficients per frame (JapaneseVowels, UCI)"
        else:
            keep = (a["voice"] >= 6) == (split == "test")  # voices 6 and 7 are held out
            names = [str(a["words"][v]) for v in a["labels"]]
            fe = FrontEnd()
            what = (f"log-mel: {fe.n_mels} mels, {fe.win_ms:g} ms Hann window every {fe.hop_ms:g} ms at "
                    f"{fe.sample_rate} Hz (seqkit.kit.audio, numpy, outside the model)")
        return [Item(a["frames"][starts[i]:starts[i + 1]].astype(np.float32), names[i], f"{name} ({split}) item {i}",
                     what) for i in np.flatnonzero(keep)]

    def fit(self, data):
        self.fit_labels(data)
        widths = {s.x.shape[1] for s in data}
        if len(widths) > 1:
            raise SeqkitError(f"utterances have different coefficient counts {sorted(widths)}; every frame needs "
                              f"the same")
        c = self.config
        c.num_coeffs = widths.pop()
        c.mean, c.std = mean_std(s.x for s in data)
        self.validate()
        self.fit_skip(data)

    def metadata(self):
        meta = super().metadata()
        c = self.config
        meta["front_end"] = {"sample_rate": c.sample_rate, "win_ms": c.win_ms, "hop_ms": c.hop_ms,
                             "n_mels": c.n_mels, "implementation": "seqkit.kit.audio.log_mel (numpy), not in the graph"}
        meta["front_end"].update(self.front_end().to_dict())  # every setting, so that seqkit.runtime rebuilds it
        return meta


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("speech-frames", SpeechFramesTask)
