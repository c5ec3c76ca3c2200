"""``seqkit tune``: a search over training settings on Optuna, every trial a normal run folder.

:func:`tune` runs the trials of a study: each trial draws its values from the search space
(:mod:`seqkit.training.space`), :func:`~seqkit.training.trainer.prepare` and
:func:`~seqkit.training.trainer.train` it into ``TUNE_DIR/trial-NNNN``, reports the validation value of the
best epoch so far after every epoch (the pruner may stop it there) and returns that value at the end. Only the
training and validation data are read: the test split is left for :func:`retrain_best`, which trains the best
setting again at several seeds and :func:`evaluate_once` scores those runs on test.

The study lives in Optuna's storage: by default a journal file in the tune folder (``study.journal``), so an
interrupted search continues when started again; an RDB URL (``sqlite:///tune.db``, ``postgresql://...``) or a
journal file shared by several processes lets them run one study together. ``trials`` is the study's total of
finished (complete or pruned) trials, counted over every process.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from seqkit.core.config import CellConfig
from seqkit.core.options import parse_pairs
from seqkit.errors import ConfigError, SeqkitError
from seqkit.training.config import VAL_FRACTION, TrainConfig
from seqkit.training.space import Param

STUDY_FILE = "study.journal"
PRUNERS = ("median", "hyperband", "none")
FINISHED = ("COMPLETE", "PRUNED")


def optuna():
    """Optuna, or one line naming the extra that installs it."""
    try:
        import optuna as module
    except ImportError:
        raise SeqkitError("seqkit tune needs Optuna: pip install 'seqkit[tune]'") from None
    module.logging.set_verbosity(module.logging.ERROR)  # trials are shown by seqkit; a Ctrl-C is one line
    return module


@dataclass
class Setup:
    """What every trial shares: the options of ``seqkit train`` before the search space is applied."""

    cell: str
    task: str
    data: Any
    cell_config: CellConfig = field(default_factory=CellConfig)
    task_options: dict = field(default_factory=dict)
    config: TrainConfig = field(default_factory=TrainConfig)
    val_data: Any = None
    val_fraction: float = VAL_FRACTION

    def describe(self) -> dict:
        """JSON of the fixed options (a study remembers it and refuses to continue with others)."""
        from seqkit.training.tracking import describe_run

        return describe_run(self.cell, self.task, self.data, self.cell_config, self.task_options, self.config,
                            self.val_data, self.val_fraction)


def _raw(options: dict) -> dict:
    raw = getattr(options, "raw", None)
    return dict(raw) if raw is not None else {k: _text(v) for k, v in options.items()}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def apply(setup: Setup, space: Sequence[Param], values: dict[str, Any]) -> Setup:
    """``setup`` with the trial's ``values`` ({param name: value}) in place."""
    cell, model, training = setup.cell, {}, {}
    task_raw, cell_raw = _raw(setup.task_options), _raw(setup.cell_config.options)
    for p in space:
        value = values[p.name]
        if p.section == "task":
            task_raw[p.key] = _text(value)
        elif p.section == "cell":
            cell_raw[p.key] = _text(value)
        elif p.key == "cell":
            cell = value
        elif p.section == "model":
            model[p.key] = value
        else:
            training[p.key] = value
    pairs = lambda raw: [f"{k}={v}" for k, v in raw.items()]  # noqa: E731
    return replace(setup, cell=cell, task_options=parse_pairs(pairs(task_raw), "task"),
                   cell_config=replace(setup.cell_config, **model, options=parse_pairs(pairs(cell_raw), "cell")),
                   config=replace(setup.config, **training))


