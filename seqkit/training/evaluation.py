"""Whole-set evaluation of a trained model: every prediction at once for the task's report and plots, and the
rolling-origin backtest. :func:`seqkit.training.evaluate` adds :func:`report`'s result to its own; the CLI's
``seqkit evaluate RUN --backtest`` calls :func:`backtest`."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqkit.core.plugins import Plugins
from seqkit.errors import SeqkitError
from seqkit.training.data import batches, subset, to_device


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
