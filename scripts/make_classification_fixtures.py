"""Derive the classification fixtures in seqkit/datasets/classification/ (run once; the outputs are committed).

Needs no network beyond the package registries and nothing imported from the sources:

    pip download --no-deps aeon==1.6.0 -d /tmp/aeon        # BSD-3; BasicMotions ships inside the wheel
    apt-get install fortunes                                # BSD; /usr/share/games/fortunes/*
    python scripts/make_classification_fixtures.py --aeon-wheel /tmp/aeon/aeon-1.6.0-py3-none-any.whl
    python scripts/make_classification_fixtures.py                # fortunes only

Outputs (deterministic: same inputs give the same files):
  basic_motions_{train,test}.npz  X float32 [40, 100, 6], y str [40]  (aeon's own train/test split)
  fortunes_{train,test}.csv       columns text,label; 4 categories, every distinct item of at most 50 words,
                                  70/30 split per category (1486 train / 638 test)
"""
from __future__ import annotations

import argparse
import csv
import io
import random
import re
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "seqkit" / "datasets" / "classification"
FORTUNE_DIR = Path("/usr/share/games/fortunes")
CATEGORIES = ("computers", "food", "politics", "science")
MAX_WORDS, PER_CLASS, TEST_SHARE, SEED = 50, None, 0.3, 0  # PER_CLASS None: every item (was 250 until issue 12)


def parse_ts(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The sktime/aeon ``.ts`` format, equal-length multivariate: one case per line, dimensions split by ':'."""
    rows, labels, in_data = [], [], False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        *dims, label = line.split(":")
        rows.append([[float(v) for v in d.split(",")] for d in dims])
        labels.append(label)
    x = np.asarray(rows, dtype=np.float32).transpose(0, 2, 1)  # [n, dims, time] -> [n, time, dims]
    return x, np.asarray(labels)


def basic_motions(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        for split in ("train", "test"):
            x, y = parse_ts(z.read(f"aeon/datasets/data/BasicMotions/BasicMotions_{split.upper()}.ts").decode())
            assert x.shape == (40, 100, 6) and np.isfinite(x).all(), x.shape
            buf = io.BytesIO()
            np.savez_compressed(buf, X=x, y=y)
            (OUT / f"basic_motions_{split}.npz").write_bytes(buf.getvalue())
            print(f"basic_motions_{split}.npz", x.shape, dict(zip(*np.unique(y, return_counts=True))))


def fortune_items(category: str) -> list[str]:
    raw = (FORTUNE_DIR / category).read_text(encoding="latin-1")
    raw = re.sub(r".\x08", "", raw)  # overstriking (x BACKSPACE x) in some items
    items = [" ".join(item.split()) for item in re.split(r"\n%\n", raw)]
    return [i for i in items if i and i != "%" and len(i.split()) <= MAX_WORDS]


def fortunes() -> None:
    rng = random.Random(SEED)
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "test": []}
    for category in CATEGORIES:
        items = sorted(set(fortune_items(category)))
        rng.shuffle(items)
        items = items[:PER_CLASS]
        cut = round(len(items) * (1 - TEST_SHARE))
        splits["train"] += [(t, category) for t in items[:cut]]
        splits["test"] += [(t, category) for t in items[cut:]]
    for split, rows in splits.items():
        rng.shuffle(rows)
        with open(OUT / f"fortunes_{split}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows(rows)
        print(f"fortunes_{split}.csv", len(rows), {c: sum(r[1] == c for r in rows) for c in CATEGORIES})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--aeon-wheel", type=Path, help="aeon wheel from 'pip download --no-deps aeon' (without it: "
                                                   "fortunes only)")
    args = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.aeon_wheel:
        basic_motions(args.aeon_wheel)
    fortunes()


if __name__ == "__main__":
    main()
