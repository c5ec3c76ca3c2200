"""The docs/tasks.md translation table from benchmarks/translate_results.sh's OUT folder (markdown on stdout).

    .venv/bin/python benchmarks/translate_summary.py OUT
"""
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

out = Path(sys.argv[1])


def normal(scores: dict) -> dict:
    """Bucket names of older runs ("bleu_6-6") as seqkit writes them now ("bleu_6")."""
    renamed = {}
    for key, value in scores.items():
        if key.startswith("bleu_") and "-" in key and key[5:].split("-")[0] == key[5:].split("-")[1]:
            key = "bleu_" + key[5:].split("-")[0]
        renamed[key] = normal(value) if isinstance(value, dict) else value
    return renamed


runs = defaultdict(list)
for path in sorted(p for p in out.glob("*.eval.json") if p.stat().st_size):  # runs still evaluating: left out
    cell, attention, seed = path.name[: -len(".eval.json")].split("-")
    runs[f"{cell}, attention {attention}"].append(normal(json.loads(path.read_text())))
first = next(iter(runs.values()))[0]
buckets = [k for k in first if k.startswith("bleu_")]


def cell(values):
    values = np.array(values, dtype=float)
    return f"{values.mean():.2f} +- {values.std():.2f}" if len(values) > 1 else f"{values[0]:.2f}"


print("| model | seeds | BLEU | chrF | " + " | ".join(f"BLEU {k[5:]} words" for k in buckets) + " |")
print("|---|---|---|---|" + "---|" * len(buckets))
for name, results in runs.items():
    cells = [cell([r[k] for r in results]) for k in ["bleu", "chrf", *buckets]]
    print(f"| {name} | {len(results)} | " + " | ".join(cells) + " |")
for name, scores in first["baselines"].items():
    cells = [f"{scores[k]:.2f}" for k in ["bleu", "chrf", *buckets]]
    print(f"| baseline: {name.replace('_', ' ')} | - | " + " | ".join(cells) + " |")
print()
print(f"sentences per bucket: {first['translation']['bleu_by_length']}; test sentences: "
      f"{first['translation']['sentences']}; signatures: {first['signatures']}")
print()
print("| model (seed 0) | greedy BLEU / chrF | beam 5 BLEU / chrF | beam 5, length penalty 0.6 |")
print("|---|---|---|---|")
for path in sorted(out.glob("*seed0.beam.json")):
    if path.stat().st_size:
        b = json.loads(path.read_text())
        print(f"| {path.name.split('-seed0')[0]} | " + " | ".join(f"{b[k]['bleu']:.2f} / {b[k]['chrf']:.2f}" for k in
                                                               ("greedy", "beam5", "beam5_lp0.6")) + " |")
