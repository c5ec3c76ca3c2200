"""Runs that describe themselves: :func:`load_run` rebuilds a run's trained composition from its config.json
(``compose()`` with the recorded options and fitted values, best weights loaded); its task reads its recorded
training data again (for baselines) as training does, a folder of shards included. Evaluation, resume and the
CLI load runs from here."""
from __future__ import annotations

import os
from pathlib import Path

from seqkit.core.compose import Composition, compose_from_config
from seqkit.core.plugins import Plugins
from seqkit.errors import SeqkitError, first_line
from seqkit.training.runs import CONFIG, WEIGHTS, read_json, read_weights
from seqkit.training.shards import load_data as read_source  # a dataset, file or folder of shards


def _compose_saved(run_dir: Path, saved: dict, plugins: Plugins | None) -> Composition:
    """The composition config.json records; its task reads its recorded training data again (for baselines) as
    training does: a folder of shards included."""
    composition = compose_from_config(saved.get("composition") if isinstance(saved, dict) else saved, plugins,
                                      where=str(run_dir / CONFIG))
    composition.task.source_reader = read_source
    return composition


def load_run(run_dir: str | os.PathLike, plugins: Plugins | None = None) -> Composition:
    """The trained composition of a run directory: rebuilt by ``compose()`` from config.json, best weights loaded."""
    run_dir = Path(run_dir)
    return load_saved_run(run_dir, read_json(run_dir, CONFIG), plugins)


def load_saved_run(run_dir: Path, saved: dict, plugins: Plugins | None = None) -> Composition:
    """:func:`load_run` for a caller that has read config.json already (``saved``)."""
    composition = _compose_saved(run_dir, saved, plugins)
    try:
        composition.model.load_state_dict(read_weights(run_dir / WEIGHTS))
    except RuntimeError as exc:
        raise SeqkitError(f"{run_dir / WEIGHTS} does not fit the model in config.json: "
                          f"{first_line(exc)}") from None
    composition.model.eval()
    return composition
