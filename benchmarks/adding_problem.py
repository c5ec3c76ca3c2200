"""Adding problem benchmark: which cells learn a dependency T steps long? (not a CI test; see docs/gradients.md)

Trains each cell on the built-in ``adding`` task at each length T and prints the test MSE next to the baseline
(always predict 1: MSE ~0.167), with seed, epochs, the first epoch with validation MSE < 0.01 ("solved") and
wall time. A cell that does not beat the baseline clearly
has not learnt to carry the marked values across the sequence.

Full size (literature setting: hidden 128, Adam 1e-3, batch 64, clip 1):
    python benchmarks/adding_problem.py --lengths 50,100,200 --epochs 30 --train-samples 10000
Cell options follow the name after ':', e.g. ``--cells rnn,gru,lstm,lstm:forget_bias=null``.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import torch

import seqkit
from seqkit.training import TrainConfig, evaluate, train

SOLVED = 0.01  # validation MSE counted as solved (the baseline is ~0.167)


def cell_spec(spec: str) -> tuple[str, dict]:
    name, _, rest = spec.partition(":")
    options = {}
    for pair in filter(None, rest.split(":")):
        key, _, raw = pair.partition("=")
        try:
            options[key] = json.loads(raw)
        except ValueError:
            options[key] = raw
    return name, options


def run_one(spec, length, seed, args, runs_dir):
    name, options = cell_spec(spec)
    task_config = {"length": length, "num_samples": args.train_samples, "num_eval": args.test_samples, "seed": seed}
    composition = seqkit.compose(name, "adding", seqkit.CellConfig(hidden_size=args.hidden_size, options=options),
                                 task_config, seed=seed)
    task = composition.task
    run_dir = os.path.join(runs_dir, f"{spec.replace(':', '_')}-T{length}-s{seed}")
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, clip_norm=1.0,
                         patience=args.patience, seed=seed, device=args.device, progress=False)
    start = time.perf_counter()
    result = train(composition, task.load_data("adding", "train"), task.load_data("adding", "val"), config,
                   run_dir=run_dir)
    seconds = time.perf_counter() - start
    test = evaluate(result.run_dir, "adding", split="test", device=args.device)
    solved = next((row["epoch"] for row in result.history if row["val_mse"] < SOLVED), None)
    return {"cell": spec, "T": length, "seed": seed, "test_mse": test["mse"], "baseline_mse": test["baseline"]["mse"],
            "epochs": len(result.history), "best_epoch": result.best_epoch, "solved_epoch": solved,
            "train_seconds": round(seconds, 1)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", default="rnn,gru,lstm", help="comma-separated cell specs (name[:key=value...])")
    p.add_argument("--lengths", default="50,100", help="comma-separated sequence lengths T")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (weights, data and shuffling)")
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--patience", type=int, default=0, help="early stopping patience; 0 trains all epochs")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--train-samples", type=int, default=10000)
    p.add_argument("--test-samples", type=int, default=1000, help="samples in each of val and test")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    p.add_argument("--runs-dir", default=None, help="keep run folders here (default: a temporary folder)")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cells = [c for c in args.cells.split(",") if c]
    lengths = [int(t) for t in args.lengths.split(",") if t]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    print(f"adding problem: hidden {args.hidden_size}, Adam lr {args.lr}, batch {args.batch_size}, clip 1, "
          f"{args.epochs} epochs (patience {args.patience or 'off'}), {args.train_samples} train / "
          f"{args.test_samples} val / {args.test_samples} test samples, {args.device}, torch threads "
          f"{torch.get_num_threads()}",
          flush=True)
    header = f"{'T':>4} {'cell':<24} {'seed':>4} {'test MSE':>9} {'baseline':>9} {'/baseline':>9} {'epochs':>6} " \
             f"{'best':>4} {'solved':>6} {'wall s':>7}"
    print(header, flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for length in lengths:
            for spec in cells:
                for seed in seeds:
                    r = run_one(spec, length, seed, args, args.runs_dir or tmp)
                    rows.append(r)
                    print(f"{r['T']:>4} {r['cell']:<24} {r['seed']:>4} {r['test_mse']:>9.4f} {r['baseline_mse']:>9.4f} "
                          f"{r['test_mse'] / r['baseline_mse']:>9.3f} {r['epochs']:>6} {r['best_epoch']:>4} "
                          f"{r['solved_epoch'] or '-':>6} {r['train_seconds']:>7.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
