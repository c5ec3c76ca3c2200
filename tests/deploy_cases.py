"""Small exported models of every built-in task (and the tagging plugin), raw samples for each, and what PyTorch
says about those samples: shared by the runtime, streaming, predict and torch-free tests (via conftest)."""
from __future__ import annotations

import zlib
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

import seqkit
from seqkit.kit.audio import wav_features
from seqkit.kit.video import MOTIONS

#: run first in a child process: any import of torch, onnx or onnxscript fails, as where they are not installed
#: (test_torch_free's runtime and predict; serve_fixtures' torch-free servers)
BLOCK = """
import sys

class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "onnx", "onnxscript"):
            raise ImportError(f"{name} is blocked: this process serves without it")

sys.meta_path.insert(0, _Blocked())
"""
WAVS = resources.files("seqkit.datasets") / "speech" / "digits_wav"
WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "."]
DIGITS = ["eight", "five", "four", "nine", "one", "seven", "six", "three", "two", "zero"]

# name: (cell, task, cell config, task config)
CASES = {
    "classification-text": ("gru", "classification", {"num_layers": 2},
                            {"num_classes": 3, "labels": ["good", "bad", "odd"], "vocab": WORDS,
                             "vocab_size": len(WORDS) + 2, "tokenizer": "word"}),
    "classification-features": ("lstm", "classification", {},
                                {"num_classes": 4, "labels": ["run", "walk", "sit", "jump"], "num_features": 3,
                                 "mean": [0.5, -1.0, 2.0], "std": [2.0, 1.0, 0.5]}),
    "forecasting": ("gru", "forecasting", {}, {"lookback": 6, "horizon": 2, "num_features": 2,
                                              "columns": ["load", "temp"], "mean": [100.0, 15.0],
                                              "std": [20.0, 5.0], "season": 1,
                                              "linear_skip": False}),  # the skip path reads a whole window
    "speech-frames": ("lstm", "speech-frames", {}, {"num_coeffs": 20, "num_classes": 10, "labels": DIGITS,
                                                    "pooling": "last", "mean": [-5.0] * 20, "std": [3.0] * 20}),
    "video-frames": ("rnn", "video-frames", {}, {"height": 8, "width": 8, "conv_channels": [4],
                                                 "frame_features": 8, "labels": list(MOTIONS), "frame_diff": False}),
    "adding": ("rnn", "adding", {"num_layers": 2}, {}),
    "tagging": ("indrnn", "tagging", {}, {"vocab": ["(", ")", "a", "b", "c"], "vocab_size": 7, "labels": list("BEIO"),
                                          "num_tags": 4}),
}


def samples(name: str) -> list:
    """Raw samples of mixed lengths and forms, as a user would give them."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if name == "classification-text":
        return ["The cat sat on the mat.", "a dog", "zebra crossing", [2, 3, 4, 1, 1], ["dog", "ran", "far"], "ran"]
    if name == "classification-features":
        return [rng.standard_normal((n, 3)) for n in (5, 1, 9, 3)] + [rng.standard_normal((4, 3)).astype(np.float32)]
    if name == "forecasting":
        return [100 + 20 * rng.standard_normal((n, 2)) for n in (6, 6, 4, 6, 9)]
    if name == "speech-frames":
        wavs = [str(WAVS / w / "en-us+m1_140_35.wav") for w in ("seven", "two")]
        return wavs + [rng.standard_normal((n, 20)) - 5 for n in (3, 11)]
    if name == "video-frames":
        return [rng.random((n, 1, 8, 8)).astype(np.float32) for n in (4, 2, 7)]
    if name == "adding":
        return [np.stack([rng.random(n), (rng.random(n) < 0.2).astype(float)], -1) for n in (10, 10, 4, 10)]
    if name == "tagging":
        return [["(", "a", "b", ")", "c"], ["c"], ["a", "zz", "(", "b"]]
    raise KeyError(name)


def compose(name: str):
    cell, task, cell_config, task_config = CASES[name]
    return seqkit.compose(cell, task, seqkit.CellConfig(hidden_size=8, **cell_config), dict(task_config), seed=3)


class Deployed(NamedTuple):
    path: Path
    composition: object
    result: object  # seqkit.onnx.export.ExportResult


def export(name: str, directory: Path, streaming: bool = False) -> Deployed:
    """Plain files unverified (the runtime tests compare with PyTorch themselves); streaming files verified, so
    that their chunk-by-chunk proof is there to inspect."""
    composition = compose(name)
    path = Path(directory) / f"{name}{'-stream' if streaming else ''}.onnx"
    result = seqkit.export(composition, path, force=True, verify=streaming, streaming=streaming)
    return Deployed(path, composition, result)


def torch_inputs(composition, sample) -> tuple:
    """The task's own encoding of one raw sample (independent of seqkit.runtime), batch 1."""
    task = composition.task
    name = composition.task_name
    if name == "classification" and not task.config.num_features:
        ids = task.encode_text(sample) if isinstance(sample, str) else (
            [task.encode_text(t)[0] if t in task.config.vocab else 1 for t in sample]
            if sample and isinstance(sample[0], str) else list(sample))
        return torch.tensor([ids]), torch.tensor([len(ids)])
    if name == "tagging":
        index = {t: i + 2 for i, t in enumerate(task.config.vocab)}
        ids = [index.get(t, 1) for t in sample]
        return torch.tensor([ids]), torch.tensor([len(ids)])
    if name == "speech-frames" and isinstance(sample, str):
        sample = wav_features(sample, task.front_end())
    x = torch.from_numpy(np.asarray(sample, dtype=np.float32))[None]
    if name in ("forecasting", "adding"):
        return (x,)
    return x, torch.tensor([x.shape[1]])


