"""Cell options as a plain dataclass: torch-free, so the CLI can take its defaults without importing torch."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from seqkit.core.options import field_kinds, typed
from seqkit.errors import ConfigError


@dataclass
class CellConfig:
    """Options every cell understands, plus cell-specific ``options`` (for example ``nonlinearity``)."""

    hidden_size: int = 32
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, values: Any) -> CellConfig:
        """A CellConfig from a dict (e.g. ``cell_config`` of a run's config.json): unknown keys and values of the
        wrong type are refused with one line."""
        if isinstance(values, CellConfig):
            values = {f.name: getattr(values, f.name) for f in fields(cls)}
        if not isinstance(values, dict):
            raise ConfigError(f"a cell config must be a mapping such as {{\"hidden_size\": 32}}, got "
                              f"{type(values).__name__}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known), key=str)
        if unknown:
            raise ConfigError(f"cell config has no option {', '.join(map(str, unknown))}; its options: "
                              f"{', '.join(known)}")
        checked = typed({k: v for k, v in values.items() if k != "options"}, field_kinds(cls),
                        {f.name: f.default for f in fields(cls) if f.name != "options"}, "cell config")
        options = values.get("options", {})
        if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
            raise ConfigError(f"cell config options must be a mapping of option names to values, got {options!r}")
        config = cls(**checked, options=options)
        config.validate()
        return config

    def validate(self) -> None:
        if isinstance(self.hidden_size, bool) or not isinstance(self.hidden_size, int) or self.hidden_size <= 0:
            raise ConfigError(f"hidden size must be a positive integer, got {self.hidden_size!r}")
        if isinstance(self.num_layers, bool) or not isinstance(self.num_layers, int) or self.num_layers <= 0:
            raise ConfigError(f"number of layers must be a positive integer, got {self.num_layers!r}")
        if not isinstance(self.bidirectional, bool):
            raise ConfigError(f"bidirectional must be true or false, got {self.bidirectional!r}")
        if (isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float))
                or not 0.0 <= float(self.dropout) < 1.0):
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
