"""Several seeds of one training: a run per seed in ``RUN-seedS`` folders (what ``seqkit train --seeds`` runs);
:func:`seqkit.training.evaluation.summarize` gives their mean ± std."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from seqkit.core.cell import CellConfig
from seqkit.core.plugins import Plugins
from seqkit.errors import ConfigError
from seqkit.training.config import VAL_FRACTION, TrainConfig
from seqkit.training.runs import default_run_dir
from seqkit.training.trainer import TrainResult, prepare, resume, train


def seed_run_dir(run_dir: str | os.PathLike, seed: int) -> Path:
    """``runs/bm`` -> ``runs/bm-seed1``: where one seed of a several-seed run goes."""
    run_dir = Path(run_dir)
    return run_dir.with_name(f"{run_dir.name}-seed{seed}")


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """``seeds`` as a list, refused unless distinct non-negative integers (at least one)."""
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError(f"seeds must be distinct non-negative integers, e.g. 0,1,2 (got {seeds})")
    return seeds


def train_seeds(cell: str, task: str, data: Any, seeds: Sequence[int], cell_config: CellConfig | None = None,
                task_config: Any = None, config: TrainConfig | None = None, run_dir: str | os.PathLike | None = None,
                *, val_data: Any = None, val_fraction: float = VAL_FRACTION,
                plugins: Plugins | None = None, track=None) -> list[TrainResult]:
    """One :func:`prepare` + :func:`train` per seed (each seed sets the weights, the validation split and the
    shuffling; ``config.seed`` is replaced), into :func:`seed_run_dir` ``(run_dir, seed)``; ``run_dir`` None:
    ``runs/CELL-TASK-TIMESTAMP``. :func:`summarize` gives the mean ± std of the results. ``track(run_dir, seed)``:
    a :class:`seqkit.training.tracking.Tracker` for each run (``--log``), or None."""
    from seqkit.training.tracking import tracked

    seeds = check_seeds(seeds)
    config = config or TrainConfig()
    base = Path(run_dir) if run_dir is not None else default_run_dir(cell, task)
    results = []
    for seed in seeds:
        prepared = prepare(cell, task, data, cell_config, task_config, seed=seed, val_data=val_data,
                           val_fraction=val_fraction, plugins=plugins)
        folder = seed_run_dir(base, seed)
        results.append(tracked(track and track(folder, seed),
                               partial(_train_one, prepared, replace(config, seed=seed), folder)))
    return results


def _train_one(prepared, config: TrainConfig, run_dir: Path, on_epoch) -> TrainResult:
    return train(prepared.composition, prepared.train_data, prepared.val_data, config, run_dir=run_dir,
                 sources=prepared.sources, on_epoch=on_epoch)


def resume_seeds(run_dir: str | os.PathLike, seeds: Sequence[int],
                 changes: dict[str, Any] | None = None) -> list[TrainResult]:
    """:func:`resume` of each seed's run folder (:func:`seed_run_dir`) of a :func:`train_seeds` run."""
    return [resume(seed_run_dir(run_dir, seed), changes) for seed in check_seeds(seeds)]
