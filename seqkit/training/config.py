"""Training options as a plain dataclass: torch-free, so the CLI takes its defaults from here."""
from __future__ import annotations

from dataclasses import dataclass

from seqkit.errors import ConfigError


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    clip_norm: float | None = 1.0   # gradient norm clipping; 0 or None disables it
    patience: int | None = 5        # stop after this many epochs without a better validation metric; 0/None: never
    val_fraction: float = 0.1       # carved (seeded, stratified by task.stratify) from train when no val_data
    seed: int = 0
    device: str = "cpu"             # "cpu", "cuda", "cuda:N"
    progress: bool = True           # rich progress bar, only when stderr is a terminal
    weight_decay: float = 0.0       # AdamW's decoupled weight decay

    def validate(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not self.lr > 0:
            raise ConfigError(f"learning rate must be > 0, got {self.lr!r}")
        if self.clip_norm is not None and self.clip_norm < 0:
            raise ConfigError(f"clip_norm must be >= 0 (0 disables clipping), got {self.clip_norm!r}")
        if self.patience is not None and self.patience < 0:
            raise ConfigError(f"patience must be >= 0 (0 disables early stopping), got {self.patience!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
