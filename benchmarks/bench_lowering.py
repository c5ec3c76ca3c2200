"""Which lowering should ``--lowering auto`` pick? native vs scan against PyTorch eager, per cell and point.

    python benchmarks/bench_lowering.py [--repeats 15] [--threads 2] [--cells rnn,lstm,gru]

Times, for each cell x hidden {128, 256} x batch {1, 32, 64} x time {20, 200}, PyTorch eager and onnxruntime with
the native op and with the MatMul + Scan lowering (seqkit.onnx.bench, engines interleaved, medians), prints the
table, then per cell: at how many points scan beats native, the geometric mean of native/scan, the worst
torch/ort of each, and the rule that follows: scan where it is faster than native in the geometric mean AND
never slower than PyTorch; else native. docs/performance.md records a run. Numbers from a loaded machine lie: the script
prints the load average and warns.
"""
from __future__ import annotations

import argparse
import json
import math

from seqkit.onnx.bench import DEFAULT_BATCHES, DEFAULT_HIDDEN, DEFAULT_TIMES, bench_grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="rnn,lstm,gru")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                    help="cpu: process CPU time, robust on a loaded machine (needs --threads 1)")
    ap.add_argument("--json", default=None, help="also write the raw result here")
    args = ap.parse_args()

    def show(p):
        n, s = p.ort_ms["native"], p.ort_ms["scan"]
        print(f"{p.cell:4} H={p.hidden:3} B={p.batch:2} T={p.time:3}  torch {p.torch_ms:8.3f}  native {n:8.3f}  "
              f"scan {s:8.3f}  torch/native {p.ratio('native'):5.2f}  torch/scan {p.ratio('scan'):5.2f}  "
              f"native/scan {n / s:5.2f}", flush=True)

    result = bench_grid(args.cells.split(","), DEFAULT_BATCHES, DEFAULT_TIMES, DEFAULT_HIDDEN,
                        lowerings=["native", "scan"], repeats=args.repeats, threads=args.threads, progress=show,
                        clock=args.clock)
    print(f"\nmachine: {json.dumps(result.machine)}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    print("\ncell  scan faster  native/scan geomean  worst torch/native  worst torch/scan  -> auto")
    for cell in args.cells.split(","):
        pts = [p for p in result.points if p.cell == cell]
        speed = [p.ort_ms["native"] / p.ort_ms["scan"] for p in pts]
        geo = math.exp(sum(math.log(s) for s in speed) / len(speed))
        choice = "scan" if geo > 1 and min(p.ratio("scan") for p in pts) >= 1 else "native"
        print(f"{cell:4}  {sum(s > 1 for s in speed):2}/{len(pts):2}        {geo:6.2f}              "
              f"{min(p.ratio('native') for p in pts):6.2f}              {min(p.ratio('scan') for p in pts):6.2f}"
              f"            {choice}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result.to_dict(), f, indent=2)


if __name__ == "__main__":
    main()
