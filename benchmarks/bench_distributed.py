"""Scaling of `seqkit train` over processes on one machine (DistributedDataParallel, gloo on CPU).

    python benchmarks/bench_distributed.py [--procs 1,2,4,8] [--samples 8192] [--time 50] [--hidden 128]
                                           [--batch-size 64] [--epochs 3] [--cell gru] [--threads N] [--device cpu]

Writes a synthetic classification dataset as a folder of .npz shards (``--samples`` sequences of ``--time``
steps x 8 features, 4 classes, 1024 per shard), then runs, for each process count P,

    seqkit train --data SHARDS --nproc P --batch-size B --epochs E --patience 0 ...    (P = 1: no --nproc)

with the same global batch and seed, and prints a table: the median epoch time of rank 0 (from metrics.json,
epochs after the first), training samples per second, the speed-up over P = 1, the wall time of the whole
command (start-up, data, training) and the final validation loss (the same run, so about the same number).

Threads: each process gets ``--threads`` torch threads (OMP_NUM_THREADS), by default cores // P, so the table
compares the machine's cores used by one process against the same cores split over P processes; `--threads 1`
instead compares one core against P cores. Run it on an otherwise idle machine: on a loaded one, torch's
threads spin against the other load and a multi-threaded run can be many times slower than it should be.
`--device cuda` needs one GPU per process (each process takes the GPU of its LOCAL_RANK).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHARD = 1024


def write_shards(folder: Path, samples: int, steps: int, features: int = 8, classes: int = 4, seed: int = 0) -> None:
    """Sequences whose class sets the frequency of a noisy sine in every feature: learnable, not trivial."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    t = np.arange(steps, dtype=np.float32)[None, :, None]
    for i, start in enumerate(range(0, samples, SHARD)):
        n = min(SHARD, samples - start)
        y = rng.integers(0, classes, size=n)
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1, features)).astype(np.float32)
        x = np.sin(t * (0.1 + 0.05 * y[:, None, None]) + phase) + rng.normal(0, 0.5, (n, steps, features))
        np.savez(folder / f"part-{i:05d}.npz", X=x.astype(np.float32), y=y.astype(np.int64))


def run(procs: int, data: Path, workdir: Path, args) -> dict:
    run_dir = workdir / f"run-{procs}"
    cmd = [sys.executable, "-m", "seqkit", "train", "--data", str(data), "--cell", args.cell, "--hidden-size",
           str(args.hidden), "--batch-size", str(args.batch_size), "--epochs", str(args.epochs), "--patience", "0",
           "--lr", "3e-3", "--val-fraction", "0.1", "--device", args.device, "--no-progress", "--run-dir",
           str(run_dir)]
    if procs > 1:
        cmd += ["--nproc", str(procs)]
    threads = args.threads or max(1, (os.cpu_count() or 1) // procs)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{procs} process(es) failed:\n{done.stderr}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    seconds = [row["seconds"] for row in metrics["history"]]
    epoch = statistics.median(seconds[1:] if len(seconds) > 1 else seconds)
    return {"procs": procs, "threads": threads, "epoch_s": epoch, "samples_per_s": config["samples"]["train"] / epoch,
            "wall_s": wall, "val_loss": metrics["history"][-1]["val_loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--procs", default="1,2,4,8", help="process counts, comma-separated")
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--time", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64, help="the global batch, the same for every P")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per process [default: cores // P]")
    args = parser.parse_args()
    procs = [int(p) for p in args.procs.split(",")]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    import torch

    print(f"# {platform.node()}: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}, load average {load:.1f} at start")
    print(f"# {args.samples} sequences x {args.time} steps x 8 features, {args.cell} hidden {args.hidden}, "
          f"global batch {args.batch_size}, {args.epochs} epochs, device {args.device}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data = workdir / "shards"
        write_shards(data, args.samples, args.time)
        rows = [run(p, data, workdir, args) for p in procs]
    base = rows[0]["samples_per_s"]
    print("| processes | threads each | epoch (s) | samples/s | speed-up | command wall (s) | val loss |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['procs']} | {r['threads']} | {r['epoch_s']:.2f} | {r['samples_per_s']:.0f} | "
              f"{r['samples_per_s'] / base:.2f}x | {r['wall_s']:.1f} | {r['val_loss']:.4f} |")


if __name__ == "__main__":
    main()
