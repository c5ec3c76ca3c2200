"""Camera motion in video clips: train briefly, export, classify frame stacks without torch.

    python examples/video_frames.py [OUT_DIR]          # default OUT_DIR: examples/out
"""
import sys
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

import seqkit
from seqkit.errors import SeqkitError
from seqkit.kit.video import MOTIONS, pan_clip
from seqkit.training import TrainConfig, prepare, train

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "out")
out.mkdir(parents=True, exist_ok=True)

# 1. train: a per-frame conv net + GRU on 500 generated camera-pan clips, 4 epochs
prepared = prepare("gru", "video-frames", "camera-pan", seqkit.CellConfig(hidden_size=32), {"train_clips": 500})
with tempfile.TemporaryDirectory() as run_dir:
    trained = train(prepared.composition, prepared.train_data, prepared.val_data,
                    TrainConfig(epochs=4, lr=3e-3, progress=False), run_dir=run_dir)
print(f"trained: validation accuracy {trained.metrics['accuracy']:.2f} (majority "
      f"{trained.baseline['accuracy']:.2f})")

# 2. export; streaming is refused, with the reason: this encoder subtracts each frame's predecessor
seqkit.export(trained.composition, out / "pan.onnx", force=True)
try:
    seqkit.export(trained.composition, out / "pan-stream.onnx", force=True, streaming=True)
except SeqkitError as exc:
    print(f"no streaming file: {exc}")

# 3. serve frame stacks [time, channels, height, width] of different lengths, without torch
from seqkit.runtime import load  # noqa: E402

with np.load(resources.files("seqkit.datasets") / "video" / "frame_bank.npz") as bank:
    still = bank["frames"][-1]  # a still from the held-out part of the video
rng = np.random.default_rng(0)
clips = [pan_clip(still, motion, length=6 + i, speed=2, size=24, rng=rng) for i, motion in enumerate(MOTIONS)]
for motion, result in zip(MOTIONS, load(out / "pan.onnx").predict(clips)):
    print(f"{motion:>6} -> {result['label']:<6} {result['probability']:.2f}")
