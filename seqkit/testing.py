"""Test helpers for plugin authors (and for seqkit's own tests).

Use them from pytest::

    from seqkit.testing import assert_cell_contract, assert_exports, seqkit_plugins  # noqa: F401 (fixture)

    def test_my_cell_exports(tmp_path):
        assert_exports(cell="mycell", task="classification", directory=tmp_path)

    def test_my_cell_keeps_the_contract():
        assert_cell_contract("mycell")

``assert_exports`` composes, exports and verifies on onnxruntime against PyTorch at shapes the file was not
traced at (batch 1, time 1, longer times, padded batches of mixed lengths). ``assert_cell_contract`` checks
the :class:`seqkit.Cell` contract in PyTorch alone: shapes, zeros after each length, and that a padded batch
gives what each sequence gives alone (outputs and final state).
"""
from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import onnx
import pytest
import torch

from seqkit.core.cell import CellConfig
from seqkit.core.compose import compose
from seqkit.core.plugins import Plugins, load_plugins
from seqkit.onnx.export import ExportResult, export


def _plugins(plugins: Plugins | None, extra: dict | None) -> Plugins:
    if plugins is not None and extra:
        raise ValueError("pass plugins or extra, not both")
    return plugins if plugins is not None else load_plugins(extra=extra)


def assert_exports(cell: str = "gru", task: str = "classification", cell_config: CellConfig | None = None,
                   task_config: Any = None, *, plugins: Plugins | None = None, extra: dict | None = None,
                   directory: str | Path | None = None, seed: int = 0, **export_options) -> ExportResult:
    """Compose ``cell`` and ``task``, export to ONNX and verify; fails with every mismatch listed.

    ``extra`` adds in-memory plugin modules ``{name: module}`` (see :func:`seqkit.load_plugins`). The file is
    written to ``directory`` (a temporary folder if None, removed afterwards) and the result returned.
    """
    loaded = _plugins(plugins, extra)
    problems = [str(p) for p in loaded.problems]
    composition = compose(cell, task, cell_config, task_config, seed=seed, plugins=loaded)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(directory or tmp) / f"{cell}-{task}.onnx"
        result = export(composition, path, force=True, **export_options)
        ops = onnx_ops(path)
    assert result.report is None or result.report.ok, (
        f"{cell}/{task} does not verify: " + "; ".join(result.report.failures()) +
        (f" (plugin problems: {problems})" if problems else ""))
    assert sum(ops.values()) > 0
    result.ops = ops  # top-level ONNX op counts, e.g. result.ops["Scan"]
    return result


def onnx_ops(model: str | Path | onnx.ModelProto) -> Counter:
    """Counts of the top-level ONNX op types of a model file (subgraphs such as a Scan body are not counted)."""
    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))
    return Counter(node.op_type for node in proto.graph.node)


def assert_cell_contract(cell: str, cell_config: CellConfig | None = None, *, input_size: int = 5,
                         plugins: Plugins | None = None, extra: dict | None = None, lengths=(6, 1, 4, 6),
                         atol: float = 1e-5, seed: int = 0) -> None:
    """Check a registered cell against the :class:`seqkit.Cell` contract in PyTorch.

    A padded batch with ``lengths`` must give, for each sequence, what it gives alone; outputs are zero at
    and after each length; the final state is ``[num_layers * num_directions, batch, hidden]`` per tensor and
    equals the state the sequence reaches alone; gradients reach every parameter.
    """
    cls = _plugins(plugins, extra).cell(cell)
    config = cell_config or CellConfig(hidden_size=8)
    torch.manual_seed(seed)
    module = cls(input_size, config).eval()
    lengths_t = torch.tensor(lengths, dtype=torch.int64)
    batch, time = len(lengths), max(lengths)
    x = torch.randn(batch, time, input_size)
    with torch.no_grad():
        outputs, state = module(x, lengths_t)
    assert tuple(outputs.shape) == (batch, time, module.output_size), f"outputs have shape {tuple(outputs.shape)}"
    want_state = (config.num_layers * module.num_directions, batch, config.hidden_size)
    assert isinstance(state, tuple) and len(state) == module.STATE_SIZE, "state must be a tuple of STATE_SIZE tensors"
    for s in state:
        assert tuple(s.shape) == want_state, f"state tensor shape {tuple(s.shape)}, expected {want_state}"
    for i, n in enumerate(lengths):
        assert torch.all(outputs[i, n:] == 0), f"sample {i}: outputs after its length {n} are not zero"
        with torch.no_grad():
            alone, alone_state = module(x[i:i + 1, :n], torch.tensor([n]))
        torch.testing.assert_close(outputs[i:i + 1, :n], alone, atol=atol, rtol=1e-4,
                                   msg=lambda m, i=i: f"sample {i} padded vs alone: {m}")
        for s, a in zip(state, alone_state):
            torch.testing.assert_close(s[:, i:i + 1], a, atol=atol, rtol=1e-4,
                                       msg=lambda m, i=i: f"final state of sample {i} padded vs alone: {m}")
    module.train()
    out, st = module(x, lengths_t)
    (out.sum() + sum(s.sum() for s in st)).backward()
    missing = [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient reaches {missing}"


@pytest.fixture
def seqkit_plugins() -> Plugins:
    """A fresh :class:`seqkit.core.plugins.Plugins` (every installed plugin) for one test."""
    return load_plugins()
