"""Forecasting yearly sunspot numbers: train briefly, export, forecast in the data's units without torch.

    python examples/forecasting.py [OUT_DIR]           # default OUT_DIR: examples/out
"""
import csv
import sys
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

import seqkit
from seqkit.training import TrainConfig, prepare, train

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "out")
out.mkdir(parents=True, exist_ok=True)

# 1. train: 4 years ahead from the last 22, a few epochs
prepared = prepare("gru", "forecasting", "sunspots", seqkit.CellConfig(hidden_size=32),
                   {"lookback": 22, "horizon": 4, "linear_skip": False})  # no skip path: the file can stream
with tempfile.TemporaryDirectory() as run_dir:
    trained = train(prepared.composition, prepared.train_data, prepared.val_data,
                    TrainConfig(epochs=5, lr=3e-3, progress=False), run_dir=run_dir)
print(f"trained: validation MAE {trained.metrics['mae']:.1f} (seasonal naive {trained.baseline['mae']:.1f})")

# 2. export, plain and streaming (state in and out: online forecasting)
seqkit.export(trained.composition, out / "sunspots.onnx", force=True)
seqkit.export(trained.composition, out / "sunspots-stream.onnx", force=True, streaming=True)

# 3. serve without torch: raw sunspot numbers in, raw numbers out (scaling is inside the model)
from seqkit.runtime import load  # noqa: E402

with open(resources.files("seqkit.datasets") / "forecasting" / "sunspots.csv") as f:
    rows = list(csv.DictReader(f))
years = [int(r["year"]) for r in rows]
series = np.array([[float(r["sunactivity"])] for r in rows])
model = load(out / "sunspots.onnx")
forecast = model.predict([series[-22:]])[0]["forecast"]["sunactivity"]
print(f"after {years[-1]}: " + ", ".join(f"{years[-1] + i + 1}: {v:.0f}" for i, v in enumerate(forecast)))

# online: one new observation per call, the state carries everything seen so far (here: the last 22 years)
stream = load(out / "sunspots-stream.onnx").stream()
for value in series[-22:]:
    result = stream.push(value[None])                      # [1 step, 1 feature]
print(f"streamed to {years[-1]}: next year {result['forecast']['sunactivity'][0]:.0f} (same as above)")
