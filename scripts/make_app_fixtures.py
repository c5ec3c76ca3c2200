"""Derive the small fixtures of the speech-to-text task, once (the language model reads the fortunes already
shipped for classification; the sentiment task reads the UCI corpus where the user keeps it and splits it at
load time, seqkit/builtin/tasks/sentiment_corpus.py: nothing of it is committed).

Needs what seqkit itself does not:
    speech:    apt-get install -y espeak-ng sox
Usage:
    .venv/bin/python scripts/make_app_fixtures.py speech
Writes seqkit/datasets/speech/...; see the README.md beside it.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from make_task_fixtures import DIGITS, VOICES, render  # noqa: E402

from seqkit.kit.audio import FrontEnd, wav_features  # noqa: E402

OUT = ROOT / "seqkit" / "datasets"


# digit strings: 8 voices x 3 speeds x 2 pitches x STRINGS random strings of 2-5 digits; voices 6, 7 held out
SPEEDS, PITCHES, STRINGS = (130, 170, 210), (35, 65), 12
#: log-mel values are stored as uint8: value = LOW + STEP * code (|error| <= STEP / 2)
LOW, STEP = -14.0, 0.1


def speech(seed: int = 0) -> None:
    fe = FrontEnd()
    rng = np.random.default_rng(seed)
    d = OUT / "speech"
    wav_dir = d / "digit_strings_wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    codes, lengths, texts, voices, speeds, pitches = [], [], [], [], [], []
    low = high = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for v, voice in enumerate(VOICES):
            for speed in SPEEDS:
                for pitch in PITCHES:
                    for k in range(STRINGS):
                        words = [DIGITS[i] for i in rng.integers(0, 10, size=rng.integers(2, 6))]
                        text = " ".join(words)
                        wav = Path(tmp) / "u.wav"
                        render(text, voice, speed, pitch, wav)
                        f = wav_features(wav, fe)
                        low, high = min(low, float(f.min())), max(high, float(f.max()))
                        if v == 7 and speed == SPEEDS[1] and pitch == PITCHES[0] and k < 3:  # held-out voice
                            (wav_dir / f"{'-'.join(words)}.wav").write_bytes(wav.read_bytes())
                        codes.append(np.clip(np.round((f - LOW) / STEP), 0, 255).astype(np.uint8))
                        lengths.append(len(f)), texts.append(text)
                        voices.append(v), speeds.append(speed), pitches.append(pitch)
    print(f"log-mel range {low:.2f} .. {high:.2f} (stored range {LOW} .. {LOW + 255 * STEP:.1f})")
    np.savez_compressed(d / "digit_strings.npz", codes=np.concatenate(codes), low=np.float32(LOW),
                        step=np.float32(STEP), lengths=np.array(lengths, dtype=np.int16), texts=np.array(texts),
                        voice=np.array(voices, dtype=np.int8), speed=np.array(speeds, dtype=np.int16),
                        pitch=np.array(pitches, dtype=np.int16), voices=np.array(VOICES))
    print(f"wrote digit_strings.npz: {len(lengths)} utterances, {(d / 'digit_strings.npz').stat().st_size} B, "
          f"frames {min(lengths)}-{max(lengths)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["speech"]:
        speech()
    else:
        sys.exit(__doc__)
