"""Composition: ``task encoder -> cell -> task head`` as one ``nn.Module``, plus what describes it."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from seqkit.core.cell import Cell, CellConfig
from seqkit.core.plugins import Plugins, load_plugins
from seqkit.core.task import Task
from seqkit.errors import ConfigError


class SequenceModel(nn.Module):
    """``forward(*task inputs) -> tuple of task outputs``. A head with ``uses_inputs = True`` also gets the
    task's inputs (for a skip connection past the cell)."""

    def __init__(self, encoder: nn.Module, cell: Cell, head: nn.Module):
        super().__init__()
        self.encoder, self.cell, self.head = encoder, cell, head
        self.head_uses_inputs = bool(getattr(head, "uses_inputs", False))

    def forward(self, *inputs):
        features, lengths = self.encoder(*inputs)
        outputs, state = self.cell(features, lengths)
        if self.head_uses_inputs:
            return tuple(self.head(outputs, state, lengths, *inputs))
        return tuple(self.head(outputs, state, lengths))


@dataclass
class Composition:
    """A composed model and everything needed to describe, rebuild, export and verify it."""

    model: SequenceModel
    cell_name: str
    task_name: str
    task: Task
    cell_config: CellConfig
    seed: int

    def config(self) -> dict[str, Any]:
        return {"cell": self.cell_name, "cell_config": self.cell_config.to_dict(), "task": self.task_name,
                "task_config": self.task.config_dict(), "seed": self.seed}

    def config_json(self) -> str:
        return json.dumps(self.config(), sort_keys=True)

    def translations(self) -> dict:
        return type(self.model.cell).onnx_translations()


def compose(cell: str = "gru", task: str = "classification", cell_config: CellConfig | None = None,
            task_config: Any = None, seed: int = 0, plugins: Plugins | None = None) -> Composition:
    """Build ``task encoder -> cell -> task head`` from registered names, seeded for reproducibility.

    ``task_config`` is the task's Config instance or a dict of its fields.
    """
    plugins = plugins or load_plugins()
    cell_cls = plugins.cell(cell)
    task_cls = plugins.task(task)
    cell_config = cell_config or CellConfig()
    task_config = task_cls.make_config(task_config)
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    task_obj = task_cls(task_config)
    torch.manual_seed(seed)
    encoder = task_obj.build_encoder()
    cell_obj = cell_cls(task_obj.feature_size(), cell_config)
    head = task_obj.build_head(cell_obj.output_size)
    model = SequenceModel(encoder, cell_obj, head).eval()
    return Composition(model, cell, task, task_obj, cell_config, seed)
