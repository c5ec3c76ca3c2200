"""Spoken digits from WAV files: train briefly, export, serve WAV files and a frame stream without torch.

    python examples/speech_frames.py [OUT_DIR]         # default OUT_DIR: examples/out
"""
import sys
import tempfile
from importlib import resources
from pathlib import Path

import seqkit
from seqkit.training import TrainConfig, prepare, train

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "out")
out.mkdir(parents=True, exist_ok=True)

# 1. train: an LSTM over 20 log-mel energies per 10 ms frame; 'last' pooling, so it can also stream
prepared = prepare("lstm", "speech-frames", "spoken-digits", seqkit.CellConfig(hidden_size=32), {"pooling": "last"})
with tempfile.TemporaryDirectory() as run_dir:
    trained = train(prepared.composition, prepared.train_data, prepared.val_data,
                    TrainConfig(epochs=8, lr=1e-2, progress=False), run_dir=run_dir)
print(f"trained: validation accuracy {trained.metrics['accuracy']:.2f} (majority "
      f"{trained.baseline['accuracy']:.2f})")

# 2. export; the file records the front end's settings
seqkit.export(trained.composition, out / "digits.onnx", force=True)
seqkit.export(trained.composition, out / "digits-stream.onnx", force=True, streaming=True)

# 3. serve WAV files: the numpy front end (seqkit.runtime.audio) turns them into frames, no torch
from seqkit.runtime import load  # noqa: E402
from seqkit.runtime.audio import FrontEnd, wav_features  # noqa: E402

model = load(out / "digits.onnx")
wavs = sorted(Path(str(resources.files("seqkit.datasets") / "speech" / "digits_wav")).glob("*/*.wav"))
for wav, result in zip(wavs, model.predict([str(w) for w in wavs])):
    print(f"{wav.parent.name:>6} -> {result['label']:<6} {result['probability']:.2f}")

# a stream of frames, 10 at a time (10 ms each), with the label of what was heard so far
stream = load(out / "digits-stream.onnx").stream()
frames = wav_features(wavs[0], FrontEnd.from_metadata(model.task_metadata["front_end"]))
for start in range(0, len(frames), 10):
    print(f"{(start + 10) * 10:4d} ms: {stream.push(frames[start:start + 10])['label']}")
