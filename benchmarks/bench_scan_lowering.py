"""The generic Scan lowering next to the native one: export time, graph size, onnxruntime vs PyTorch latency.

A cell written as one step on ``seqkit.ScanCell`` (the ``indrnn`` plugin in plugins/seqkit-indrnn) exports as
one ONNX ``Scan`` per layer and direction; the built-in ``gru`` exports as the native ``GRU`` op. The table shows
what the generic route costs. Not a test; numbers depend on the machine (say if it was loaded).

    python benchmarks/bench_scan_lowering.py --cells indrnn,gru --times 50,200 --batch 8 --threads 1
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import onnx
import torch

import seqkit
from seqkit import runtime


def all_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from all_nodes(attr.g)


def best_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="indrnn,gru")
    ap.add_argument("--times", default="50,200")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    times = [int(t) for t in args.times.split(",")]
    print(f"batch {args.batch}, hidden {args.hidden}, layers {args.layers}, {args.threads} thread(s), "
          f"best of {args.repeat}; task classification (tokens + lengths)")
    print(f"{'cell':8} {'export s':>8} {'nodes':>6} {'all nodes':>9} {'Scan':>4} "
          + " ".join(f"{f'T={t} torch ms':>13} {f'T={t} ort ms':>11} {'ratio':>6}" for t in times))
    with tempfile.TemporaryDirectory() as tmp:
        for cell in args.cells.split(","):
            composition = seqkit.compose(cell, "classification",
                                         seqkit.CellConfig(hidden_size=args.hidden, num_layers=args.layers))
            path = Path(tmp) / f"{cell}.onnx"
            start = time.perf_counter()
            seqkit.export(composition, path, force=True)  # includes verification on onnxruntime
            export_s = time.perf_counter() - start
            proto = onnx.load(str(path))
            top, every = len(proto.graph.node), sum(1 for _ in all_nodes(proto.graph))
            scans = sum(n.op_type == "Scan" for n in proto.graph.node)
            sess = runtime.open_session(str(path), "cpu")
            cols = []
            for t in times:
                inputs = composition.task.example_inputs(args.batch, t, seed=1)
                feeds = {s.name: x.numpy() for s, x in zip(composition.task.inputs(), inputs)}
                with torch.inference_mode():
                    torch_ms = best_ms(lambda: composition.model(*inputs), args.repeat)
                ort_ms = best_ms(lambda: sess.run(feeds), args.repeat)
                cols.append(f"{torch_ms:13.2f} {ort_ms:11.2f} {ort_ms / torch_ms:6.2f}")
            print(f"{cell:8} {export_s:8.1f} {top:6d} {every:9d} {scans:4d} " + " ".join(cols))
    print("ratio = onnxruntime / PyTorch eager (below 1: onnxruntime is faster)")


if __name__ == "__main__":
    main()
