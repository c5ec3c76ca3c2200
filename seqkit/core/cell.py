"""The cell contract: what every recurrent cell, built-in or third-party, promises.

A cell is an ``nn.Module`` built as ``CellClass(input_size, config)``. It consumes ``x`` of shape
``[batch, time, features]``, optional per-sample ``lengths`` (int64 ``[batch]``, each in ``1..time``) and an
optional initial ``state``, and returns ``(outputs, state)``:

- ``outputs``: ``[batch, time, output_size]``; positions at or after a sample's length are zero and never
  influence any other value (a padded batch gives what each sequence gives alone);
- ``state``: a tuple of tensors, each ``[num_layers * num_directions, batch, hidden]`` (``(h,)`` or ``(h, c)``),
  taken at each sample's last valid step.

Cells know nothing of tasks. How a cell lowers to ONNX is its own business: the built-ins use
:mod:`seqkit.onnx.lowering.native`; ``onnx_translations()`` returns what the exporter needs for that. A cell with no
native ONNX op subclasses :class:`seqkit.ScanCell` (:mod:`seqkit.onnx.lowering.scan`), writes one time step and
exports as an ONNX ``Scan`` (see docs/plugins.md).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import torch
from torch import nn

from seqkit.core.config import CellConfig
from seqkit.core.options import kind_of, kind_of_default, typed
from seqkit.errors import ConfigError


class Cell(nn.Module):
    """Base class of all cells. Subclasses implement :meth:`forward` and may declare ``OPTIONS``."""

    #: cell-specific options and their defaults; unknown options are refused up front
    OPTIONS: ClassVar[dict[str, Any]] = {}
    #: number of state tensors (1 for (h,), 2 for (h, c))
    STATE_SIZE: ClassVar[int] = 1

    #: types of options whose default does not say it, e.g. ``{"forget_bias": float | None}``; the others take
    #: the type of their default in ``OPTIONS`` (a None default: any value)
    OPTION_TYPES: ClassVar[dict[str, Any]] = {}

    def __init__(self, input_size: int, config: CellConfig):
        super().__init__()
        config = self.make_config(config)
        if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size <= 0:
            raise ConfigError(f"input size must be a positive integer, got {input_size!r}")
        self.input_size = input_size
        self.config = config
        self.hidden_size = config.hidden_size
        self.num_layers = config.num_layers
        self.num_directions = 2 if config.bidirectional else 1

    @classmethod
    def make_config(cls, config: CellConfig | dict | None = None, *, name: str | None = None) -> CellConfig:
        """``config`` validated, with its ``options`` checked against ``OPTIONS``: unknown names are refused, each
        value parsed (CLI text) or checked by the type of its default (or of ``OPTION_TYPES``). ``name``: the
        cell's registered name, which errors then use instead of the class name."""
        config = CellConfig.from_dict(config if config is not None else CellConfig())
        owner = f"cell {name!r}" if name else f"cell {cls.__name__}"
        unknown = sorted(set(config.options) - set(cls.OPTIONS))
        if unknown:
            known = ", ".join(f"{k} (default {v!r})" for k, v in cls.OPTIONS.items()) or "none"
            raise ConfigError(f"{owner} has no option {', '.join(unknown)}; its options: {known}")
        kinds = {k: kind_of_default(v) for k, v in cls.OPTIONS.items()}
        kinds.update({k: kind_of(t) for k, t in cls.OPTION_TYPES.items()})
        options = typed(config.options, kinds, cls.OPTIONS, owner)
        return replace(config, options=options)

    def option(self, name: str) -> Any:
        return self.config.options.get(name, self.OPTIONS[name])

    @property
    def output_size(self) -> int:
        """Features per step of ``outputs``."""
        return self.hidden_size * self.num_directions

    def initial_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        return tuple(like.new_zeros(shape) for _ in range(self.STATE_SIZE))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None,
                state: tuple[torch.Tensor, ...] | None = None) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        raise NotImplementedError

    @classmethod
    def onnx_translations(cls) -> dict:
        """``{torch op overload: onnxscript function}`` that ``torch.onnx.export`` needs for this cell."""
        return {}
