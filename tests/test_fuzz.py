"""Fuzz: random compositions of every registered cell and task (built-ins and the plugins/ packages), exported and
run on onnxruntime next to PyTorch -- with this file's own inputs and comparison, independent of verify.py.

A fixed, seeded number of compositions, so that what is checked does not depend on the machine's speed. The first
round pairs every cell and every task at least once; random compositions follow. Padded positions hold NaN and
+-1e4 junk: neither runtime may let it reach a valid result. Environment variables:

- ``SEQKIT_FUZZ_SEED`` (default 0): the seed of the compositions, their configs and their inputs.
- ``SEQKIT_FUZZ_COUNT`` (default 42: about 2 minutes on the project's 2-core machine): how many compositions,
  the first round included (never fewer than the first round). Raise it to fuzz longer.
- ``SEQKIT_FUZZ_SECONDS`` (default: no limit): a time cap. Once it is reached the test stops and FAILS, saying
  how many compositions it checked of how many, so that a slow machine never passes with less coverage.
"""
import os
import time

import numpy as np
import onnxruntime as ort
import pytest
import torch

import seqkit
from seqkit.errors import ConfigError

SEED = int(os.environ.get("SEQKIT_FUZZ_SEED", "0"))
COUNT = int(os.environ.get("SEQKIT_FUZZ_COUNT", "42"))
CAP = float(os.environ["SEQKIT_FUZZ_SECONDS"]) if os.environ.get("SEQKIT_FUZZ_SECONDS") else None
ATOL, RTOL = 1e-4, 1e-3
JUNK = np.array([np.nan, 1e4, -1e4], dtype=np.float32)


def cell_config(name: str, rng) -> seqkit.CellConfig:
    options = {
        "rnn": lambda: {"nonlinearity": str(rng.choice(["tanh", "relu"]))},
        "lstm": lambda: {"forget_bias": [None, 1.0, 0.5][rng.integers(3)]},
        "indrnn": lambda: {"nonlinearity": str(rng.choice(["relu", "tanh"])),
                           "recurrent_max": [None, 1.5][rng.integers(2)]},
    }.get(name, dict)()
    return seqkit.CellConfig(hidden_size=int(rng.integers(1, 9)), num_layers=int(rng.integers(1, 3)),
                             bidirectional=bool(rng.integers(2)), dropout=0.0, options=options)


def _scaling(rng, n: int) -> dict:
    if rng.random() < 0.5:
        return {}
    return {"mean": rng.normal(size=n).round(3).tolist(), "std": rng.uniform(0.5, 2.0, size=n).round(3).tolist()}


def task_config(name: str, rng) -> dict:
    pooling = str(rng.choice(["last", "mean", "max"]))
    classes = int(rng.integers(2, 6))
    if name == "classification":
        if rng.random() < 0.5:
            return {"pooling": pooling, "num_classes": classes, "vocab_size": int(rng.integers(2, 50)),
                    "embedding_dim": int(rng.integers(1, 9))}
        features = int(rng.integers(1, 5))
        return {"pooling": pooling, "num_classes": classes, "num_features": features, **_scaling(rng, features)}
    if name == "forecasting":
        features = int(rng.integers(1, 4))
        return {"horizon": int(rng.integers(1, 4)), "num_features": features, **_scaling(rng, features)}
    if name == "speech-frames":
        coeffs = int(rng.integers(1, 6))
        return {"num_coeffs": coeffs, "num_classes": classes, "pooling": pooling, **_scaling(rng, coeffs)}
    if name == "video-frames":
        channels = int(rng.integers(1, 3))
        return {"channels": channels, "height": int(rng.integers(4, 10)), "width": int(rng.integers(4, 10)),
                "conv_channels": [int(rng.integers(1, 5)) for _ in range(rng.integers(1, 3))],
                "frame_features": int(rng.integers(2, 9)), "frame_diff": bool(rng.integers(2)), "pooling": pooling,
                "num_classes": classes, **_scaling(rng, channels)}
    if name == "tagging":
        return {"num_tags": classes, "vocab_size": int(rng.integers(2, 40)), "embedding_dim": int(rng.integers(1, 9))}
    return {}  # adding, and tasks added later: their defaults


def inputs_for(specs, batch: int, time: int, rng) -> tuple[dict, dict]:
    """(clean, junk) feeds: the same valid values; padded steps zero / id 0 in clean, junk in junk."""
    sizes = {"batch": batch, "time": time}
    clean = {}
    lengths = None
    for spec in specs:
        shape = tuple(sizes[a] if isinstance(a, str) else a for a in spec.shape)
        if spec.kind == "lengths":
            lengths = rng.integers(1, time + 1, size=shape).astype(np.int64)
            lengths[0] = time
            clean[spec.name] = lengths
        elif spec.kind == "ids":
            clean[spec.name] = rng.integers(0, spec.high or 2, size=shape).astype(np.int64)
        else:
            clean[spec.name] = rng.standard_normal(shape).astype(np.float32)
    junk = {k: v.copy() for k, v in clean.items()}
    if lengths is not None:
        for spec in specs:
            if spec.kind == "lengths" or len(spec.shape) < 2 or spec.shape[1] != "time":
                continue
            for b, n in enumerate(lengths):
                if spec.kind == "ids":
                    clean[spec.name][b, n:] = 0
                    junk[spec.name][b, n:] = rng.integers(0, spec.high or 2, size=junk[spec.name][b, n:].shape)
                else:
                    clean[spec.name][b, n:] = 0.0
                    pad = junk[spec.name][b, n:]
                    pad[...] = JUNK[rng.integers(0, len(JUNK), size=pad.shape)]
    return clean, junk