def torch_outputs(composition, sample) -> list[np.ndarray]:
    with torch.no_grad():
        return [o[0].numpy() for o in composition.model(*torch_inputs(composition, sample))]


def assert_same(got, want, rtol=1e-4, atol=1e-5, where="result"):
    """Results (nested dicts/lists of numbers and strings) equal up to float tolerances."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), f"{where}: keys {list(got)} vs {list(want)}"
        for k in want:
            assert_same(got[k], want[k], rtol, atol, f"{where}.{k}")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{where}: {len(got)} items vs {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, rtol, atol, f"{where}[{i}]")
    elif isinstance(want, float):
        assert abs(got - want) <= atol + rtol * abs(want), f"{where}: {got} vs {want}"
    else:
        assert got == want, f"{where}: {got!r} vs {want!r}"


def write_input(case: str, directory: Path) -> tuple[Path, list]:
    """A file (or folder) of samples for ``seqkit predict`` in a form that fits ``case``, and the samples
    :meth:`seqkit.runtime.Model.predict` must see for the same results."""
    import csv
    import json
    import shutil

    directory = Path(directory)
    if case == "classification-text":
        texts = ["The cat sat on the mat.", "a dog", "zebra, crossing!"]
        path = directory / "texts.txt"
        path.write_text("\n".join([texts[0], "", *texts[1:]]) + "\n")
        return path, texts
    if case in ("classification-features", "video-frames"):
        raw = samples(case)
        time = max(len(x) for x in raw)
        x = np.zeros((len(raw), time, *np.shape(raw[0])[1:]), np.float32)
        for i, s in enumerate(raw):
            x[i, :len(s)] = s
        path = directory / f"{case}.npz"
        np.savez(path, **{"X" if case == "classification-features" else "clips": x},
                 lengths=np.array([len(s) for s in raw]))
        return path, [np.asarray(s, np.float32) for s in raw]
    if case == "forecasting":
        series = np.round(100 + 20 * np.random.default_rng(5).standard_normal((10, 2)), 3)
        path = directory / "series.csv"
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["month", "temp", "load"])
            w.writerows([[f"2024-{i + 1:02d}", row[1], row[0]] for i, row in enumerate(series)])
        return path, [series[-6:]]
    if case == "speech-frames":
        folder = directory / "recordings"
        for word in ("two", "seven"):
            (folder / word).mkdir(parents=True, exist_ok=True)
            shutil.copy(WAVS / word / "en-us+m1_140_35.wav", folder / word / "a.wav")
        return folder, [str(folder / "seven" / "a.wav"), str(folder / "two" / "a.wav")]
    if case in ("adding", "tagging"):
        raw = [np.asarray(s).tolist() for s in samples(case)]
        path = directory / f"{case}.jsonl"
        key = "series" if case == "adding" else "tokens"
        path.write_text("".join(json.dumps({key: s}) + "\n" for s in raw))
        return path, raw
    raise KeyError(case)
