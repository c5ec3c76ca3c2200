"""Training and reloading of composed models (evaluation: :mod:`seqkit.training.evaluation`); docs/training.md shows
the API and the run directory.

:func:`prepare` loads the data, decides the validation data (the only place that does), lets the task ``fit``
the training part (labels, vocabulary, normalisation may change the model's shape) and only then composes the
model. :func:`train` runs the epochs: :class:`~seqkit.training.loop.Loop` does the passes over the data,
:class:`~seqkit.training.selection.Selection` picks the best epoch and decides when to stop,
:class:`~seqkit.training.progress.EpochLog` shows progress, :mod:`seqkit.training.runs` writes the run folder.
Training is seeded: same seed, same weights on CPU; a resumed run reaches the uninterrupted run's weights, since
every epoch reseeds shuffling and dropout from ``(seed, epoch)``, the checkpoint holds weights and optimizer state,
and the learning rate of each epoch is a function of the recorded history. :func:`resume` continues a run from
what its config.json records (model, data, options).
"""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from pathlib import Path
from typing import Any

import torch

from seqkit._version import __version__
from seqkit.core.cell import CellConfig
from seqkit.core.compose import Composition, compose
from seqkit.core.plugins import Plugins, load_plugins
from seqkit.errors import ConfigError, SeqkitError
from seqkit.training import sources as data_sources
from seqkit.training.config import RESUMABLE, VAL_FRACTION, TrainConfig
from seqkit.training.data import held_out, subset
from seqkit.training.distributed import Group, current, join, resolve_device
from seqkit.training.evaluation import first_baseline
from seqkit.training.loop import Loop
from seqkit.training.progress import EpochLog
from seqkit.training.runs import (
    CONFIG,
    CURVES,
    default_run_dir,
    open_run,
    read_json,
    to_json,
    write_curves,
    write_epoch,
    write_json,
    write_metrics,
    write_weights,
)
from seqkit.training.saved import _compose_saved, load_run, load_saved_run  # noqa: F401 (also imported from here)
from seqkit.training.selection import Selection, learning_rate


@dataclass
class Prepared:
    """What :func:`prepare` returns: a composition built after ``task.fit``, the data it was fitted on, and where
    that data came from (``sources``: train / val / test records, val_fraction, the task options as given)."""

    composition: Composition
    train_data: Sequence
    val_data: Sequence | None
    sources: dict = field(default_factory=dict)


@dataclass
class TrainResult:
    run_dir: Path
    history: list[dict]                 # one dict per epoch: epoch, train_loss, train_<metric>, val_..., lr, seconds
    best_epoch: int
    metrics: dict[str, float]           # validation (or training, without validation) metrics of best_epoch
    baseline: dict[str, float] = field(default_factory=dict)  # the first of ``baselines`` (older callers read it)
    stopped_early: bool = False
    composition: Composition | None = None  # the trained model (best epoch's weights, CPU, eval mode)
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)  # {name: {metric: value}}, same data
    selected_on: str = ""               # the selection rule, e.g. "lowest val_loss"

    def to_dict(self) -> dict[str, Any]:
        return {"run_dir": str(self.run_dir), "best_epoch": self.best_epoch, "selected_on": self.selected_on,
                "metrics": self.metrics, "baseline": self.baseline, "baselines": self.baselines,
                "stopped_early": self.stopped_early, "history": self.history}


def carve(task, data: Sequence, fraction: float, seed: int) -> tuple[Sequence, Sequence | None]:
    """(train, validation): ``task.split_validation`` if the task has its own, else a seeded random split
    stratified by ``task.stratify``; no split at fraction 0."""
    if not fraction:
        return data, None
    if hasattr(data, "carve"):  # a folder of shards: split lazily (seqkit.training.shards)
        return data.carve(task, fraction, seed)
    own = task.split_validation(data, fraction, seed)  # e.g. forecasting: the latest windows, not a random pick
    if own is not None:
        return own
    keep, held = held_out(data, task, fraction, seed)
    return subset(data, keep), subset(data, held)


