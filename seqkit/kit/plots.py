"""PNG plots of a model's predictions that tasks share: forecast against actual, a confusion matrix.

matplotlib's Agg backend (no display needed), imported on first use; every file is written atomically.
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from seqkit.files import atomic_write


def _figure(size):
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=100)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(Path(path), buf.getvalue())


def _time_axis(ax, time_label, time_name: str) -> None:
    """Label the x axis (step numbers) with timestamps: ``time_label(step)`` -> str, or step numbers if None."""
    if time_label is None:
        ax.set_xlabel("step")
        return
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: time_label(int(round(v)))))
    ax.set_xlabel(time_name)


def forecast_plot(path: Path, data, starts: np.ndarray, forecasts: Mapping[str, np.ndarray], columns: Sequence[str],
                  horizon: int, title: str, time_label=None, time_name: str = "time",
                  bands: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> None:
    """Actual values (and the context before the first window) against forecasts ``{name: [windows, horizon,
    features]}``, drawn from every ``horizon``-th window so that the forecasts tile the period; one panel per
    feature (at most 4). ``time_label(step)`` writes the x axis as timestamps; ``bands`` ``{name: (low, high)}``
    (each like a forecast) shades a prediction interval around the forecast of that name."""
    series = getattr(data, "series", None)
    shown = list(range(0, len(starts), horizon))
    panels = min(len(columns), 4)
    fig = _figure((10, 2.6 * panels + 0.6))
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    for j, ax in enumerate(axes):
        if series is not None:
            lo = max(0, int(starts[0]) - 3 * horizon - getattr(data, "lookback", 0))
            t = np.arange(lo, len(series))
            ax.plot(t, series[lo:, j], color="black", linewidth=1.2, label="actual")
        else:
            for i in shown:
                ax.plot(np.arange(starts[i], starts[i] + horizon), data[i][1][:, j], color="black", linewidth=1.2,
                        label="actual" if i == 0 else None)
        for k, (name, pred) in enumerate(forecasts.items()):
            style = {"color": f"C{k}", "linestyle": "-" if k == 0 else "--", "linewidth": 1.4 if k == 0 else 1.0}
            for n, i in enumerate(shown):
                steps = np.arange(starts[i], starts[i] + horizon)
                ax.plot(steps, pred[i, :, j], label=name if n == 0 else None, **style)
                if bands and name in bands:
                    low, high = bands[name]
                    ax.fill_between(steps, low[i, :, j], high[i, :, j], color=f"C{k}", alpha=0.2, linewidth=0,
                                    label=f"{name} interval" if n == 0 else None)
        ax.axvline(starts[0], color="grey", linewidth=0.8, linestyle=":")
        ax.set_ylabel(columns[j])
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    for ax in axes:
        _time_axis(ax, time_label, time_name)
    fig.suptitle(title)
    _save(fig, path)


def confusion_plot(path: Path, matrix: np.ndarray, labels: Sequence[str], title: str) -> None:
    """Counts of actual (rows) against predicted (columns) classes, each cell annotated."""
    matrix = np.asarray(matrix)
    size = max(4.0, 0.55 * len(labels) + 2.5)
    fig = _figure((size + 1, size))
    ax = fig.subplots()
    shown = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels=labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels=labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    high = matrix.max() if matrix.size else 0
    for r in range(matrix.shape[0]):
        for c in range(matrix.shape[1]):
            ax.text(c, r, str(int(matrix[r, c])), ha="center", va="center", fontsize=8,
                    color="white" if high and matrix[r, c] > high / 2 else "black")
    fig.colorbar(shown, ax=ax, fraction=0.046)
    ax.set_title(title)
    _save(fig, path)


def lead_time_plot(path: Path, by_lead: Mapping[str, Mapping[str, Sequence[float]]], metric: str, title: str) -> None:
    """A backtest's ``metric`` per lead time (1..horizon) for the model and each baseline."""
    fig = _figure((6, 3.5))
    ax = fig.subplots()
    for k, (name, values) in enumerate(by_lead.items()):
        ax.plot(range(1, len(values[metric]) + 1), values[metric], "-o", markersize=3, color=f"C{k}", label=name)
    ax.set_xlabel("lead time (steps ahead)")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    _save(fig, path)
