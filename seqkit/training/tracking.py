"""Runs logged to an experiment tracker (``seqkit train/tune --log``): ``csv`` (the run folder's metrics.csv, always
written), ``tensorboard`` (event files) or ``mlflow`` (a tracking store).

A :class:`Tracker` gets the run's hyperparameters when it opens, every epoch's scalars (``epoch``: the trainer's
``on_epoch`` hook), and at the end the final metrics with the baselines and the run's PNGs (``final``).
Defaults keep everything beside the run: TensorBoard writes into ``RUN/tensorboard``; MLflow into a local file
store ``RUN/mlruns`` (``mlflow ui --backend-store-uri RUN/mlruns``). ``uri`` sends them elsewhere: a log folder
for TensorBoard, a tracking URI for MLflow (``http://host:5000``, ``sqlite:///mlflow.db``).
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from seqkit.errors import SeqkitError

KINDS = ("csv", "tensorboard", "mlflow")
EXTRAS = {"tensorboard": ("tensorboard", "tensorboard"), "mlflow": ("mlflow", "mlflow")}  # kind: (module, extra)


def _need(kind: str) -> None:
    module, extra = EXTRAS[kind]
    try:
        __import__(module)
    except ImportError:
        raise SeqkitError(f"--log {kind} needs {module}: pip install 'seqkit[{extra}]'") from None


def describe_run(cell: str, task: str, data: Any, cell_config, task_options: dict, config, val_data: Any = None,
                 val_fraction: float | None = None) -> dict:
    """The hyperparameters of a run as JSON-able values (what a tracker logs; what a tune study remembers)."""
    from dataclasses import asdict

    raw = getattr(task_options, "raw", None)
    options = dict(raw) if raw is not None else {k: str(v) for k, v in (task_options or {}).items()}
    return {"cell": cell, "task": task, "data": os.fspath(data), "val_data":
            None if val_data is None else os.fspath(val_data), "val_fraction": val_fraction,
            "cell_config": asdict(cell_config), "task_options": options,
            "train": {k: v for k, v in asdict(config).items() if k not in ("progress", "device")}}


def flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``a/b`` keys (``{"cell_config": {"hidden_size": 8}}`` -> ``cell_config/hidden_size``)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat(value, name + "/"))
        else:
            out[name] = value
    return out


def _scalars(row: dict) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if k != "epoch" and isinstance(v, (int, float))
            and not isinstance(v, bool)}


def final_scalars(summary: dict) -> dict[str, float]:
    """A result's final numbers: ``best/<metric>`` (the best epoch's), ``baseline/<name>/<metric>``, best_epoch."""
    out = {f"best/{k}": float(v) for k, v in summary.get("metrics", {}).items() if isinstance(v, (int, float))}
    for name, values in summary.get("baselines", {}).items():
        out.update({f"baseline/{name}/{k}": float(v) for k, v in values.items() if isinstance(v, (int, float))})
    if "best_epoch" in summary:
        out["best_epoch"] = float(summary["best_epoch"])
    return out


class Tracker:
    """``csv``: nothing beyond the run folder's own files."""

    def epoch(self, history: list[dict], best_epoch: int) -> None:
        pass

    def final(self, summary: dict, images: Iterable[Path] = ()) -> None:
        pass

    def close(self) -> None:
        pass


class TensorBoard(Tracker):
    def __init__(self, run_dir: Path, name: str, params: dict, uri: str | None):
        from torch.utils.tensorboard import SummaryWriter

        self.folder = Path(uri) / name if uri else Path(run_dir) / "tensorboard"
        self.writer = SummaryWriter(str(self.folder))
        self.params = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in flat(params).items()}
        self.writer.add_text("params", "\n".join(f"    {k} = {v}" for k, v in self.params.items()))

    def epoch(self, history: list[dict], best_epoch: int) -> None:
        row = history[-1]
        for key, value in _scalars(row).items():
            self.writer.add_scalar(key.replace("_", "/", 1) if key[:4] in ("trai", "val_") else key, value,
                                   row["epoch"])
        self.writer.flush()

    def final(self, summary: dict, images: Iterable[Path] = ()) -> None:
        from matplotlib.image import imread

        scalars = final_scalars(summary)
        for key, value in scalars.items():
            self.writer.add_scalar(key, value, 0)
        self.writer.add_hparams(self.params, {f"hparam/{k}": v for k, v in scalars.items() if k.startswith("best/")},
                                run_name="hparams")
        for path in images:
            picture = imread(path)
            self.writer.add_image(Path(path).stem, picture[..., :3], 0, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class MLflow(Tracker):
    """One MLflow run (a child of ``parent``, a run id, when given: the trials of a tune under the study's run)."""

    def __init__(self, run_dir: Path, name: str, params: dict, uri: str | None, experiment: str | None = None,
                 parent: str | None = None):
        if uri is None:  # the file store beside the run: MLflow 3 asks for this opt-in to use one
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.tracking import MlflowClient

        self.uri = uri or (Path(run_dir) / "mlruns").resolve().as_uri()
        self.client = MlflowClient(tracking_uri=self.uri)
        experiment = experiment or Path(run_dir).resolve().name
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
        tags = {"mlflow.parentRunId": parent} if parent else {}
        self.run_id = self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id
        from mlflow.entities import Param

        self.client.log_batch(self.run_id, params=[Param(k, str(v)[:6000]) for k, v in flat(params).items()])
        self.status = "KILLED"

    def epoch(self, history: list[dict], best_epoch: int) -> None:
        from mlflow.entities import Metric

        row = history[-1]
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, 0, row["epoch"]) for k, v in _scalars(row).items()])

    def final(self, summary: dict, images: Iterable[Path] = ()) -> None:
        from mlflow.entities import Metric

        self.client.log_batch(self.run_id, metrics=[Metric(k, v, 0, 0) for k, v in final_scalars(summary).items()])
        for path in images:
            self.client.log_artifact(self.run_id, str(path))
        self.status = "FINISHED"

    def close(self) -> None:
        self.client.set_terminated(self.run_id, self.status)


def tracker(kind: str, run_dir: str | os.PathLike, name: str, params: dict, uri: str | None = None,
            **kw) -> Tracker:
    """The tracker of ``--log KIND`` for one run; one line naming the extra when its library is missing."""
    if kind not in KINDS:
        raise SeqkitError(f"unknown --log {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "csv":
        return Tracker()
    _need(kind)
    return (TensorBoard if kind == "tensorboard" else MLflow)(Path(run_dir), name, params, uri, **kw)


def check(kind: str) -> None:
    """Refuse ``--log KIND`` before anything trains when its library is missing."""
    if kind in EXTRAS:
        _need(kind)


def tracked(track: Tracker | None, run):
    """``run(on_epoch) -> TrainResult`` with ``track`` fed every epoch, then the result and the run's PNGs; closed
    whatever happens (an interrupted MLflow run is marked KILLED)."""
    if track is None:
        return run(None)
    try:
        result = run(track.epoch)
        track.final(result.to_dict(), sorted(Path(result.run_dir).glob("*.png")))
        return result
    finally:
        track.close()
