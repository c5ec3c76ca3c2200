"""The adding problem: train briefly, export, serve batches and a stream without torch.

    python examples/adding.py [OUT_DIR]                # default OUT_DIR: examples/out
"""
import sys
import tempfile
from pathlib import Path

import numpy as np

import seqkit
from seqkit.training import TrainConfig, prepare, train

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "out")
out.mkdir(parents=True, exist_ok=True)

# 1. train: sum the two marked values of 10 steps (always answering 1 scores MSE 0.167)
task = {"length": 10, "num_samples": 3000, "num_eval": 200}
prepared = prepare("lstm", "adding", "adding", seqkit.CellConfig(hidden_size=32), task)
with tempfile.TemporaryDirectory() as run_dir:
    trained = train(prepared.composition, prepared.train_data, prepared.val_data,
                    TrainConfig(epochs=5, lr=1e-2, batch_size=64, progress=False), run_dir=run_dir)
print(f"trained: validation MSE {trained.metrics['mse']:.3f} (always 1: {trained.baseline['mse']:.3f})")

# 2. export, plain and streaming
seqkit.export(trained.composition, out / "adding.onnx", force=True)
seqkit.export(trained.composition, out / "adding-stream.onnx", force=True, streaming=True)

# 3. serve without torch
from seqkit.runtime import load  # noqa: E402

rng = np.random.default_rng(0)
series = []
for _ in range(3):
    s = np.zeros((10, 2), np.float32)
    s[:, 0] = rng.uniform(size=10)
    s[[rng.integers(5), 5 + rng.integers(5)], 1] = 1.0
    series.append(s)
for s, result in zip(series, load(out / "adding.onnx").predict(series)):
    print(f"prediction {result['prediction']:.3f}, target {s[s[:, 1] == 1, 0].sum():.3f}")

stream = load(out / "adding-stream.onnx").stream()  # the first series again, fed in chunks of 3, 3 and 4 steps
for start, stop in ((0, 3), (3, 6), (6, 10)):
    result = stream.push(series[0][start:stop])
print(f"streamed in 3 chunks: {result['prediction']:.3f}")
