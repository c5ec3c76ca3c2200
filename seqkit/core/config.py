"""Cell options as a plain dataclass: torch-free, so the CLI can take its defaults without importing torch."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from seqkit.errors import ConfigError


@dataclass
class CellConfig:
    """Options every cell understands, plus cell-specific ``options`` (for example ``nonlinearity``)."""

    hidden_size: int = 32
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if not isinstance(self.hidden_size, int) or self.hidden_size <= 0:
            raise ConfigError(f"hidden size must be a positive integer, got {self.hidden_size!r}")
        if not isinstance(self.num_layers, int) or self.num_layers <= 0:
            raise ConfigError(f"number of layers must be a positive integer, got {self.num_layers!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