# -- data -> fitted composition ---------------------------------------------------------------------------------
def prepare(cell: str, task: str, data: Any, cell_config: CellConfig | None = None, task_config: Any = None,
            seed: int = 0, *, val_data: Any = None, val_fraction: float = VAL_FRACTION, split: str = "train",
            plugins: Plugins | None = None) -> Prepared:
    """Load ``data`` (a dataset name of ``task``, a path, or already-loaded samples), decide the validation data,
    fit the task on the training part, then compose.

    Validation (:func:`seqkit.training.sources.validation_record`): ``val_data`` None carves ``val_fraction`` of
    the training data (seeded; by ``task.split_validation`` or stratified by ``task.stratify``) *before* ``fit``,
    so fit never sees it. A dataset name uses its real "val" split, or, when it is the training dataset and has
    none, the carved part. The composition is built from the fitted task object itself (its config, fitted values
    and prepared starts), so a vocabulary or label set learnt from data sizes the model.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    plugins = plugins or load_plugins()
    task_cls = plugins.task(task)
    task_obj = task_cls(task_cls.make_config(task_config, name=task))
    train_record = data_sources.describe(plugins, task, data, split)
    val_record = data_sources.validation_record(plugins, task, train_record, val_data, val_fraction, seed)
    train_data, val_samples = _load_data(task_obj, train_record, val_record, data, val_data)
    task_obj.fit(train_data)
    composition = compose(cell, task, cell_config, task_obj, seed=seed, plugins=plugins)  # the fitted task itself
    record = {"train": train_record, "val": val_record, "test": data_sources.test_record(task_cls, train_record),
              "val_fraction": val_fraction, "task_options": _options(task_config)}
    return Prepared(composition, train_data, val_samples, record)


def _load_data(task, train_record: dict, val_record: dict | None, data: Any = None,
               val_data: Any = None) -> tuple[Sequence, Sequence | None]:
    """The samples of the train and val records (``data`` / ``val_data``: samples handed over in Python)."""
    train = data if train_record["kind"] == "samples" else data_sources.load(task, train_record)
    if val_record is None:
        return train, None
    if val_record.get("carved"):
        return carve(task, train, val_record["carved"], val_record["seed"])
    return train, (val_data if val_record["kind"] == "samples" else data_sources.load(task, val_record))


def _options(task_config: Any) -> dict:
    if task_config is None:
        return {}
    if is_dataclass(task_config):
        return asdict(task_config)
    return dict(task_config)


# -- training ---------------------------------------------------------------------------------------------------
def train(composition: Composition, train_data: Sequence, val_data: Sequence | None = None,
          config: TrainConfig | None = None, run_dir: str | os.PathLike | None = None, resume: bool = False,
          sources: dict | None = None, *, recorded: dict | None = None,
          on_epoch: Callable[[list[dict], int], None] | None = None) -> TrainResult:
    """Train ``composition.model`` on samples of ``composition.task``; write the run directory; return the result.

    ``val_data`` is used as it is: :func:`prepare` decides it (``None``: selection and early stopping watch the
    training data). The best epoch is chosen by :class:`~seqkit.training.selection.Selection` (``config.select``).
    ``resume`` continues the run in ``run_dir`` from its checkpoint (same composition; ``config.epochs`` is the
    total; of the options only those in ``RESUMABLE`` may differ, and the change is recorded); a run that never
    finished an epoch starts over. ``sources`` (``Prepared.sources``) is recorded in config.json so that
    :func:`evaluate` and :func:`resume` need no data argument. ``recorded``: the run's config.json when the caller
    has read it already (:func:`resume`), so that it is read once; None: read from ``run_dir`` when resuming.
    ``on_epoch(history, best_epoch)`` is called after each epoch is recorded (in rank 0 only), e.g. to log the
    epoch elsewhere or to stop the run by raising (``seqkit tune``'s pruning: the run folder keeps what was done).

    Under torchrun (or ``seqkit train --nproc N``) every process calls this with the same arguments: the model
    trains in DistributedDataParallel, each process on its share of every batch (seqkit.training.distributed);
    rank 0 alone writes ``run_dir`` and reads the checkpoint, and hands what it read to the others.
    """
    config = config or TrainConfig()
    config.validate()
    with join(config.device) as group:
        device = resolve_device(group.device(config.device))
        group.check_batch(config.batch_size)
        if len(train_data) == 0:
            raise SeqkitError("no training samples")
        has_val = val_data is not None and len(val_data) > 0

        def open_folder():  # rank 0 decides and writes; the other processes get the folder and checkpoint from it
            folder = Path(run_dir) if run_dir is not None else _new_run_dir(composition, resume)
            saved = (recorded if recorded is not None else read_json(folder, CONFIG)) if resume else None
            checkpoint = open_run(folder, saved)
            folder.mkdir(parents=True, exist_ok=True)
            _write_config(folder, composition, config, sources or _given_samples(train_data, val_data),
                          {"train": len(train_data), "val": len(val_data or [])}, saved, checkpoint, group.size)
            task = composition.task
            return folder, checkpoint, (task.baselines(train_data, val_data if has_val else train_data)
                                        if task.can("baselines") else {})

        folder, checkpoint, baselines = group.agree(open_folder)
        composition.task.config.__dict__.pop("_skip_ridge", None)  # every rank: a kept fit holds the training data
        composition.task.prepared.clear()  # for build_head and the baselines above only
        session = _Session(folder, composition, config, has_val, baselines, group, on_epoch)
        session.start(device, checkpoint)
        stopped_early = session.run_epochs(train_data, val_data if has_val else None)
        return session.finish(stopped_early, val_data if has_val else None)


def _new_run_dir(composition: Composition, resume: bool) -> Path:
    if resume:
        raise SeqkitError("resume needs the run directory to continue; pass run_dir")
    return default_run_dir(composition.cell_name, composition.task_name)


def _given_samples(train_data: Sequence, val_data: Sequence | None) -> dict:
    return {"train": {"kind": "samples", "size": len(train_data)},
            "val": {"kind": "samples", "size": len(val_data)} if val_data is not None else None, "test": None}


def _write_config(run_dir: Path, composition: Composition, config: TrainConfig, data: dict, counts: dict,
                  saved: dict | None, checkpoint: dict | None, processes: int = 1) -> None:
    """config.json: what the run is (composition), how it trains, what data it came from. ``saved``: the config.json
    of the run being resumed (None: a new run). On resume the composition must be the recorded one, changed
    options must be resumable, and each change is recorded."""
    resumes = list((saved or {}).get("resumes", []))
    if saved is not None:
        if saved.get("composition") != json.loads(to_json(composition.config())):
            raise SeqkitError(f"cannot resume {run_dir}: it was trained with another composition or fitted task "
                              f"config; use the same cell, task, options and data")
        before = TrainConfig.from_dict(saved.get("train", {}))
        _refuse_changes(run_dir, {k: v for k, v in asdict(config).items() if k not in RESUMABLE}, before)
        changed = {k: [getattr(before, k), v] for k, v in asdict(config).items()
                   if getattr(before, k) != v and k != "progress"}  # what is shown changes nothing of the run
        if changed and checkpoint is not None:
            resumes.append({"after_epoch": len(checkpoint["history"]), "changed": changed})
        data = saved.get("data", data)  # the records of the data the run was started on
    write_json(run_dir / CONFIG, {"composition": composition.config(), "train": asdict(config), "data": data,
                                  "samples": counts, "resumes": resumes, "seqkit": __version__,
                                  "processes": processes})


def _refuse_changes(run_dir: Path, given: dict, before: TrainConfig, differs: list[str] | None = None) -> None:
    """Refuse to resume with training options other than the recorded ones (``differs``: more such reasons)."""
    off = {"clip_norm", "patience"}  # 0 and None both mean "off"
    changed = [f"{k} {v!r} (trained with {getattr(before, k)!r})" for k, v in given.items()
               if getattr(before, k) != v and not (k in off and not v and not getattr(before, k))]
    changed += differs or []
    if changed:
        raise SeqkitError(f"cannot resume {run_dir} with {' and '.join(changed)}: only {', '.join(RESUMABLE)} can "
                          f"change when resuming; give the run's own options, or start a new run")


class _Session:
    """One training run between its epochs: the model and optimizer, the history, the selection, the best
    weights; writes the run folder after every epoch."""

    def __init__(self, run_dir: Path, composition: Composition, config: TrainConfig, has_val: bool,
                 baselines: dict[str, dict[str, float]], group: Group = Group(), on_epoch=None):
        self.run_dir, self.composition, self.config, self.baselines = run_dir, composition, config, baselines
        self.on_epoch = on_epoch
        self.group = group  # rank 0 alone writes the run folder and shows progress
        self.selection = Selection.for_run(composition.task, config, has_val)
        self.history: list[dict] = []
        self.best_state: dict | None = None
        self._plot_seconds, self._started = 0.0, time.perf_counter()

    def start(self, device: torch.device, checkpoint: dict | None) -> None:
        model = self.composition.model.to(device)
        config = self.config
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        if checkpoint is not None:
            model.load_state_dict(checkpoint["model"])
            self.optimizer.load_state_dict(checkpoint["optimizer"])  # its lr is replaced every epoch (history: lr)
            self.history, self.best_state = checkpoint["history"], checkpoint["best"]
            self.selection.replay(self.history)
        self.loop = Loop(model, self.composition.task, device, config.batch_size, self.optimizer, config.clip_norm,
                         self.group)

    def run_epochs(self, train_data: Sequence, val_data: Sequence | None) -> bool:
        """Epochs from the first not yet done up to ``config.epochs``; True when early stopping ended them."""
        config, selection = self.config, self.selection
        steps = math.ceil(len(train_data) / config.batch_size)
        with EpochLog(config.progress and self.group.main, config.epochs, steps) as log:
            for epoch in range(len(self.history) + 1, config.epochs + 1):
                if selection.should_stop(epoch - 1):
                    return True
                log.start(epoch)
                # dropout etc.: reproducible per epoch and on resume; each process of a job draws its own masks
                torch.manual_seed(config.seed * 100_003 + epoch + 1_000_003 * self.group.rank)
                started = time.perf_counter()
                lr = learning_rate(config, epoch, selection.scores)
                row: dict[str, Any] = {"epoch": epoch}
                row.update({f"train_{k}": v for k, v in
                            self.loop.train_epoch(train_data, [config.seed, epoch], lr, log.batch).items()})
                if val_data is not None:
                    row.update({f"val_{k}": v for k, v in self.loop.evaluate(val_data).items()})
                row["lr"] = lr
                row["seconds"] = round(time.perf_counter() - started, 3)
                self.record(row)
                log.end(row, selection.best_epoch)
                if self.on_epoch is not None and self.group.main:
                    self.on_epoch(self.history, selection.best_epoch)
        return False

    def record(self, row: dict) -> None:
        """Append ``row``; keep the weights when it is the best epoch; write weights, checkpoint, metrics, curves."""
        self.history.append(row)
        new_best = self.selection.update(row)
        if new_best:
            self.best_state = {k: v.detach().cpu().clone() for k, v in self.composition.model.state_dict().items()}
        if not self.group.main:
            return
        write_epoch(self.run_dir, self.composition.model, self.optimizer, self.history,
                    self.best_state if new_best else None,
                    {"best_epoch": self.selection.best_epoch, "best": self.best_state}, self.summary(False))
        if self._plot_seconds <= 0.2 * (time.perf_counter() - self._started):  # drawing: at most a fifth of the time
            self.plot()

    def plot(self) -> None:
        started = time.perf_counter()
        c = self.composition
        name = c.task.main_metric()[0]
        write_curves(self.run_dir / CURVES, self.history, name,
                     f"{c.cell_name} / {c.task_name}: best epoch {self.selection.best_epoch} "
                     f"({self.selection.describe()})", self.selection.best_epoch, self.baselines)
        self._plot_seconds += time.perf_counter() - started

    def summary(self, stopped_early: bool) -> dict:
        split, best_epoch = self.selection.split, self.selection.best_epoch
        best = {k[len(split) + 1:]: v for k, v in self.history[best_epoch - 1].items()
                if k.startswith(split + "_")} if best_epoch else {}
        return {"best_epoch": best_epoch, "best": best, "baseline": first_baseline(self.baselines),
                "baselines": self.baselines, "main_metric": list(self.composition.task.main_metric()),
                "selected_on": self.selection.describe(), "split": split, "stopped_early": stopped_early}

    def finish(self, stopped_early: bool, val_data: Sequence | None = None) -> TrainResult:
        if self.best_state is None:
            raise SeqkitError(f"{self.run_dir}: no epoch gave a comparable {self.selection.column} (NaN?); check the "
                              f"task's metrics")
        model = self.composition.model
        model.load_state_dict(self.best_state)
        model.to("cpu").eval()
        task = self.composition.task
        if val_data is not None and task.can("calibrate") and task.calibrate(model, val_data):
            self.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            if self.group.main:  # the calibrated buffers are part of the run's weights
                write_weights(self.run_dir, self.best_state)
        final = self.summary(stopped_early)
        if self.group.main:
            write_metrics(self.run_dir, self.history, final)
            self.plot()
        self.group.barrier()  # every process returns once the run folder is complete
        return TrainResult(self.run_dir, self.history, final["best_epoch"], final["best"], final["baseline"],
                           stopped_early, self.composition, self.baselines, final["selected_on"])


#: how each option given again on resume is found in config.json: (section, key) or a special rule
_MODEL_OPTIONS = {"cell": ("composition", "cell"), "task": ("composition", "task"),
                  "hidden_size": ("cell_config", "hidden_size"), "num_layers": ("cell_config", "num_layers"),
                  "bidirectional": ("cell_config", "bidirectional"), "dropout": ("cell_config", "dropout")}


def resume(run_dir: str | os.PathLike, changes: dict[str, Any] | None = None,
           plugins: Plugins | None = None) -> TrainResult:
    """Continue the run in ``run_dir`` with the model, data and options its config.json records.

    ``changes`` holds options given again, by their CLI names (``epochs``, ``lr``, ``data``, ``hidden_size``,
    ``task_options`` {key: value}, ...). Those in ``RESUMABLE`` (epochs, patience, lr, lr_schedule, device,
    progress) are applied and recorded in config.json; any other must equal the recorded value, or the resume is
    refused naming it. A run that never finished an epoch starts over with its recorded options.
    """
    run_dir = Path(run_dir)
    plugins = plugins or load_plugins()
    saved = current().agree(lambda: read_json(run_dir, CONFIG))  # rank 0's file, in a job of several processes
    changes = dict(changes or {})
    before = TrainConfig.from_dict(saved.get("train", {}))
    fixed = {k: v for k, v in changes.items() if k not in RESUMABLE}
    _refuse_changes(run_dir, {k: v for k, v in fixed.items() if k in TrainConfig.__dataclass_fields__}, before,
                    _recorded_differences(saved, fixed))
    config = replace(before, **{k: v for k, v in changes.items() if k in RESUMABLE})
    data = saved.get("data") or {}
    if not data.get("train") or data["train"].get("kind") == "samples":
        raise SeqkitError(f"{run_dir} does not record data it can reload (trained from samples handed over in "
                          f"Python, or by an older seqkit); resume it with train(..., resume=True) and the data")
    composition = _compose_saved(run_dir, saved, plugins)
    train_data, val_data = _load_data(composition.task, data["train"], data.get("val"))
    return train(composition, train_data, val_data, config, run_dir, resume=True, sources=data, recorded=saved)


def _recorded_differences(saved: dict, given: dict[str, Any]) -> list[str]:
    """Model and data options given again that differ from what the run recorded, one phrase each."""
    comp, data = saved.get("composition", {}), saved.get("data") or {}
    recorded_options = {**comp.get("task_config", {}), **data.get("task_options", {})}
    differs = []
    for key, value in given.items():
        if key in _MODEL_OPTIONS:
            section, name = _MODEL_OPTIONS[key]
            was = (comp if section == "composition" else comp.get(section, {})).get(name)
            if value != was:
                differs.append(f"{key} {value!r} (trained with {was!r})")
        elif key in ("cell_options", "task_options"):
            recorded = comp.get("cell_config", {}).get("options", {}) if key == "cell_options" else recorded_options
            differs += [f"{key[:4]} option {k}={v!r} (trained with {recorded.get(k)!r})"
                        for k, v in value.items() if recorded.get(k) != v]
        elif key == "data":
            if not data_sources.same_source(data.get("train"), value):
                differs.append(f"data {os.fspath(value)!r} (trained on {data_sources.where(data.get('train'))})")
        elif key == "val_data":
            val = data.get("val")
            if not data_sources.same_source(val, value):
                differs.append(f"val_data {os.fspath(value)!r} (validated on {data_sources.where(val)})")
        elif key == "val_fraction":
            if value != data.get("val_fraction", VAL_FRACTION):
                differs.append(f"val_fraction {value!r} (trained with {data.get('val_fraction')!r})")
        elif key in TrainConfig.__dataclass_fields__:
            continue  # compared with the recorded training config by _refuse_changes()
        else:
            raise ConfigError(f"unknown option {key!r} to compare on resume")
    return differs
