"""After a ``seqkit tune`` search: :func:`retrain_best` trains the best trial's setting again at several seeds,
:func:`evaluate_once` scores those runs on the test split (the first and only time the test split is read)."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from seqkit.training.space import Param
from seqkit.training.tune import Setup, best_setting


def retrain_best(study, setup: Setup, space: Sequence[Param], run_dir: str | os.PathLike, seeds: Sequence[int],
                 plugins=None, progress: bool = False) -> tuple[Any, list]:
    """The best trial's setting trained again at each of ``seeds`` into ``TUNE_DIR/best-trialN-seedS`` (a run
    folder that exists is resumed: finished runs are only reloaded). Returns ``(best trial, [TrainResult])``."""
    from seqkit.core.plugins import load_plugins
    from seqkit.training.runs import CHECKPOINT
    from seqkit.training.seeds import check_seeds, seed_run_dir
    from seqkit.training.trainer import prepare, resume, train

    plugins = plugins or load_plugins()
    best, chosen = best_setting(study, setup, space)
    base = Path(run_dir) / f"best-trial{best.number}"
    results = []
    for seed in check_seeds(seeds):
        folder = seed_run_dir(base, seed)
        if (folder / CHECKPOINT).exists():
            results.append(resume(folder, {"progress": progress}, plugins))
            continue
        prepared = prepare(chosen.cell, chosen.task, chosen.data, chosen.cell_config, chosen.task_options,
                           seed=seed, val_data=chosen.val_data, val_fraction=chosen.val_fraction, plugins=plugins)
        results.append(train(prepared.composition, prepared.train_data, prepared.val_data,
                             replace(chosen.config, seed=seed, progress=progress), run_dir=folder,
                             sources=prepared.sources))
    return best, results


def evaluate_once(results: Sequence, plugins=None) -> dict:
    """Each run of :func:`retrain_best` scored on the test split it records, and the mean +- std over them next to
    the baselines (:func:`seqkit.training.evaluation.summarize`)."""
    from seqkit.training.evaluation import evaluate, summarize

    scores = [evaluate(r.run_dir, plugins=plugins) for r in results]
    numbers = [{k: v for k, v in s.items() if isinstance(v, float)} for s in scores]
    return {"runs": [str(r.run_dir) for r in results], "test": scores,
            "summary": summarize(numbers, [s["baselines"] for s in scores])}
