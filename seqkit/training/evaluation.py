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
from seqkit.training.distributed import resolve_device
from seqkit.training.loop import Loop
from seqkit.training.runs import CONFIG, read_json
from seqkit.training.saved import load_saved_run


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
    return tuple(_concatenate(parts) for parts in zip(*outputs)), _concatenate(targets)


def _concatenate(parts: list[np.ndarray]) -> np.ndarray:
    """Batches stacked along the first axis; batches padded to different times (a translation's target) are
    zero-padded to the longest first."""
    if len({p.shape[1:] for p in parts}) > 1:
        shape = tuple(max(sizes) for sizes in zip(*(p.shape[1:] for p in parts)))
        parts = [np.pad(p, [(0, 0)] + [(0, s - n) for s, n in zip(shape, p.shape[1:])]) for p in parts]
    return np.concatenate(parts)


def report(composition, data, batch_size: int, device, folder: Path | None, name: str) -> dict[str, Any]:
    """``task.report`` on every prediction, plus ``plots`` (paths) written into ``folder`` when it is given."""
    task = composition.task
    if not (task.can("report") or task.can("plots")):
        return {}  # nothing to add; and targets need not be one array (CTC's are (labels, lengths))
    outputs, target = predict_all(composition.model, task, data, batch_size, device)
    result = dict(task.report(outputs, target, data)) if task.can("report") else {}
    if folder is not None and task.can("plots"):
        result["plots"] = [str(p) for p in task.plots(outputs, target, data, Path(folder), name)]
    return result


def run_data(run_dir: Path, saved: dict, composition, data: Any, split: str, plugins: Plugins,
             what: str = "evaluate") -> tuple[Any, dict[str, Any]]:
    """``(samples, record)`` that :func:`evaluate` and :func:`backtest` score: ``data`` (a dataset name of the
    run's task, a file, a folder of shards, or samples) at ``split``; None: the test split of the data the run was
    trained on, as its config.json (``saved``) records it. ``what`` names the action in errors."""
    task = composition.task
    if data is None:
        record = (saved.get("data") or {}).get("test")
        if not record:
            trained_on = data_sources.where((saved.get("data") or {}).get("train"))
            raise SeqkitError(f"{run_dir} records no test data (trained on {trained_on}); give the data to "
                              f"{what} on (--data)")
        samples = data_sources.load(task, record)
    else:
        record = data_sources.describe(plugins, composition.task_name, data, split)
        samples = data if record["kind"] == "samples" else data_sources.load(task, record)
    if len(samples) == 0:
        raise SeqkitError(f"no samples to {what}")
    return samples, record


def _shown(record: dict[str, Any]) -> dict[str, Any]:
    """What a result says of its data: the record's source, split and kind."""
    return {k: v for k, v in record.items() if k in ("source", "split", "kind")}


def _data_name(record: dict[str, Any], samples: Any, split: str) -> str:
    """The plot name of what :func:`run_data` returned (``sunspots-test``, ``data-test`` for samples)."""
    source = record.get("source", "data") if record.get("kind") != "samples" else samples
    return plot_name(source, record.get("split", split))


def _saved_run(run_dir: str | os.PathLike, plugins: Plugins | None):
    """``(run_dir, config.json, composition, plugins)``: config.json read once, the trained model loaded."""
    run_dir = Path(run_dir)
    plugins = plugins or load_plugins()
    saved = read_json(run_dir, CONFIG)
    return run_dir, saved, load_saved_run(run_dir, saved, plugins), plugins


def backtest(run_dir: str | os.PathLike, data: Any = None, split: str = "test", stride: int = 1,
             device: str = "cpu", plots: bool = True, plugins: Plugins | None = None) -> dict[str, Any]:
    """Rolling-origin backtest of a saved forecasting run over ``data``, found as :func:`evaluate` finds it (a
    dataset name, file or folder of shards at ``split``, or samples; None: the test split the run records): the
    model and the task's baselines from every ``stride``-th origin (``task.backtest``), and the task's plot of it
    in the run folder. The result's ``data`` says what was scored (as :func:`evaluate`'s), ``source`` in words."""
    run_dir, saved, composition, plugins = _saved_run(run_dir, plugins)
    task = composition.task
    samples, record = run_data(run_dir, saved, composition, data, split, plugins, "backtest")
    dev = resolve_device(device)
    model = composition.model.to(dev).eval()

    def predict(inputs):
        with torch.no_grad():
            return tuple(o.cpu().numpy() for o in model(*to_device(inputs, dev)))

    if not task.can("backtest"):
        raise SeqkitError(f"task '{composition.task_name}' has no backtest (it is for forecasting runs); evaluate "
                          f"without --backtest")
    result = task.backtest(predict, samples, stride, run_dir if plots else None, _data_name(record, samples, split))
    result.setdefault("source", record.get("source", "the given samples"))
    result.setdefault("data", _shown(record))
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
    run_dir, saved, composition, plugins = _saved_run(run_dir, plugins)
    task = composition.task
    samples, record = run_data(run_dir, saved, composition, data, split, plugins)
    size = batch_size or saved.get("train", {}).get("batch_size", 32)
    torch_device = resolve_device(device)
    result: dict[str, Any] = Loop(composition.model.to(torch_device), task, torch_device, size).evaluate(samples)
    result["samples"] = len(samples)
    result["data"] = _shown(record)
    result["baselines"] = task.baselines(None, samples) if task.can("baselines") else {}
    result["baseline"] = first_baseline(result["baselines"])  # task.baseline(), which baselines() holds first
    result.update(report(composition, samples, size, torch_device, run_dir if plots else None,
                         _data_name(record, samples, split)))
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


def summarize(metrics: Sequence[dict[str, Any]], baselines: Sequence[dict[str, dict]]) -> dict[str, dict]:
    """Several runs (seeds) as ``{"metrics": mean_std(metrics), "baselines": {name: mean_std(that baseline's
    rows)}}``; the baselines are those of the first run. ``train_seeds`` results: ``summarize([r.metrics for r in
    results], [r.baselines for r in results])``."""
    names = list(baselines[0]) if baselines else []
    return {"metrics": mean_std(metrics),
            "baselines": {name: mean_std([b.get(name, {}) for b in baselines]) for name in names}}
