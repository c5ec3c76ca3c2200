"""Training, evaluation and reloading of composed models; docs/training.md shows the API and the run directory.

:func:`prepare` loads the data, lets the task ``fit`` it (labels, vocabulary, normalisation may change the model's
shape) and only then composes the model. :func:`train` is seeded: same seed, same weights on CPU; a resumed run
reaches the uninterrupted run's weights, since every epoch reseeds shuffling and dropout from ``(seed, epoch)`` and
the checkpoint holds weights and optimizer state.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from seqkit._version import __version__
from seqkit.core.cell import CellConfig
from seqkit.core.compose import Composition, compose, compose_from_config
from seqkit.core.plugins import Plugins, load_plugins
from seqkit.errors import SeqkitError
from seqkit.training.config import TrainConfig
from seqkit.training.data import batches, split_indices, stratify_groups, subset, to_device
from seqkit.training.runs import (
    CHECKPOINT,
    CONFIG,
    CURVES,
    WEIGHTS,
    default_run_dir,
    read_checkpoint,
    read_json,
    read_weights,
    to_json,
    write_curves,
    write_epoch,
    write_json,
    write_metrics,
)


@dataclass
class Prepared:
    """What :func:`prepare` returns: a composition built after ``task.fit`` and the data it was fitted on."""

    composition: Composition
    train_data: Sequence
    val_data: Sequence | None


@dataclass
class TrainResult:
    run_dir: Path
    history: list[dict]                 # one dict per epoch: epoch, train_loss, train_<metric>, val_..., seconds
    best_epoch: int
    metrics: dict[str, float]           # validation (or training, without validation) metrics of best_epoch
    baseline: dict[str, float] = field(default_factory=dict)  # the task's baseline on the same data
    stopped_early: bool = False
    composition: Composition | None = None  # the trained model (best epoch's weights, CPU, eval mode)


def resolve_device(name: str) -> torch.device:
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):  # "cuda" or "cuda:N"
        if not torch.cuda.is_available():
            raise SeqkitError(f"device {name!r} requested but PyTorch {torch.__version__} sees no CUDA GPU; "
                              f"use --device cpu")
        return torch.device(name)
    raise SeqkitError(f"unknown device {name!r}; use cpu, cuda or cuda:N")


def carve(task, data: Sequence, fraction: float, seed: int) -> tuple[list, list | None]:
    """(train, validation): ``task.split_validation`` if the task has its own, else a seeded random split
    stratified by ``task.stratify``; no split at fraction 0."""
    if not fraction:
        return data, None
    own = task.split_validation(data, fraction, seed)  # e.g. forecasting: the latest windows, not a random pick
    if own is not None:
        return own
    keep, held = split_indices(len(data), fraction, seed, stratify_groups(data, task.stratify))
    if not held or not keep:
        raise SeqkitError(f"{len(data)} samples are too few to hold out a validation fraction of {fraction}; "
                          f"give more data, validation data, or val_fraction 0")
    return subset(data, keep), subset(data, held)


def prepare(cell: str, task: str, data: Any, cell_config: CellConfig | None = None, task_config: Any = None,
            seed: int = 0, *, val_data: Any = None, val_fraction: float = 0.1, split: str = "train",
            plugins: Plugins | None = None) -> Prepared:
    """Load ``data`` (a dataset name, a path, or already-loaded samples), carve validation, fit, then compose.

    ``task.fit`` sees only the training part; the composition is built from the fitted task config, so a
    vocabulary or label set learnt from data sizes the model.
    """
    plugins = plugins or load_plugins()
    task_cls = plugins.task(task)
    task_obj = task_cls(task_cls.make_config(task_config))
    if isinstance(data, (str, os.PathLike)):
        data = task_obj.load_data(str(data), split)
    if isinstance(val_data, (str, os.PathLike)):
        # a named dataset's "val" split (never its train split: that would validate on training data);
        # a user's file is read as it is
        val_data = task_obj.load_data(str(val_data), "val")
    if val_data is None:
        data, val_data = carve(task_obj, data, val_fraction, seed)
    task_obj.fit(data)
    composition = compose(cell, task, cell_config, task_obj.config, seed=seed, plugins=plugins)
    return Prepared(composition, data, val_data)


def _run_epoch(model, task, data, batch_size, device, optimizer=None, clip_norm=None, seed=None, on_batch=None):
    """One pass over ``data``: mean loss and task metrics weighted by batch size; trains when given an optimizer."""
    totals: dict[str, float] = defaultdict(float)
    count = 0
    for idx in batches(len(data), batch_size, shuffle=optimizer is not None, seed=seed or 0):
        inputs, target = to_device(task.collate(subset(data, idx)), device)
        with torch.set_grad_enabled(optimizer is not None):
            outputs = model(*inputs)
            loss = task.loss(outputs, target)
        if not torch.isfinite(loss):
            raise SeqkitError(f"the loss became {loss.item()} (batch of samples {idx[:3]}...); lower the learning "
                              f"rate, keep gradient clipping on, or check the data")
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip_norm:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
        k = len(idx)
        totals["loss"] += loss.item() * k
        for name, value in task.metrics(tuple(o.detach() for o in outputs), target).items():
            totals[name] += value * k
        count += k
        if on_batch:
            on_batch(totals["loss"] / count)
    return {name: value / count for name, value in totals.items()}


def _progress(show: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=Console(stderr=True),
                    disable=not show, transient=False)


def train(composition: Composition, train_data: Sequence, val_data: Sequence | None = None,
          config: TrainConfig = TrainConfig(), run_dir: str | os.PathLike | None = None,
          resume: bool = False) -> TrainResult:
    """Train ``composition.model`` on samples of ``composition.task``; write the run directory; return the result.

    ``val_data`` None: ``config.val_fraction`` of ``train_data`` is held out (seeded, stratified). Early stopping
    and model selection watch ``task.main_metric()`` on validation data. ``resume`` continues the run in
    ``run_dir`` from its checkpoint (same data and composition; ``config.epochs`` is the total).
    """
    config.validate()
    device = resolve_device(config.device)
    task, model = composition.task, composition.model
    if run_dir is None:
        if resume:
            raise SeqkitError("resume needs the run directory to continue; pass run_dir")
        run_dir = default_run_dir(composition.cell_name, composition.task_name)
    run_dir = Path(run_dir)
    if resume:
        saved = read_json(run_dir, CONFIG)
        if saved.get("composition") != json.loads(to_json(composition.config())):
            raise SeqkitError(f"cannot resume {run_dir}: it was trained with another composition or fitted task "
                              f"config; use the same cell, task, options and data")
        checkpoint = read_checkpoint(run_dir / CHECKPOINT)
    elif (run_dir / CONFIG).exists():
        raise SeqkitError(f"{run_dir} already holds a run; choose another run directory or resume it")
    if len(train_data) == 0:
        raise SeqkitError("no training samples")
    if val_data is None:
        train_data, val_data = carve(task, train_data, config.val_fraction, config.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG, {"composition": composition.config(), "train": asdict(config),
                                  "samples": {"train": len(train_data), "val": len(val_data or [])},
                                  "seqkit": __version__})

    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history: list[dict] = []
    best_epoch, best_state = 0, None
    if resume:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        history, best_epoch, best_state = checkpoint["history"], checkpoint["best_epoch"], checkpoint["best"]
    name, mode = task.main_metric()
    split = "val" if val_data is not None and len(val_data) else "train"  # where selection looks
    watch, sign = f"{split}_{name}", (1.0 if mode == "max" else -1.0)
    baseline = task.baseline(train_data, val_data if split == "val" else train_data)
    stopped_early = False
    steps = math.ceil(len(train_data) / config.batch_size)

    def score(row):  # the watched metric, ties broken by the lower loss of the same split
        return (sign * row[watch], -row[f"{split}_loss"])

    def best_score():
        return score(history[best_epoch - 1]) if best_epoch else (-math.inf, -math.inf)

    def summary():
        best = {k[len(split) + 1:]: v for k, v in history[best_epoch - 1].items() if k.startswith(split + "_")}
        return {"best_epoch": best_epoch, "best": best, "baseline": baseline, "main_metric": [name, mode],
                "split": split, "stopped_early": stopped_early}

    with _progress(config.progress and sys.stderr.isatty()) as progress:
        bar = progress.add_task("", total=steps, info="")
        for epoch in range(len(history) + 1, config.epochs + 1):
            if config.patience and best_epoch and epoch - 1 - best_epoch >= config.patience:
                stopped_early = True
                break
            progress.update(bar, description=f"epoch {epoch}/{config.epochs}", completed=0)
            torch.manual_seed(config.seed * 100_003 + epoch)  # dropout etc.: reproducible per epoch, also on resume
            model.train()
            started = time.perf_counter()
            row: dict[str, Any] = {"epoch": epoch}
            tr = _run_epoch(model, task, train_data, config.batch_size, device, optimizer, config.clip_norm,
                            seed=[config.seed, epoch],
                            on_batch=lambda loss: progress.update(bar, advance=1, info=f"loss {loss:.4f}"))
            row.update({f"train_{k}": v for k, v in tr.items()})
            if split == "val":
                model.eval()
                with torch.no_grad():
                    va = _run_epoch(model, task, val_data, config.batch_size, device)
                row.update({f"val_{k}": v for k, v in va.items()})
            row["seconds"] = round(time.perf_counter() - started, 3)
            history.append(row)
            if score(row) > best_score():
                best_epoch = epoch
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            progress.update(bar, info=f"{split} loss {row[split + '_loss']:.4f} {name} {row[watch]:.4f}")
            if not progress.disable:
                progress.console.print(f"epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items()
                                                                      if k not in ("epoch", "seconds")))
            write_epoch(run_dir, model, optimizer, history, best_state if best_epoch == epoch else None,
                        {"best_epoch": best_epoch, "best": best_state}, summary())
    if best_state is None:
        raise SeqkitError(f"{run_dir}: no epoch gave a comparable {watch} (NaN?); check the task's metrics")
    model.load_state_dict(best_state)
    model.to("cpu").eval()
    final = summary()
    write_metrics(run_dir, history, final)
    write_curves(run_dir / CURVES, history, name,
                 f"{composition.cell_name} / {composition.task_name}: best epoch {best_epoch}")
    return TrainResult(run_dir, history, best_epoch, final["best"], baseline, stopped_early, composition)


def load_run(run_dir: str | os.PathLike, plugins: Plugins | None = None) -> Composition:
    """The trained composition of a run directory: rebuilt by ``compose()`` from config.json, best weights loaded."""
    run_dir = Path(run_dir)
    config = read_json(run_dir, CONFIG)
    composition = compose_from_config(config.get("composition") if isinstance(config, dict) else config, plugins,
                                      where=str(run_dir / CONFIG))
    try:
        composition.model.load_state_dict(read_weights(run_dir / WEIGHTS))
    except RuntimeError as exc:
        raise SeqkitError(f"{run_dir / WEIGHTS} does not fit the model in config.json: "
                          f"{str(exc).splitlines()[0]}") from None
    composition.model.eval()
    return composition


def evaluate(run_dir: str | os.PathLike, data: Any, split: str = "test", batch_size: int | None = None,
             device: str = "cpu", plugins: Plugins | None = None) -> dict:
    """Loss and task metrics of a saved run on ``data`` (dataset name, path or samples), with the baseline.

    Returns ``{"loss": .., <metric>: .., "samples": n, "baseline": {<metric>: ..}}``; a named dataset is read
    at ``split`` (built-in datasets have "train" and "test").
    """
    composition = load_run(run_dir, plugins)
    task = composition.task
    if isinstance(data, (str, os.PathLike)):
        data = task.load_data(str(data), split)
    if len(data) == 0:
        raise SeqkitError("no samples to evaluate")
    size = batch_size or read_json(Path(run_dir), CONFIG).get("train", {}).get("batch_size", 32)
    model = composition.model.to(resolve_device(device)).eval()
    with torch.no_grad():
        result: dict[str, Any] = _run_epoch(model, task, data, size, resolve_device(device))
    result["samples"] = len(data)
    result["baseline"] = task.baseline(None, data)
    return result
