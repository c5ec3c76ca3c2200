"""The run directory: what a training run leaves behind, each file written atomically (temp file + rename).

    config.json          composition config (cell, cell_config, task, fitted task_config, seed), training config,
                         the data it came from (train / val / test source records: see seqkit.training.sources)
    weights.safetensors  the best epoch's weights (safetensors: no pickle)
    metrics.json/.csv    one row per epoch; metrics.json also holds best_epoch, best metrics and the baselines
    curves.png           loss and the task's main metric per epoch, train and validation, the best epoch marked
                         and the baselines drawn in; rewritten after every epoch
    checkpoint.pt        last epoch's weights, optimizer state and history, for ``resume`` (tensors, lists,
                         numbers only: loaded with ``torch.load(weights_only=True)``)

A folder with config.json but no checkpoint.pt never finished an epoch: training into it again starts over.
"""
from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from seqkit.errors import SeqkitError
from seqkit.files import atomic_write

CONFIG, WEIGHTS, METRICS_JSON, METRICS_CSV, CURVES, CHECKPOINT = (
    "config.json", "weights.safetensors", "metrics.json", "metrics.csv", "curves.png", "checkpoint.pt")


def default_run_dir(cell: str, task: str, root: str | Path = "runs") -> Path:
    """``runs/CELL-TASK-YYYYmmdd-HHMMSS`` (a numeric suffix if that exists)."""
    base = Path(root) / f"{cell}-{task}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _plain(value: Any) -> Any:
    """numpy scalars and arrays (and tuples) as JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value: Any, **kw) -> str:
    return json.dumps(value, default=_plain, sort_keys=True, **kw)


def write_json(path: Path, value: Any) -> None:
    atomic_write(path, (to_json(value, indent=2) + "\n").encode())


def read_json(run_dir: Path, name: str) -> dict:
    path = Path(run_dir) / name
    if not path.is_file():
        raise SeqkitError(f"{run_dir} is not a seqkit run directory (no {name}); give a folder written by "
                          f"'seqkit train'")
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise SeqkitError(f"{path} is not valid JSON ({exc}); the run directory is damaged") from None


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise SeqkitError(f"{path.parent} has no {path.name}; the run has not finished an epoch yet")
    try:
        return st_load(path.read_bytes())
    except Exception as exc:  # safetensors raises its own error types
        raise SeqkitError(f"{path} is not a readable safetensors file ({exc})") from None


def write_checkpoint(path: Path, state: dict) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write(path, buf.getvalue())


def read_checkpoint(path: Path) -> dict | None:
    """The checkpoint, or None when the run never finished an epoch."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged file
        raise SeqkitError(f"{path} is not a readable checkpoint ({type(exc).__name__}); delete it to start the run "
                          f"over") from None


def open_run(run_dir: Path, saved: dict | None) -> dict | None:
    """Apply the run-directory rules; return the checkpoint to continue from (None: start from epoch 1).

    ``saved``: the run's config.json when resuming (the caller reads it with :func:`read_json`, which refuses a
    folder that is not a run directory), None for a new run. A new run needs a folder without a run in it, except
    one that never finished an epoch (killed while loading or in its first epoch): that one is started over, its
    files replaced. A resumed run with no finished epoch starts over too.
    """
    resume = saved is not None
    checkpoint = read_checkpoint(run_dir / CHECKPOINT) if (run_dir / CONFIG).exists() else None
    if checkpoint is not None and not resume:
        raise SeqkitError(f"{run_dir} already holds a run; choose another run directory or resume it")
    if checkpoint is None and (run_dir / CONFIG).exists():
        for name in (WEIGHTS, METRICS_JSON, METRICS_CSV, CURVES):  # leftovers of a run that never finished an epoch
            (run_dir / name).unlink(missing_ok=True)
    return checkpoint


def write_weights(run_dir: Path, state: dict) -> None:
    atomic_write(run_dir / WEIGHTS, st_save({k: v.contiguous() for k, v in state.items()}))


def write_epoch(run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, history: list[dict],
                new_best: dict | None, best: dict, summary: dict) -> None:
    """After each epoch: the best weights (when ``new_best``), the checkpoint, then the metrics."""
    if new_best is not None:
        write_weights(run_dir, new_best)
    write_checkpoint(run_dir / CHECKPOINT, {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                                            "optimizer": optimizer.state_dict(), "history": history, **best})
    write_metrics(run_dir, history, summary)


def write_metrics(run_dir: Path, history: list[dict], summary: dict) -> None:
    write_json(run_dir / METRICS_JSON, {**summary, "history": history})
    columns = list(dict.fromkeys(k for row in history for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    atomic_write(run_dir / METRICS_CSV, buf.getvalue().encode())


def write_curves(path: Path, history: list[dict], metric: str, title: str, best_epoch: int = 0,
                 baselines: dict[str, dict[str, float]] | None = None) -> None:
    """Loss and ``metric`` per epoch, train and validation, as a PNG (matplotlib's Agg backend): the best epoch
    is a vertical line, each baseline that reports the quantity a horizontal dashed line."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.5), dpi=100)
    epochs = [row["epoch"] for row in history]
    for ax, name in zip(fig.subplots(1, 2), ("loss", metric)):
        for split, style in (("train", "-o"), ("val", "-s")):
            values = [row.get(f"{split}_{name}") for row in history]
            if any(v is not None for v in values):
                ax.plot(epochs, values, style, markersize=3, label=split)
        for i, (label, values) in enumerate((baselines or {}).items()):
            if values.get(name) is not None:
                ax.axhline(values[name], linestyle="--", linewidth=1, color=f"C{i + 2}", label=label)
        if best_epoch:
            ax.axvline(best_epoch, linestyle=":", color="grey", label=f"best epoch {best_epoch}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(path, buf.getvalue())
