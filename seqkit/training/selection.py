"""Which epoch is best, when to stop, and the learning rate of each epoch: one rule each, pure functions of the
history (so a resumed run decides exactly as an uninterrupted one would).

The rule (docs/training.md, "Model selection"): every epoch gets a *score* from the watched split (validation,
or training data when there is none) -- minus the loss with ``select="loss"`` (the default), or the task's main
metric with ``select="metric"`` (negated where lower is better). An epoch is the new best only when its score is
*strictly* higher than the best so far: a tie is not an improvement, so early stopping fires after ``patience``
epochs of ties too (a small validation set repeats the same accuracy for many epochs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from seqkit.training.config import TrainConfig


@dataclass
class Selection:
    split: str                  # "val" or "train": the history columns watched
    key: str                    # "loss" or the task's main metric
    mode: str                   # "min" or "max"
    patience: int | None = None
    best_epoch: int = 0
    best_score: float = -math.inf
    scores: list[float] = field(default_factory=list)  # per epoch, in history order

    @classmethod
    def for_run(cls, task, config: TrainConfig, has_val: bool) -> Selection:
        key, mode = ("loss", "min") if config.select == "loss" else task.main_metric()
        return cls("val" if has_val else "train", key, mode, config.patience)

    @property
    def column(self) -> str:
        return f"{self.split}_{self.key}"

    def describe(self) -> str:
        best = "lowest" if self.mode == "min" else "highest"
        return f"{best} {self.column}"

    def score(self, row: dict) -> float:
        """Higher is better; NaN (a metric the task did not report) never wins."""
        value = row.get(self.column, math.nan)
        value = math.nan if value is None else float(value)
        return value if self.mode == "max" else -value

    def update(self, row: dict) -> bool:
        """Record ``row`` (one epoch); True when it is the new best epoch."""
        score = self.score(row)
        self.scores.append(score)
        if math.isfinite(score) and score > self.best_score:
            self.best_epoch, self.best_score = row["epoch"], score
            return True
        return False

    def replay(self, history: list[dict]) -> Selection:
        for row in history:
            self.update(row)
        return self

    def should_stop(self, epochs_done: int) -> bool:
        """True after ``patience`` epochs without a strictly better score (never with patience 0 or None)."""
        return bool(self.patience) and self.best_epoch > 0 and epochs_done - self.best_epoch >= self.patience


def learning_rate(config: TrainConfig, epoch: int, scores: list[float]) -> float:
    """The learning rate of ``epoch`` (1-based), from the config and the selection scores of the epochs before.

    ``cosine``: ``lr * (1 + cos(pi * (epoch - 1) / epochs)) / 2``. ``plateau``: ``lr`` halved each time
    ``plateau_patience`` epochs in a row brought no strictly better score (the count restarts after a cut).
    """
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / config.epochs))
    if config.lr_schedule == "plateau":
        lr, best, waited = config.lr, -math.inf, 0
        for score in scores[:epoch - 1]:
            if math.isfinite(score) and score > best:
                best, waited = score, 0
                continue
            waited += 1
            if waited >= config.plateau_patience:
                lr, waited = lr * 0.5, 0
        return lr
    return config.lr
