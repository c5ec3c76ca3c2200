"""PyTorch eager vs onnxruntime latency for the built-in cells, and export wall time.

    python benchmarks/bench_runtime.py [--repeats 20] [--hidden 64] [--threads 2]

Prints a table of median latencies (ms) per cell and (batch, time), the ratio torch/onnxruntime (>1: onnxruntime
is faster), then the wall time of `seqkit.onnx.export` (export + verification) vs a bare `torch.onnx.export` of the
same-sized nn.GRU. Measure on an otherwise idle machine: a loaded one lies. Medians of --repeats runs.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import onnxruntime as ort
import torch

import seqkit

POINTS = [(1, 50), (32, 50), (64, 100)]


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def latency_table(hidden: int, repeats: int, threads: int, workdir: Path) -> None:
    print(f"{'cell':5} {'batch':>5} {'time':>5} {'torch ms':>9} {'ort ms':>9} {'torch/ort':>9}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    for cell in ("rnn", "lstm", "gru"):
        c = seqkit.compose(cell, cell_config=seqkit.CellConfig(hidden_size=hidden), task_config={"embedding_dim": 32})
        path = workdir / f"{cell}.onnx"
        seqkit.export(c, path, force=True)
        sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        for batch, steps in POINTS:
            tokens, lengths = c.task.example_inputs(batch, steps, full_lengths=True)
            feeds = {"tokens": tokens.numpy(), "lengths": lengths.numpy()}
            with torch.inference_mode():
                t_torch = median_ms(lambda: c.model(tokens, lengths), repeats)
            t_ort = median_ms(lambda: sess.run(None, feeds), repeats)
            print(f"{cell:5} {batch:5d} {steps:5d} {t_torch:9.3f} {t_ort:9.3f} {t_torch / t_ort:9.2f}")


class BareGRU(torch.nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.embedding = torch.nn.Embedding(100, 16)
        self.rnn = torch.nn.GRU(16, hidden, batch_first=True)
        self.proj = torch.nn.Linear(hidden, 2)

    def forward(self, tokens):
        _, h = self.rnn(self.embedding(tokens))
        return self.proj(h[-1])


def export_times(hidden: int, repeats: int, workdir: Path) -> None:
    def bare():
        dim = {0: torch.export.Dim("batch", min=1), 1: torch.export.Dim("time", min=1)}
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(BareGRU(hidden), (torch.ones(3, 7, dtype=torch.long),), workdir / "bare.onnx",
                              dynamo=True, dynamic_shapes=({**dim},))

    c = seqkit.compose("gru", cell_config=seqkit.CellConfig(hidden_size=hidden))
    bare()  # warm-up: the first export in a process pays for imports and registry set-up
    seqkit.export(c, workdir / "s.onnx", force=True)
    t_bare = statistics.median([_timed(bare) for _ in range(repeats)])
    t_seq = statistics.median([_timed(lambda: seqkit.export(c, workdir / "s.onnx", force=True))
                               for _ in range(repeats)])
    t_seq_nv = statistics.median([_timed(lambda: seqkit.export(c, workdir / "s.onnx", force=True, verify=False))
                                  for _ in range(repeats)])
    print(f"\nexport wall time (median of {repeats}), gru hidden {hidden}:")
    print(f"  bare torch.onnx.export(dynamo=True)   {t_bare:7.2f} s")
    print(f"  seqkit.onnx.export, no verification         {t_seq_nv:7.2f} s   ratio {t_seq_nv / t_bare:5.2f}")
    print(f"  seqkit.onnx.export + verification           {t_seq:7.2f} s   ratio {t_seq / t_bare:5.2f}")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--export-repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, threads {args.threads}, hidden {args.hidden}")
    with tempfile.TemporaryDirectory() as tmp:
        latency_table(args.hidden, args.repeats, args.threads, Path(tmp))
        export_times(args.hidden, args.export_repeats, Path(tmp))


if __name__ == "__main__":
    main()
