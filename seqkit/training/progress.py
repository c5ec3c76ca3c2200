"""What training shows while it runs, on stderr: a progress bar on a terminal, else one line per epoch (CI, nohup,
pipes), each with the epoch's metrics, the best epoch so far, its seconds and an estimate of the time left."""
from __future__ import annotations

import sys
import time
from typing import TextIO


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def epoch_line(row: dict, epochs: int, best_epoch: int, eta: float | None) -> str:
    """``epoch 3/40  train_loss 1.2345  val_loss 1.3000  val_accuracy 0.5000  lr 0.003  best 2  4.1s  eta 2m31s``"""
    values = "  ".join(f"{k} {v:.4g}" if k == "lr" else f"{k} {v:.4f}" for k, v in row.items()
                       if k not in ("epoch", "seconds") and isinstance(v, (int, float)))
    line = f"epoch {row['epoch']}/{epochs}  {values}  best {best_epoch}  {row.get('seconds', 0):.1f}s"
    return line + (f"  eta {duration(eta)}" if eta is not None else "")


class EpochLog:
    """``with EpochLog(...) as log``: ``log.start(epoch)``, ``log.batch(loss)`` per batch, ``log.end(row, best)``."""

    def __init__(self, enabled: bool, epochs: int, steps: int, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.epochs, self.steps = epochs, steps
        interactive = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.mode = "bar" if interactive else "lines" if enabled else "off"
        self._progress = self._bar = None
        self._seconds: list[float] = []  # epochs timed in this process (for the estimate)

    def __enter__(self) -> EpochLog:
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                                      console=Console(file=self.stream), transient=False)
            self._progress.__enter__()
            self._bar = self._progress.add_task("", total=self.steps, info="")
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def start(self, epoch: int) -> None:
        self._started = time.perf_counter()
        if self._progress is not None:
            self._progress.update(self._bar, description=f"epoch {epoch}/{self.epochs}", completed=0)

    def batch(self, loss: float) -> None:
        if self._progress is not None:
            self._progress.update(self._bar, advance=1, info=f"loss {loss:.4f}")

    def end(self, row: dict, best_epoch: int) -> None:
        self._seconds.append(time.perf_counter() - self._started)
        if self.mode == "off":
            return
        left = self.epochs - row["epoch"]
        eta = sum(self._seconds) / len(self._seconds) * left if left else None
        line = epoch_line(row, self.epochs, best_epoch, eta)
        if self._progress is not None:
            self._progress.console.print(line, highlight=False)
        else:
            print(line, file=self.stream, flush=True)


def trial_line(number: int, state: str, value: float | None, metric: str, done: int, total: int | None,
               best: tuple[int, float] | None, params: dict, seconds: float, pruned_at: int | None = None) -> str:
    """``trial 3  done 4/20  val_accuracy 0.9123  best 0.9350 (trial 1)  hidden_size=64 lr=0.0031  12.3s``"""
    result = (f"val_{metric} {value:.4f}" if state == "COMPLETE" and value is not None
              else f"pruned at epoch {pruned_at}" if state == "PRUNED" else state.lower())
    shown = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
    best_text = f"best {best[1]:.4f} (trial {best[0]})" if best else "best -"
    return (f"trial {number}  done {done}/{total if total else '?'}  {result}  {best_text}  {shown}  "
            f"{seconds:.1f}s")


class TrialLog:
    """What ``seqkit tune`` shows, as an Optuna callback after each trial: on a terminal a bar of finished trials
    with the best value so far, else (and under the bar) one line per trial."""

    def __init__(self, enabled: bool, total: int | None, metric: str, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.total, self.metric = total, metric
        interactive = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.mode = "bar" if interactive else "lines" if enabled else "off"
        self._progress = self._bar = None

    def __enter__(self) -> TrialLog:
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("trials"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                                      console=Console(file=self.stream), transient=False)
            self._progress.__enter__()
            self._bar = self._progress.add_task("", total=self.total, info="")
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def __call__(self, study, trial) -> None:
        finished = [t for t in study.get_trials(deepcopy=False) if t.state.name in ("COMPLETE", "PRUNED")]
        complete = [t for t in finished if t.state.name == "COMPLETE"]
        best = (study.best_trial.number, study.best_value) if complete else None
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds() if trial.datetime_complete else 0
        line = trial_line(trial.number, trial.state.name, trial.value, self.metric, len(finished), self.total, best,
                          trial.params, seconds, trial.user_attrs.get("pruned_at"))
        if self.mode == "off":
            return
        if self._progress is not None:
            info = f"best {best[1]:.4f} (trial {best[0]})" if best else ""
            self._progress.update(self._bar, completed=len(finished), info=info)
            self._progress.console.print(line, highlight=False)
        else:
            print(line, file=self.stream, flush=True)
