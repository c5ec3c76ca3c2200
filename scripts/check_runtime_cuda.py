"""GPU check of seqkit.runtime and streaming files: CUDA results equal CPU results (not run in CI: no GPU there).

On a machine with onnxruntime-gpu and a CUDA GPU (a few seconds of GPU time, well under a minute in all):

    .venv/bin/python scripts/check_runtime_cuda.py

For each cell (rnn, lstm, gru, and indrnn if the plugin is installed) it exports a small streaming model
(verified on the CPU), then on provider "cuda": batch prediction from raw variable-length samples equals the CPU
provider's, a stream fed in chunks equals one CUDA call, and the session really runs on CUDAExecutionProvider.
Tolerances: seqkit's CUDA defaults (atol 1e-4, rtol 1e-3, TF32 off). Prints one line per check; exit code 1 on
any failure.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import seqkit
from seqkit.runtime import TOLERANCES, load


def close(a, b, atol, rtol) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def main() -> int:
    atol, rtol = TOLERANCES["cuda"]
    cells = ["rnn", "lstm", "gru"] + (["indrnn"] if "indrnn" in seqkit.load_plugins().cells.names() else [])
    rng = np.random.default_rng(0)
    samples = [rng.standard_normal((n, 3)) for n in (5, 1, 40, 17, 8)]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for cell in cells:
            path = Path(tmp) / f"{cell}.onnx"
            composition = seqkit.compose(cell, "classification", seqkit.CellConfig(hidden_size=64, num_layers=2),
                                         {"num_features": 3, "num_classes": 4})
            seqkit.export(composition, path, streaming=True)
            cpu, gpu = load(path, "cpu"), load(path, "cuda")
            used = gpu.session.providers_used[0]
            want = [r["probabilities"] for r in cpu.predict(samples, batch_size=2)]
            got = [r["probabilities"] for r in gpu.predict(samples, batch_size=2)]
            ok_predict = all(close(list(g.values()), list(w.values()), atol, rtol) for g, w in zip(got, want))
            stream = gpu.stream()
            for a, b in ((0, 7), (7, 8), (8, 40)):
                last = stream.push(samples[2][a:b])
            ok_stream = close(list(last["probabilities"].values()),
                              list(gpu.predict([samples[2]])[0]["probabilities"].values()), atol, rtol)
            for name, ok in (("providers", used == "CUDAExecutionProvider"), ("predict cuda == cpu", ok_predict),
                             ("stream == one call", ok_stream)):
                print(f"{cell:7s} {name:20s} {'ok' if ok else 'FAIL'}{'' if ok else f' ({used})'}")
                failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
