"""Built-in datasets: recurrent models against strong non-recurrent baselines, settings chosen on validation data.

For every dataset row a small grid of settings is trained at every seed; the setting with the best mean
*validation* score (the task's main metric on the validation part carved from the training split; ties broken by
the lower mean validation loss) is chosen, and only then are its test scores reported, as mean +- std over the
seeds, next to every baseline of the task (fitted on the training split only). Test scores of the settings not
chosen are written to the JSONL log as well, but nothing reads them to choose. Not a CI test; see docs/tasks.md.

    OMP_NUM_THREADS=1 python benchmarks/task_sweep.py --log sweep.jsonl            # everything (hours on 2 cores)
    python benchmarks/task_sweep.py --rows sunspots,macro --seeds 0,1,2 --log s.jsonl
    python benchmarks/task_sweep.py --log sweep.jsonl --table-only                 # the table from a finished log

A log is appended to and reused: runs already in it (same row, setting and seed) are not trained again, so an
interrupted sweep continues where it stopped.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from shared_data import shared_data

from seqkit.core.cell import CellConfig
from seqkit.core.plugins import load_plugins
from seqkit.training import TrainConfig, evaluate, prepare, train

# row: (task, data, fixed task options, fixed settings, grid of setting overrides)
# settings: cell, hidden, layers, bidirectional, dropout, lr, weight_decay, epochs, batch, patience, val_fraction,
# select (the best epoch by validation "metric" or "loss"), lr_schedule (only when not "none")
FORECAST = {"cell": "gru", "hidden": 32, "epochs": 150, "lr": 3e-3, "batch": 16, "patience": 25}
ZEROS = {"T": {"skip_init": "zeros"}}
FORECAST_GRID = [{"T": {"linear_skip": False}}, ZEROS, {"cell": "rnn", **ZEROS}, {"weight_decay": 0.01, **ZEROS},
                 {"T": {"skip_init": "ridge"}}, {"T": {"skip_init": "ridge", "window_norm": True}}]
COSINE = {"lr_schedule": "cosine"}  # a learning-rate schedule (not in rounds 1-2)
SKIP = {"linear_skip": True}        # the strong baseline as a path past the cell (not in rounds 1-2)
FORECAST_GRID += [{"T": {"skip_init": "ridge"}, **COSINE}, {"T": {"skip_init": "ridge", "window_norm": True}, **COSINE},
                  {"T": {"linear_skip": False}, **COSINE}]
ROWS = {
    "sunspots": ("forecasting", "sunspots", {"lookback": 22, "horizon": 4}, FORECAST,
                 FORECAST_GRID),
    "co2": ("forecasting", "co2", {"lookback": 24, "horizon": 4}, FORECAST,
            FORECAST_GRID),
    "airline": ("forecasting", "airline", {"lookback": 24, "horizon": 4}, FORECAST,
                FORECAST_GRID),
    "macro": ("forecasting", "macro", {"lookback": 8, "horizon": 2}, FORECAST,
              FORECAST_GRID),
    "japanese-vowels": ("speech-frames", "japanese-vowels", {},
                        {"cell": "gru", "hidden": 64, "epochs": 40, "lr": 3e-3, "batch": 32, "patience": 10},
                        [{}, {"bidirectional": True}, {"bidirectional": True, "T": {"pooling": "max"}},
                         {"bidirectional": True, "hidden": 128}, {"bidirectional": True, "layers": 2, "dropout": 0.2},
                         {"bidirectional": True, "epochs": 80, **COSINE},
                         {"bidirectional": True, "hidden": 128, "epochs": 80, **COSINE},
                         {"bidirectional": True, "T": SKIP}, {"bidirectional": True, "hidden": 128, "T": SKIP}]),
    "basic-motions": ("classification", "basic-motions", {},
                      {"cell": "gru", "hidden": 64, "epochs": 150, "lr": 3e-3, "batch": 8, "patience": 30,
                       "val_fraction": 0.2},
                      [{}, {"bidirectional": True}, {"bidirectional": True, "T": {"pooling": "mean"}},
                       {"bidirectional": True, "T": {"pooling": "max"}}, {"bidirectional": True, "T": SKIP}]),
    "fortunes": ("classification", "fortunes", {"pooling": "mean", "embedding_dim": 32},
                 {"cell": "gru", "hidden": 64, "epochs": 40, "lr": 3e-3, "batch": 16, "patience": 8,
                  "val_fraction": 0.2},
                 [{}, {"bidirectional": True, "T": {"pooling": "max"}},
                  {"bidirectional": True, "weight_decay": 0.05, "T": {"pooling": "max", "embedding_dropout": 0.3}},
                  {"bidirectional": True, "weight_decay": 0.05,
                   "T": {"pooling": "max", "embedding_dropout": 0.5, "min_count": 1}},
                  {"bidirectional": True, "weight_decay": 0.05, **COSINE,
                   "T": {"pooling": "max", "embedding_dropout": 0.3}},
                  {"T": SKIP}, {"bidirectional": True, "weight_decay": 0.05,
                                "T": {"pooling": "max", "embedding_dropout": 0.3, **SKIP}}]),
    "spoken-digits": ("speech-frames", "spoken-digits", {},
                      {"cell": "gru", "hidden": 64, "epochs": 40, "lr": 3e-3, "batch": 32, "patience": 10},
                      [{}, {"bidirectional": True}, {"bidirectional": True, "T": SKIP}]),
    "camera-pan": ("video-frames", "camera-pan", {},
                   {"cell": "gru", "hidden": 64, "epochs": 30, "lr": 3e-3, "batch": 32, "patience": 10},
                   [{}, {"bidirectional": True}, {"bidirectional": True, "T": {"motion_features": True}},
                    {"bidirectional": True, "T": {"motion_features": True, "train_clips": 2000}},
                    {"bidirectional": True, "epochs": 50, **COSINE,
                     "T": {"motion_features": True, "train_clips": 2000}},
                    {"bidirectional": True, "T": {"motion_features": True, "train_clips": 2000, **SKIP}}]),
    # the UCI corpus is not shipped: its copy in ../shared/data, split at load time (docs/tasks.md, sentiment)
    "sentiment": ("sentiment", str(shared_data("sentiment-labelled-sentences")), {},
                  {"cell": "gru", "hidden": 64, "epochs": 10, "lr": 3e-3, "batch": 32, "patience": 5},
                  [{}]),
}


def settings_of(row: str, override: dict) -> dict:
    task, data, options, fixed, _ = ROWS[row]
    s = {"bidirectional": False, "layers": 1, "dropout": 0.0, "weight_decay": 0.0, "val_fraction": 0.1,
         "select": "loss", **fixed}
    s.update({k: v for k, v in override.items() if k != "T"})
    s["T"] = {**options, **override.get("T", {})}
    return s


def key_of(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True)


def command(row: str, s: dict, seed: int) -> str:
    """The equivalent `seqkit train` command line."""
    task, data = ROWS[row][:2]
    parts = [f"seqkit train --task {task} --cell {s['cell']} --data {data} --hidden-size {s['hidden']}",
             f"--epochs {s['epochs']} --lr {s['lr']:g} --batch-size {s['batch']} --patience {s['patience']}",
             f"--val-fraction {s['val_fraction']:g}"]
    if s["bidirectional"]:
        parts.append("--bidirectional")
    if s["layers"] != 1:
        parts.append(f"--num-layers {s['layers']}")
    if s["dropout"]:
        parts.append(f"--dropout {s['dropout']:g}")
    if s["weight_decay"]:
        parts.append(f"--weight-decay {s['weight_decay']:g}")
    if s.get("lr_schedule", "none") != "none":
        parts.append(f"--lr-schedule {s['lr_schedule']}")
    parts.append(f"--select {s['select']}")
    parts += [f"-T {k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in sorted(s["T"].items())]
    parts.append(f"--seed {seed}")
    return " ".join(parts)


def run_one(row: str, s: dict, seed: int, runs: Path, plugins) -> dict:
    task, data = ROWS[row][:2]
    start = time.perf_counter()
    prepared = prepare(s["cell"], task, data, CellConfig(s["hidden"], s["layers"], s["bidirectional"], s["dropout"]),
                       dict(s["T"]), seed=seed, val_fraction=s["val_fraction"], plugins=plugins)
    config = TrainConfig(epochs=s["epochs"], batch_size=s["batch"], lr=s["lr"], patience=s["patience"],
                         seed=seed, progress=False, weight_decay=s["weight_decay"],
                         select=s["select"], lr_schedule=s.get("lr_schedule", "none"))
    run_dir = runs / f"{row}-{abs(hash(key_of(s))) % 10 ** 8}-s{seed}"
    result = train(prepared.composition, prepared.train_data, prepared.val_data, config, run_dir=run_dir,
                   sources=prepared.sources)
    seconds = time.perf_counter() - start
    test = evaluate(run_dir, data, plugins=plugins, plots=False)
    metric = prepared.composition.task.main_metric()[0]
    return {"row": row, "settings": s, "seed": seed, "metric": metric, "val": result.metrics[metric],
            "val_loss": result.metrics["loss"], "best_epoch": result.best_epoch, "epochs": len(result.history),
            "test": {k: v for k, v in test.items() if isinstance(v, float)}, "baselines": test.get("baselines", {}),
            "seconds": round(seconds, 1), "command": command(row, s, seed)}


def load_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def choose(records: list[dict], row: str, seeds: list[int]) -> tuple[dict, list[dict]] | None:
    """The setting with the best mean validation score over ``seeds`` (ties: lower mean validation loss)."""
    by_setting: dict[str, list[dict]] = {}
    for r in records:
        if r["row"] == row and r["seed"] in seeds:
            by_setting.setdefault(key_of(r["settings"]), []).append(r)
    complete = {k: v for k, v in by_setting.items() if {r["seed"] for r in v} >= set(seeds)}
    if not complete:
        return None
    sign = -1.0 if ROWS[row][0] == "forecasting" else 1.0  # forecasting watches MAE (lower is better)

    def score(runs):
        return (sign * statistics.mean(r["val"] for r in runs), -statistics.mean(r["val_loss"] for r in runs))

    best = max(complete, key=lambda k: score(complete[k]))
    return complete[best][0]["settings"], sorted(complete[best], key=lambda r: r["seed"])


def mean_std(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} +- {sd:.3f}"


def fresh_baselines(row: str, plugins) -> dict:
    """The row's baselines with today's code: fitted on the whole training split, scored on the test split (what
    ``seqkit evaluate`` refits for a saved run)."""
    task_name, data, options = ROWS[row][:3]
    cls = plugins.task(task_name)
    task = cls(cls.make_config(dict(options)))
    train, test = task.load_data(data, "train"), task.load_data(data, "test")
    task.fit(train)
    return task.baselines(train, test)


def table(records: list[dict], rows: list[str], seeds: list[int]) -> str:
    plugins = load_plugins()
    lines = ["| row | metric | seqkit (chosen on validation), mean +- std | baselines (test) | beats the strongest? "
             "| chosen setting |", "|---|---|---|---|---|---|"]
    for row in rows:
        chosen = choose(records, row, seeds)
        if chosen is None:
            lines.append(f"| {row} | - | not run | | | |")
            continue
        s, runs = chosen
        metric = runs[0]["metric"]
        values = [r["test"][metric] for r in runs]
        base = fresh_baselines(row, plugins)
        lower = ROWS[row][0] == "forecasting"
        scores = {name: b[metric] for name, b in base.items() if metric in b}
        strongest = (min if lower else max)(scores, key=scores.get)
        mean = statistics.mean(values)
        won = mean < scores[strongest] if lower else mean > scores[strongest]
        tied = math.isclose(mean, scores[strongest], rel_tol=1e-9)
        extra = ""
        if lower:  # also RMSE for forecasting
            extra = f"; rmse {mean_std([r['test']['rmse'] for r in runs])}"
        bases = ", ".join(f"{n} {v:.3f}" for n, v in scores.items())
        delta = {k: v for k, v in s.items() if k != "T"}
        lines.append(f"| {row} | {metric} | {mean_std(values)}{extra} | {bases} | "
                     f"{'tie' if tied else ('yes' if won else 'no')} ({strongest}) | "
                     f"{delta}, -T {s['T']} |")
    lines += ["", f"Commands of the chosen settings (seeds {', '.join(map(str, seeds))}; `seqkit evaluate RUN "
                  f"--data DATA` prints the test scores and every baseline):", "", "```"]
    for row in rows:
        chosen = choose(records, row, seeds)
        if chosen is not None:
            lines.append(command(row, chosen[0], "S") + f" --run-dir runs/{row}-S")
    lines.append("```")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated rows of: {', '.join(ROWS)}")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--log", required=True, type=Path, help="JSONL log of every run (appended to, reused)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--runs-dir", default=None, help="keep run folders here (default: a temporary folder)")
    p.add_argument("--table-only", action="store_true", help="print the table from the log, train nothing")
    args = p.parse_args(argv)
    rows = [r for r in args.rows.split(",") if r]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        p.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    torch.set_num_threads(args.threads)
    records = load_log(args.log)
    if not args.table_only:
        plugins = load_plugins()
        done = {(r["row"], key_of(r["settings"]), r["seed"]) for r in records}
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            runs = Path(args.runs_dir or tmp)
            for row in rows:
                for override in ROWS[row][4]:
                    s = settings_of(row, override)
                    for seed in seeds:
                        if (row, key_of(s), seed) in done:
                            continue
                        r = run_one(row, s, seed, runs, plugins)
                        records.append(r)
                        with open(args.log, "a") as f:
                            f.write(json.dumps(r, sort_keys=True) + "\n")
                        print(f"{row:<16} seed {seed} val {r['metric']} {r['val']:.4f} ({r['seconds']:.0f} s) "
                              f"{ {k: v for k, v in s.items() if k not in ('T',)} } -T {s['T']}", flush=True)
        print(f"sweep wall time {time.perf_counter() - started:.0f} s, torch threads {torch.get_num_threads()}, "
              f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(table(records, rows, seeds))


if __name__ == "__main__":
    main()
