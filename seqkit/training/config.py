"""Training options as a plain dataclass: torch-free, so the CLI takes its defaults from here."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from seqkit.errors import ConfigError

#: share of the training data held out for validation when no validation data is given (seqkit.training.prepare)
VAL_FRACTION = 0.1
LR_SCHEDULES = ("none", "plateau", "cosine")
SELECT = ("loss", "metric")
#: options that ``resume`` may change: they change what happens next, never what was already done
RESUMABLE = ("epochs", "patience", "lr", "lr_schedule", "device", "progress")


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    clip_norm: float | None = 1.0   # gradient norm clipping; 0 or None disables it
    patience: int | None = 5        # stop after this many epochs without a strictly better score; 0/None: never
    seed: int = 0
    device: str = "cpu"             # "cpu", "cuda", "cuda:N"
    progress: bool = True           # a progress bar on a terminal, else one line per epoch (on stderr)
    weight_decay: float = 0.0       # AdamW's decoupled weight decay
    lr_schedule: str = "none"       # none | plateau (halve after plateau_patience epochs without a better score)
    #                                 | cosine (from lr down to ~0 at the last epoch)
    plateau_patience: int = 2
    select: str = "loss"            # the best epoch: lowest validation loss ("loss") or best task metric ("metric")

    def validate(self) -> None:
        for name in ("epochs", "batch_size", "plateau_patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not self.lr > 0:
            raise ConfigError(f"learning rate must be > 0, got {self.lr!r}")
        if self.clip_norm is not None and self.clip_norm < 0:
            raise ConfigError(f"clip_norm must be >= 0 (0 disables clipping), got {self.clip_norm!r}")
        if self.patience is not None and self.patience < 0:
            raise ConfigError(f"patience must be >= 0 (0 disables early stopping), got {self.patience!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"unknown lr_schedule {self.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")
        if self.select not in SELECT:
            raise ConfigError(f"unknown select {self.select!r}; choose loss (lowest validation loss) or metric "
                              f"(the task's main metric)")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The config recorded in a run's config.json (keys of older versions, e.g. val_fraction, are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