def suggest(trial, p: Param) -> Any:
    if p.kind == "choice":
        return trial.suggest_categorical(p.name, list(p.choices))
    if p.kind == "int":
        return trial.suggest_int(p.name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
    return trial.suggest_float(p.name, p.low, p.high, step=p.step, log=p.log)


def check_space(setup: Setup, space: Sequence[Param], plugins) -> None:
    """Refuse, before anything trains, a searched cell that is not registered and a searched task option whose
    values (every choice, both ends of a range) the task does not accept."""
    task_cls = plugins.task(setup.task)
    for p in space:
        values = p.choices if p.kind == "choice" else (p.low, p.high)
        for value in values:
            if p.key == "cell" and p.section == "model":
                plugins.cell(value)
            elif p.section == "task":
                value = int(value) if p.kind == "int" else value
                options = apply(setup, [p], {p.name: value}).task_options
                task_cls(task_cls.make_config(options, name=setup.task))  # types here, values in validate()


def objective_of(setup: Setup, metric: str | None, direction: str | None, plugins) -> tuple[str, str]:
    """``(metric, "minimize" | "maximize")``: the validation value a trial returns. Default: the task's main
    metric; ``loss`` is minimized; another metric of the task needs ``direction``."""
    task_cls = plugins.task(setup.task)
    name, mode = task_cls(task_cls.make_config(setup.task_options)).main_metric()
    metric = metric or name
    if direction is None:
        if metric == "loss":
            direction = "minimize"
        elif metric == name:
            direction = "minimize" if mode == "min" else "maximize"
        else:
            raise ConfigError(f"--metric {metric}: say whether to --direction minimize or maximize it (only the "
                              f"task's main metric {name!r} and loss have a known direction)")
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"direction must be minimize or maximize, got {direction!r}")
    return metric, direction


def storage_of(spec: str | None, run_dir: Path):
    """Optuna storage: None -> the journal file in ``run_dir``; a URL with ``://`` -> Optuna's RDB storage;
    anything else -> a journal file at that path."""
    optuna()
    if spec and "://" in spec:
        return spec
    path = Path(spec) if spec else run_dir / STUDY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return JournalStorage(JournalFileBackend(str(path)))


def pruner_of(name: str, epochs: int):
    module = optuna()
    if name == "median":
        return module.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "hyperband":
        return module.pruners.HyperbandPruner(min_resource=1, max_resource=epochs)
    if name == "none":
        return module.pruners.NopPruner()
    raise ConfigError(f"unknown pruner {name!r}; choose one of {', '.join(PRUNERS)}")


def open_study(setup: Setup, space: Sequence[Param], run_dir: Path, metric: str, direction: str, *,
               storage: str | None = None, study_name: str | None = None, pruner: str = "median"):
    """Create the study, or load it when it exists; a study started with other options is refused."""
    module = optuna()
    name = study_name or Path(run_dir).resolve().name
    epochs = max([int(p.high) for p in space if p.key == "epochs"] + [setup.config.epochs])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", module.exceptions.ExperimentalWarning)
        try:
            study = module.create_study(storage=storage_of(storage, Path(run_dir)), study_name=name,
                                        direction=direction, pruner=pruner_of(pruner, epochs),
                                        load_if_exists=True)
        except module.exceptions.OptunaError as exc:
            raise SeqkitError(f"cannot open the study {name!r} in {storage or Path(run_dir) / STUDY_FILE}: "
                              f"{exc}") from None
    recorded = json.loads(json.dumps({"setup": setup.describe(), "space": [asdict(p) for p in space],
                                      "metric": metric, "direction": direction}))
    seen = study.user_attrs.get("seqkit")
    if seen is None:
        study.set_user_attr("seqkit", recorded)
    elif seen != recorded:
        differs = [k for k in recorded if seen.get(k) != recorded[k]]
        differs += [f"{k} options" for k in recorded["setup"] if seen.get("setup", {}).get(k) != recorded["setup"][k]]
        raise SeqkitError(f"study {name!r} was started with other options ({', '.join(differs)}); give the same "
                          f"command to continue it, or another --run-dir / --study-name for a new study")
    return study


def finished(study) -> list:
    return [t for t in study.get_trials(deepcopy=False) if t.state.name in FINISHED]


def trial_dir(run_dir: Path, number: int) -> Path:
    return Path(run_dir) / f"trial-{number:04d}"


