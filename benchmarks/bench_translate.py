"""Translated tokens per second: the torch-free runtime (seqkit.runtime.translate, onnxruntime) against PyTorch's
own greedy loop on the same trained model, batch 1 and 32, CPU, 2 threads each; where the runtime's time goes
(the encoder call vs the per-token decoder-step calls). Prints a table and the ratio; never a timed test.

    flock /tmp/seqkit-bench.lock .venv/bin/python benchmarks/bench_translate.py RUN_DIR MODEL.onnx [--sentences 256]
"""
import argparse
import os
import time

import numpy as np
import torch

from seqkit.runtime.translate import Translator
from seqkit.training.trainer import load_run

parser = argparse.ArgumentParser()
parser.add_argument("run")
parser.add_argument("model")
parser.add_argument("--sentences", type=int, default=256)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--repeats", type=int, default=5)
args = parser.parse_args()

torch.set_num_threads(args.threads)
task = load_run(args.run).task
task._step.eval(), task._cell.eval()
sources_text, _ = task.load_data(task.config.train_source, "test").references()
sources = [task.encode_source(s) for s in sources_text[: args.sentences]]
translator = Translator(args.model, threads=args.threads)


SETTLE = 0.3  # seconds of quiet before each side's run (see interleaved)


class Timed:
    """Wraps a runtime Session: seconds spent in its run() calls and how many."""

    def __init__(self, inner):
        self.inner, self.session, self.seconds, self.calls = inner, inner.session, 0.0, 0

    def run(self, feeds):
        start = time.perf_counter()
        try:
            return self.inner.run(feeds)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


def batched(fn, batch):
    out = []
    for start in range(0, len(sources), batch):
        out += fn(sources[start: start + batch])
    return out


def interleaved(fns):
    """Median seconds of each of ``fns`` over ``--repeats`` rounds, run in turn within each round (a warm-up
    round first), so that a slow moment of the machine falls on both sides; and each one's last result. Each
    run starts after a pause of ``SETTLE`` s, so that the other side's threads have stopped spin-waiting (PyTorch's
    OpenMP threads and onnxruntime's pool both spin a while after their work: a side run right after the other
    measured up to 1.5x slower)."""
    for fn in fns:
        fn()
    times, results = [[] for _ in fns], [None] * len(fns)
    for _ in range(args.repeats):
        for i, fn in enumerate(fns):
            time.sleep(SETTLE)
            start = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times], results


print(f"{len(sources)} test sentences, {args.threads} threads, load average {os.getloadavg()}")
print(f"{'batch':>5} {'pytorch tok/s':>14} {'runtime tok/s':>14} {'ratio':>6} {'same':>5} "
      f"{'encoder %':>9} {'steps %':>8} {'step calls':>10} {'ms/step':>8}")
for batch in (1, 32):
    with torch.no_grad():
        (t_torch, t_ort), (want, got) = interleaved([
            lambda: batched(lambda b: task.greedy(b), batch),
            lambda: batched(lambda b: translator.greedy_ids([list(map(int, s)) for s in b]), batch)])
    tokens = sum(len(ids) + 1 for ids in got)  # + EOS (or the step that hit the maximum length)
    enc, dec = Timed(translator.encoder), Timed(translator.decoder)
    translator.encoder, translator.decoder = enc, dec
    start = time.perf_counter()
    batched(lambda b: translator.greedy_ids([list(map(int, s)) for s in b]), batch)
    total = time.perf_counter() - start
    translator.encoder, translator.decoder = enc.inner, dec.inner
    print(f"{batch:>5} {tokens / t_torch:>14.0f} {tokens / t_ort:>14.0f} {t_torch / t_ort:>6.2f} {str(got == want):>5} "
          f"{100 * enc.seconds / total:>9.1f} {100 * dec.seconds / total:>8.1f} {dec.calls:>10} "
          f"{1000 * dec.seconds / max(1, dec.calls):>8.2f}")
print(f"load average after: {os.getloadavg()}; tokens per sentence: {np.mean([len(g) + 1 for g in got]):.1f}")
