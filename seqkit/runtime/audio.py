"""Torch-free speech front end: PCM WAV files -> log-mel frames, in numpy only.

Parameters (defaults in :class:`FrontEnd`): 16 kHz mono 16-bit PCM; pre-emphasis 0.97; Hann window of
25 ms (400 samples) every 10 ms (160 samples), zero-padded to a 512-point FFT; power spectrum through
``n_mels`` = 20 triangular mel filters (HTK mel scale) between 20 Hz and 8 kHz; natural log of
(energy + 1e-6). Leading and trailing frames more than ``trim_db`` = 40 dB below the loudest frame are
dropped (synthesised and recorded words carry silence at both ends). The same code makes the shipped
``spoken-digits`` features (scripts/make_task_fixtures.py), reads a user's WAV folder for training, and turns WAV
files into model inputs in :mod:`seqkit.runtime` (no torch), so all three match. :func:`FrontEnd.from_metadata`
rebuilds the settings an exported file records.
"""
from __future__ import annotations

import io
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from seqkit.errors import SeqkitError


@dataclass(frozen=True)
class FrontEnd:
    sample_rate: int = 16000
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int = 512
    n_mels: int = 20
    fmin: float = 20.0
    fmax: float = 8000.0
    preemphasis: float = 0.97
    trim_db: float = 40.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_metadata(cls, values: dict) -> FrontEnd:
        """The front end an exported file records (``task_metadata["front_end"]``); files that record only
        ``sample_rate, win_ms, hop_ms, n_mels`` get the rest from the task's rule (``fmax`` = Nyquist)."""
        known = {f: values[f] for f in cls.__dataclass_fields__ if f in values}
        if "fmax" not in known and "sample_rate" in known:
            known["fmax"] = known["sample_rate"] / 2
        return cls(**known)


def read_wav(path: str | Path | bytes, sample_rate: int) -> np.ndarray:
    """Samples of a PCM WAV file (a path, or the file's bytes) as float64 in [-1, 1], channels averaged; refuses
    other sample rates."""
    if isinstance(path, (bytes, bytearray)):
        source, path = io.BytesIO(path), Path("WAV bytes")
    else:
        source = str(path)
    try:
        with wave.open(source, "rb") as w:
            rate, width, channels, n = w.getframerate(), w.getsampwidth(), w.getnchannels(), w.getnframes()
            raw = w.readframes(n)
    except (wave.Error, EOFError, OSError) as exc:
        raise SeqkitError(f"{path}: not a readable PCM WAV file ({exc}); convert it with "
                          f"'sox IN -b 16 -c 1 -r {sample_rate} {Path(path).name}'") from None
    if rate != sample_rate:
        raise SeqkitError(f"{path}: sample rate {rate} Hz, the front end expects {sample_rate} Hz; resample it "
                          f"with 'sox IN -r {sample_rate} OUT.wav'")
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width in (2, 4):
        x = np.frombuffer(raw, np.int16 if width == 2 else np.int32).astype(np.float64) / float(2 ** (8 * width - 1))
    else:
        raise SeqkitError(f"{path}: {8 * width}-bit samples are not supported; convert to 16-bit with "
                          f"'sox IN -b 16 OUT.wav'")
    if x.size < channels:
        raise SeqkitError(f"{path}: the file holds no samples")
    return x[: x.size // channels * channels].reshape(-1, channels).mean(axis=1)


def mel_filterbank(fe: FrontEnd) -> np.ndarray:
    """``[n_mels, n_fft // 2 + 1]`` triangular filters, equally spaced on the HTK mel scale."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(fe.fmin), mel(min(fe.fmax, fe.sample_rate / 2)), fe.n_mels + 2))
    freqs = np.linspace(0.0, fe.sample_rate / 2, fe.n_fft // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lo) / (mid - lo)
    down = (hi - freqs[None]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down))


def log_mel(signal: np.ndarray, fe: FrontEnd = FrontEnd()) -> np.ndarray:
    """``[frames, n_mels]`` float32 log-mel energies of a mono ``signal`` sampled at ``fe.sample_rate``."""
    win = int(round(fe.sample_rate * fe.win_ms / 1000))
    hop = int(round(fe.sample_rate * fe.hop_ms / 1000))
    x = np.append(signal[:1], signal[1:] - fe.preemphasis * signal[:-1])
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    n = 1 + (x.size - win) // hop
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop][:n] * np.hanning(win)
    power = np.abs(np.fft.rfft(frames, n=fe.n_fft)) ** 2
    energy = power @ mel_filterbank(fe).T
    feats = np.log(energy + 1e-6)
    total = np.log(energy.sum(axis=1) + 1e-12)
    loud = np.nonzero(total >= total.max() - fe.trim_db * np.log(10) / 10)[0]
    return feats[loud[0]: loud[-1] + 1].astype(np.float32)


def wav_features(path: str | Path, fe: FrontEnd = FrontEnd()) -> np.ndarray:
    """Log-mel frames of one WAV file (see :func:`log_mel`)."""
    return log_mel(read_wav(path, fe.sample_rate), fe)


def wav_folder(root: str | Path, fe: FrontEnd = FrontEnd()) -> tuple[list[np.ndarray], list[str], list[str]]:
    """``root/LABEL/*.wav`` -> (frames per file, label per file, file names), files in sorted order."""
    root = Path(root)
    files = sorted(p for p in root.glob("*/*") if p.suffix.lower() == ".wav")
    if not files:
        raise SeqkitError(f"{root}: no WAV files found; expected one subfolder per label holding .wav files, "
                          f"e.g. {root}/yes/001.wav")
    return [wav_features(p, fe) for p in files], [p.parent.name for p in files], [str(p) for p in files]