def tune(setup: Setup, space: Sequence[Param], run_dir: str | os.PathLike, *, trials: int | None = None,
         timeout: float | None = None, metric: str | None = None, direction: str | None = None,
         pruner: str = "median", storage: str | None = None, study_name: str | None = None,
         callbacks: Sequence[Callable] = (), tracker: Callable | None = None, plugins=None):
    """Run trials until the study holds ``trials`` finished ones (over every process) or ``timeout`` seconds
    pass; return the study. ``callbacks``: Optuna callbacks ``(study, frozen_trial)`` after each trial (progress).
    ``tracker(run_dir, name, params)``: a :class:`seqkit.training.tracking.Tracker` for each trial, or None."""
    from seqkit.core.plugins import load_plugins
    from seqkit.training.trainer import prepare, train

    if trials is None and timeout is None:
        raise ConfigError("give --trials N, --timeout SECONDS or both: the search needs an end")
    if setup.val_data is None and not setup.val_fraction:
        raise ConfigError("tune chooses on validation data: give --val-data or a --val-fraction above 0")
    module = optuna()
    plugins = plugins or load_plugins()
    run_dir = Path(run_dir)
    check_space(setup, space, plugins)
    metric, direction = objective_of(setup, metric, direction, plugins)
    study = open_study(setup, space, run_dir, metric, direction, storage=storage, study_name=study_name,
                       pruner=pruner)
    _retry_interrupted(study)

    def objective(trial) -> float:
        values = {p.name: suggest(trial, p) for p in space}
        chosen = apply(setup, space, values)
        folder = trial_dir(run_dir, trial.number)
        trial.set_user_attr("run_dir", str(folder))
        config = replace(chosen.config, progress=False)
        track = tracker(folder, f"trial-{trial.number:04d}", chosen.describe()) if tracker else None

        def on_epoch(history: list[dict], best_epoch: int) -> None:
            if track is not None:
                track.epoch(history, best_epoch)
            value = history[best_epoch - 1].get(f"val_{metric}") if best_epoch else None
            if value is not None and math.isfinite(value):
                trial.report(float(value), len(history))
                if trial.should_prune():
                    trial.set_user_attr("pruned_at", len(history))
                    if track is not None:
                        track.status = "FINISHED"  # MLflow: a pruned trial ended as planned (not KILLED)
                    raise module.TrialPruned(f"pruned at epoch {len(history)}")

        try:
            prepared = prepare(chosen.cell, chosen.task, chosen.data, chosen.cell_config, chosen.task_options,
                               seed=config.seed, val_data=chosen.val_data, val_fraction=chosen.val_fraction,
                               plugins=plugins)
            result = train(prepared.composition, prepared.train_data, prepared.val_data, config, run_dir=folder,
                           sources=prepared.sources, on_epoch=on_epoch)
            if track is not None:
                track.final(result.to_dict(), sorted(folder.glob("*.png")))
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        finally:
            if track is not None:
                track.close()
        if metric not in result.metrics:
            raise SeqkitError(f"task {setup.task!r} reports no validation {metric!r}; choose --metric loss or one "
                              f"of {', '.join(result.metrics)}")
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("worker", f"{os.uname().nodename}:{os.getpid()}")
        return float(result.metrics[metric])

    stop = [module.study.MaxTrialsCallback(trials, states=tuple(getattr(module.trial.TrialState, s)
                                                                for s in FINISHED))] if trials else []
    left = None if trials is None else max(0, trials - len(finished(study)))
    if left != 0:
        study.optimize(objective, n_trials=left, timeout=timeout, callbacks=[*stop, *callbacks])
    return study


def _retry_interrupted(study) -> None:
    """Trials stopped by Ctrl-C (or SIGTERM) are tried again: their values are queued once more."""
    retried = set(study.user_attrs.get("retried", []))
    again = [t for t in study.get_trials(deepcopy=False)
             if t.state.name == "FAIL" and t.user_attrs.get("interrupted") and t.number not in retried]
    for t in again:
        study.enqueue_trial(t.params, skip_if_exists=False)
    if again:
        study.set_user_attr("retried", sorted(retried | {t.number for t in again}))


def best_setting(study, setup: Setup, space: Sequence[Param]) -> tuple[Any, Setup]:
    """``(best trial, its Setup)``; one line when no trial has finished."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not complete:
        raise SeqkitError(f"study {study.study_name!r} has no complete trial yet; run more trials")
    best = study.best_trial
    return best, apply(setup, space, best.params)