def close(got: np.ndarray, want: np.ndarray) -> str | None:
    if got.shape != want.shape:
        return f"shape {got.shape} vs {want.shape}"
    if not np.isfinite(got).all():
        return "non-finite values"
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bad = err > ATOL + RTOL * np.abs(want.astype(np.float64))
    return f"max abs error {err.max():.3g} at {np.argwhere(bad)[0].tolist()}" if bad.any() else None


def compose(cell: str, task: str, rng, plugins):
    """A random composition; a combination the task or cell refuses (one line, ConfigError: e.g. a task that
    reads left to right and a bidirectional cell) is drawn again, then the defaults are taken."""
    for _ in range(5):
        cc, tc = cell_config(cell, rng), task_config(task, rng)
        try:
            return seqkit.compose(cell, task, cc, tc, seed=int(rng.integers(1000)), plugins=plugins), cc, tc
        except ConfigError:
            continue
    cc, tc = seqkit.CellConfig(hidden_size=4), {}
    return seqkit.compose(cell, task, cc, tc, plugins=plugins), cc, tc


def check(cell: str, task: str, rng, plugins) -> list[str]:
    composition, cc, tc = compose(cell, task, rng, plugins)
    failures = []
    for model, inputs, outputs, proto, part in graphs(composition):
        where = f"{cell}/{task}{part} cell_config={cc} task_config={tc}"
        failures += check_graph(model, inputs, outputs, proto, where, rng)
    return failures


def graphs(composition) -> list[tuple]:
    """``(model, inputs, outputs, proto, part name)``: the composed model, or a sequence-to-sequence task's encoder
    and decoder step (seqkit.core.seq2seq), each exported on its own."""
    if callable(getattr(composition.task, "seq2seq_parts", None)):
        from seqkit.onnx.seq2seq import to_onnx_parts

        parts, _, enc, dec = to_onnx_parts(composition)
        return [(parts.encoder, parts.encoder_inputs, parts.encoder_outputs, enc, " (encoder)"),
                (parts.decoder, parts.decoder_inputs, parts.decoder_outputs, dec, " (decoder step)")]
    return [(composition.model, composition.task.inputs(), composition.task.outputs(), seqkit.to_onnx(composition),
             "")]


def check_graph(model, inputs, outputs, proto, where: str, rng) -> list[str]:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == [s.name for s in inputs], where
    model = model.eval()
    failures = []
    for batch, steps in [(1, 1), (int(rng.integers(2, 5)), int(rng.integers(2, 30))), (2, 260)]:
        clean, junk = inputs_for(inputs, batch, steps, rng)
        with torch.no_grad():
            want = [w.numpy() for w in model(*[torch.from_numpy(clean[s.name]) for s in inputs])]
            torch_junk = [w.numpy() for w in model(*[torch.from_numpy(junk[s.name]) for s in inputs])]
        runs = {"onnxruntime": session.run(None, clean), "onnxruntime, junk padding": session.run(None, junk),
                "torch, junk padding": torch_junk}
        for label, got in runs.items():
            for spec, g, w in zip(outputs, got, want):
                problem = close(np.asarray(g), w)
                if problem:
                    failures.append(f"{where} at batch={batch} time={steps}, {label}, output {spec.name}: {problem}")
    return failures


@pytest.mark.slow
def test_random_compositions_agree_between_torch_and_onnxruntime(plugins):
    cells, tasks = plugins.cells.names(), plugins.tasks.names()
    assert {"indrnn"} <= set(cells) and {"tagging"} <= set(tasks), "install plugins/ (make install-dev)"
    rng = np.random.default_rng(SEED)
    first_round = [(cells[i % len(cells)], tasks[i % len(tasks)]) for i in range(max(len(cells), len(tasks)))]
    total = max(COUNT, len(first_round))
    start, done, failures = time.monotonic(), [], []
    while len(done) < total:
        if CAP is not None and time.monotonic() - start > CAP:
            break
        pair = first_round[len(done)] if len(done) < len(first_round) else (
            str(rng.choice(cells)), str(rng.choice(tasks)))
        failures += check(*pair, rng, plugins)
        done.append(pair)
    checked = f"{len(done)} of {total} compositions (seed {SEED}) in {time.monotonic() - start:.0f} s"
    assert not failures, f"{len(failures)} mismatches in {checked}:\n" + "\n".join(failures[:10])
    assert len(done) == total, (f"SEQKIT_FUZZ_SECONDS={CAP:g} reached after {checked}: the rest were not "
                                f"checked; raise the cap or lower SEQKIT_FUZZ_COUNT")
    assert {c for c, _ in done} == set(cells) and {t for _, t in done} == set(tasks)
