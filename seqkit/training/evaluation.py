"""Evaluation of a trained model: :func:`evaluate` (loss, metrics and baselines of a saved run; every prediction
at once for the task's :func:`report` and plots), the rolling-origin :func:`backtest` (``seqkit evaluate RUN
--backtest``) and :func:`mean_std` over the runs of several seeds."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqkit.core.plugins import Plugins, load_plugins
from seqkit.errors import SeqkitError
from seqkit.training import sources as data_sources
from seqkit.training.data import batches, subset, to_device
from seqkit.training.loop import Loop
from seqkit.training.runs import CONFIG, read_json


def plot_name(data: Any, split: str) -> str:
    """``sunspots-test`` for a named dataset or file, ``data-SPLIT`` for samples passed in."""
    if isinstance(data, (str, os.PathLike)):
        stem = Path(str(data)).name.split(".")[0] or "data"
        return f"{stem}-{split}"
    return f"data-{split}"


def predict_all(model: torch.nn.Module, task, data, batch_size: int, device) -> tuple[tuple, np.ndarray]:
    """The model's outputs over all of ``data`` (numpy, concatenated over batches) and the collated targets."""
    outputs, targets = [], []
    model.eval()
    with torch.no_grad():
        for idx in batches(len(data), batch_size):
            inputs, target = to_device(task.collate(subset(data, idx)), device)
            outputs.append([o.detach().cpu().numpy() for o in model(*inputs)])
            targets.append(target.detach().cpu().numpy())
    return tuple(np.concatenate(parts) for parts in zip(*outputs)), np.concatenate(targets)


def report(composition, data, batch_size: int, device, folder: Path | None, name: str) -> dict[str, Any]:
    """``task.report`` on every prediction, plus ``plots`` (paths) written into ``folder`` when it is given."""
    task = composition.task
    from seqkit.core.task import Task

    if type(task).report is Task.report and type(task).plots is Task.plots:
        return {}  # nothing to add; and targets need not be one array (CTC's are (labels, lengths))
    outputs, target = predict_all(composition.model, task, data, batch_size, device)
    result = dict(task.report(outputs, target, data))
    if folder is not None:
        result["plots"] = [str(p) for p in task.plots(outputs, target, data, Path(folder), name)]
    return result


def backtest(run_dir: str | os.PathLike, data: Any, split: str = "test", stride: int = 1, device: str = "cpu",
             plots: bool = True, plugins: Plugins | None = None) -> dict[str, Any]:
    """Rolling-origin backtest of a saved forecasting run over ``data`` (a dataset name or file at ``split``, or
    samples): the model and the task's baselines from every ``stride``-th origin (``task.backtest``), and the
    task's plot of it in the run folder."""
    from seqkit.training.trainer import load_run, resolve_device

    composition = load_run(run_dir, plugins)
    task = composition.task
    source = data
    if data is None:  # the test split of the data the run was trained on, as config.json records it
        from seqkit.training import sources as data_sources
        from seqkit.training.runs import CONFIG, read_json

        record = (read_json(Path(run_dir), CONFIG).get("data") or {}).get("test")
        if not record:
            raise SeqkitError(f"{run_dir} records no test data; give the data to backtest on (--data)")
        source, split = record.get("source", "data"), record.get("split", split)
        data = data_sources.load(task, record)
    name = plot_name(source, split)
    if isinstance(data, (str, os.PathLike)):
        data = task.load_data(str(data), split)
    if len(data) == 0:
        raise SeqkitError("no samples to backtest")
    dev = resolve_device(device)
    model = composition.model.to(dev).eval()

    def predict(inputs):
        with torch.no_grad():
            return tuple(o.cpu().numpy() for o in model(*to_device(inputs, dev)))

    result = task.backtest(predict, data, stride, Path(run_dir) if plots else None, name)
    result.setdefault("source", str(source) if isinstance(source, (str, os.PathLike)) else "the given samples")
    return result


def first_baseline(baselines: dict[str, dict[str, float]]) -> dict[str, float]:
    """The first of a task's baselines (the simple one), for callers that show one."""
    return next(iter(baselines.values()), {})


def evaluate(run_dir: str | os.PathLike, data: Any = None, split: str = "test", batch_size: int | None = None,
             device: str = "cpu", plugins: Plugins | None = None, plots: bool = True) -> dict:
    """Loss and task metrics of a saved run on ``data``, next to the task's baselines.

    ``data``: a dataset name, a path, or samples; None: the test split of the data the run was trained on, as
    config.json records it. A named dataset (or a file with splits) is read at ``split``. Returns
    ``{"loss": .., <metric>: .., "samples": n, "data": {source, split}, "baseline": {<metric>: ..},
    "baselines": {name: {<metric>: ..}}, <task.report: whole-set metrics, per-class scores..>, "plots": [png
    paths]}``. ``plots``: write the task's PNGs (forecast against actual, confusion matrix) into ``run_dir``.
    """
    from seqkit.training.trainer import load_run, resolve_device  # trainer imports this module

    run_dir = Path(run_dir)
    plugins = plugins or load_plugins()
    composition = load_run(run_dir, plugins)
    saved = read_json(run_dir, CONFIG)
    task = composition.task
    if data is None:
        record = (saved.get("data") or {}).get("test")
        if not record:
            trained_on = data_sources.where((saved.get("data") or {}).get("train"))
            raise SeqkitError(f"{run_dir} records no test data (trained on {trained_on}); give the data to "
                              f"evaluate on (--data)")
        samples = data_sources.load(task, record)
    else:
        record = data_sources.describe(plugins, composition.task_name, data, split)
        samples = data if record["kind"] == "samples" else data_sources.load(task, record)
    if len(samples) == 0:
        raise SeqkitError("no samples to evaluate")
    size = batch_size or saved.get("train", {}).get("batch_size", 32)
    torch_device = resolve_device(device)
    result: dict[str, Any] = Loop(composition.model.to(torch_device), task, torch_device, size).evaluate(samples)
    result["samples"] = len(samples)
    result["data"] = {k: v for k, v in record.items() if k in ("source", "split", "kind")}
    result["baselines"] = task.baselines(None, samples)
    result["baseline"] = task.baseline(None, samples) or first_baseline(result["baselines"])
    source = record.get("source", "data") if record.get("kind") != "samples" else samples
    name = plot_name(source, record.get("split", split))
    result.update(report(composition, samples, size, torch_device, run_dir if plots else None, name))
    return result


def mean_std(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per numeric key found in every row: ``{"mean", "std", "values"}``; std is the sample standard deviation
    (n - 1 in the denominator; 0 for a single row)."""
    keys = [k for k in rows[0] if all(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)
                                      for r in rows)] if rows else []
    out = {}
    for key in keys:
        values = np.array([float(r[key]) for r in rows])
        out[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                    "values": values.tolist()}
    return out
