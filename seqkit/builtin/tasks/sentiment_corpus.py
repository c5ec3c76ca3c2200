"""The UCI "Sentiment Labelled Sentences" corpus (Kotzias et al. 2015), read where the user unzipped it.

seqkit does not ship the corpus: a user downloads UCI dataset 331 (:data:`DOWNLOAD`), unzips it and passes the
folder that holds ``amazon_cells_labelled.txt``, ``imdb_labelled.txt`` and ``yelp_labelled.txt`` (one
``sentence<TAB>0|1`` per line) as ``--data FOLDER``. :func:`split` makes the seeded train/test split at load
time, the same split (row for row) as the CSV fixture seqkit shipped until issue 19: 100 test sentences per
(site, label), 2,400 train / 600 test, both balanced.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from seqkit.errors import SeqkitError

DOWNLOAD = ("the UCI Machine Learning Repository, dataset 331 'Sentiment Labelled Sentences' "
            "(https://archive.ics.uci.edu/dataset/331/sentiment+labelled+sentences)")
SITES = ("amazon", "imdb", "yelp")
FILES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt", "yelp": "yelp_labelled.txt"}
#: the folder inside the UCI zip: a user may also pass the folder they unzipped into
ZIP_FOLDER = "sentiment labelled sentences"
# cp1252 punctuation that the IMDb file carries as C1 control characters
C1 = {"\x85": "...", "\x96": "-", "\x97": "-"}
TEST_PER_GROUP, SEED = 100, 0


def how_to_get() -> str:
    """One sentence: where to download the corpus and what to pass."""
    return (f"download it from {DOWNLOAD}, unzip it and pass the folder that holds its three *_labelled.txt "
            f"files: --data '{ZIP_FOLDER}'")


def is_corpus(folder: Path) -> bool:
    """Whether ``folder`` (or its ``sentiment labelled sentences`` subfolder) holds the corpus' files."""
    return folder.is_dir() and any((d / name).is_file() for d in (folder, folder / ZIP_FOLDER)
                                   for name in FILES.values())


def read(folder: Path) -> list[tuple[str, str, str]]:
    """``(text, label, site)`` of every sentence, site after site in file order; label ``positive`` or
    ``negative``; the C1 marks replaced and whitespace collapsed."""
    if not (folder / FILES["amazon"]).is_file() and (folder / ZIP_FOLDER).is_dir():
        folder = folder / ZIP_FOLDER
    missing = [name for name in FILES.values() if not (folder / name).is_file()]
    if missing:
        raise SeqkitError(f"{folder} lacks {', '.join(missing)} of the Sentiment Labelled Sentences corpus; "
                          f"{how_to_get()}")
    rows = []
    for site in SITES:
        path = folder / FILES[site]
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SeqkitError(f"{path}: not UTF-8 text (byte {exc.start}); use the file as unzipped") from None
        for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): it would split on \x85 too
            if not line.strip():
                continue
            sentence, tab, label = line.rpartition("\t")
            if not tab or label.strip() not in ("0", "1"):
                raise SeqkitError(f"{path} line {number}: expected 'sentence<TAB>0 or 1'")
            for bad, good in C1.items():
                sentence = sentence.replace(bad, good)
            rows.append((" ".join(sentence.split()), "positive" if label.strip() == "1" else "negative", site))
    return rows


def split(rows: list[tuple[str, str, str]], seed: int = SEED,
          test_per_group: int = TEST_PER_GROUP) -> dict[str, list[tuple[str, str, str]]]:
    """``{"train": rows, "test": rows}``: per (site, label) a seeded permutation puts ``test_per_group`` sentences
    in test and the rest in train; then each split is shuffled with the same generator (train first)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for site in SITES:
        for label in ("negative", "positive"):
            group = [r for r in rows if r[2] == site and r[1] == label]
            if len(group) <= test_per_group:
                raise SeqkitError(f"the corpus holds {len(group)} {label} sentences from {site}; the split needs "
                                  f"more than {test_per_group}: use the complete files as unzipped")
            order = rng.permutation(len(group))
            test += [group[i] for i in order[:test_per_group]]
            train += [group[i] for i in order[test_per_group:]]
    return {name: [part[i] for i in rng.permutation(len(part))] for name, part in (("train", train),
                                                                                     ("test", test))}
