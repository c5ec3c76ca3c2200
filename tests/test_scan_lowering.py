"""The generic Scan lowering: a cell written as one time step exports as ONNX Scan, never unrolled, lengths kept."""
import importlib
from dataclasses import dataclass

import onnx
import pytest
import torch
from plugin_fixtures import plugin_module
from torch import nn

import seqkit
from seqkit.errors import ExportError, SeqkitError
from seqkit.onnx.lowering.scan import reverse_index, reverse_within_lengths
from seqkit.testing import assert_cell_contract, assert_exports


class MinimalGated(seqkit.ScanCell):
    """Minimal gated unit (Zhou et al. 2016): one forget gate, one state."""

    def init_step(self, input_size):
        self.gate = nn.Linear(input_size + self.hidden_size, self.hidden_size)
        self.cand = nn.Linear(input_size + self.hidden_size, self.hidden_size)

    def step(self, x_t, state):
        h = state[0]
        f = torch.sigmoid(self.gate(torch.cat([x_t, h], -1)))
        c = torch.tanh(self.cand(torch.cat([x_t, f * h], -1)))
        h = (1 - f) * h + f * c
        return h, (h,)


class TwoState(seqkit.ScanCell):
    """A cell with (h, c) state and an output that differs from the state, like an LSTM."""

    STATE_SIZE = 2

    def init_step(self, input_size):
        self.lin = nn.Linear(input_size + self.hidden_size, 2 * self.hidden_size)

    def step(self, x_t, state):
        h, c = state
        z, g = self.lin(torch.cat([x_t, h], -1)).chunk(2, -1)
        c = torch.sigmoid(z) * c + torch.tanh(g)
        h = torch.tanh(c)
        return 2 * h, (h, c)


@dataclass
class Features:
    """Config of the no-lengths task below (no options)."""


class _Enc(nn.Module):
    def forward(self, series):
        return series, None


class _Head(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.proj = nn.Linear(n, 2)

    def forward(self, outputs, state, lengths):
        return (self.proj(outputs[:, -1]) + state[0][-1].sum(-1, keepdim=True),)


class NoLengthsTask(seqkit.Task):
    """Full-length float sequences (no lengths input): the cell sees lengths=None."""

    Config = Features

    def inputs(self):
        return [seqkit.TensorSpec("series", ("batch", "time", 3))]

    def outputs(self):
        return [seqkit.TensorSpec("out", ("batch", 2))]

    def feature_size(self):
        return 3

    def build_encoder(self):
        return _Enc()

    def build_head(self, n):
        return _Head(n)


def _module():
    def seqkit_register_cells(registry):
        registry.register("mgu", MinimalGated)
        registry.register("twostate", TwoState)

    def seqkit_register_tasks(registry):
        registry.register("nolengths", NoLengthsTask)

    return plugin_module("scan_cells", seqkit_register_cells=seqkit_register_cells,
                         seqkit_register_tasks=seqkit_register_tasks)


@pytest.fixture
def loaded():
    return seqkit.load_plugins(extra={"scan_cells": _module()})


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _all_nodes(attr.g)


def test_a_step_cell_exports_as_one_scan_and_verifies_at_unseen_shapes(loaded, tmp_path):
    result = assert_exports("mgu", "classification", seqkit.CellConfig(hidden_size=8), plugins=loaded,
                            directory=tmp_path)
    assert result.ops["Scan"] == 1 and not {"Loop", "RNN", "GRU", "LSTM"} & set(result.ops)
    shapes = {(c.batch, c.time) for c in result.report.checks}
    assert {(1, 1), (1, 23), (5, 17)} <= shapes  # batch 1, time 1, times longer than the trace (7)


def test_no_unrolling_the_graph_does_not_depend_on_the_trace_length(loaded, monkeypatch):
    export_module = importlib.import_module("seqkit.onnx.export")
    composition = seqkit.compose("mgu", "classification", seqkit.CellConfig(hidden_size=4, num_layers=2),
                                 plugins=loaded)
    counts = []
    for time in (3, 12):
        monkeypatch.setattr(export_module, "TRACE_SHAPE", (2, time))
        proto = seqkit.to_onnx(composition)
        counts.append(sorted(n.op_type for n in _all_nodes(proto.graph)))
    assert counts[0] == counts[1]
    assert counts[0].count("Scan") == 2


@pytest.mark.parametrize("cell", ["mgu", "twostate"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, False), (2, True)])
def test_padded_batch_equals_each_sequence_alone(loaded, cell, layers, bidirectional):
    assert_cell_contract(cell, seqkit.CellConfig(hidden_size=5, num_layers=layers, bidirectional=bidirectional),
                         plugins=loaded)


@pytest.mark.slow
def test_stacked_bidirectional_two_state_cell_exports_and_verifies(loaded, tmp_path):
    result = assert_exports("twostate", "classification",
                            seqkit.CellConfig(hidden_size=6, num_layers=2, bidirectional=True),
                            {"pooling": "last"}, plugins=loaded, directory=tmp_path)
    assert result.ops["Scan"] == 4  # one per layer and direction


def test_a_task_without_lengths_gives_the_cell_none_and_still_exports(loaded, tmp_path):
    result = assert_exports("mgu", "nolengths", seqkit.CellConfig(hidden_size=4, bidirectional=True),
                            plugins=loaded, directory=tmp_path)
    assert result.ops["Scan"] == 2
    cell = MinimalGated(3, seqkit.CellConfig(hidden_size=4, bidirectional=True)).eval()
    x = torch.randn(2, 5, 3)
    none_out, none_state = cell(x)
    full_out, full_state = cell(x, torch.tensor([5, 5]))
    torch.testing.assert_close(none_out, full_out)
    torch.testing.assert_close(none_state[0], full_state[0])


def test_reverse_index_reverses_within_each_length_and_is_its_own_inverse():
    lengths = torch.tensor([4, 2, 1])
    index = reverse_index(lengths, 3, 4)
    assert index.tolist() == [[3, 2, 1, 0], [1, 0, 2, 3], [0, 1, 2, 3]]
    x = torch.randn(3, 4, 2)
    torch.testing.assert_close(reverse_within_lengths(reverse_within_lengths(x, index), index), x)
    assert reverse_index(None, 1, 3).tolist() == [[2, 1, 0]]


def test_a_step_that_breaks_its_contract_is_named():
    class WrongShape(MinimalGated):
        def step(self, x_t, state):
            return x_t, state

    with pytest.raises(SeqkitError, match=r"WrongShape.step returned y_t of shape \(2, 3\); expected"):
        WrongShape(3, seqkit.CellConfig(hidden_size=4))(torch.randn(2, 5, 3))

    class NoStep(seqkit.ScanCell):
        pass

    with pytest.raises(SeqkitError, match="does not define both init_step"):
        NoStep(3, seqkit.CellConfig())


def test_a_step_with_python_control_flow_fails_export_with_its_name_and_the_fix(tmp_path):
    class Branchy(MinimalGated):
        def step(self, x_t, state):
            h, new = super().step(x_t, state)
            if h.sum() > 0:  # data-dependent: cannot become a graph
                h = h * 2
            return h, new

    mod = plugin_module("branchy_plugin", seqkit_register_cells=lambda registry: registry.register("branchy", Branchy))
    loaded = seqkit.load_plugins(extra={"branchy_plugin": mod})
    composition = seqkit.compose("branchy", plugins=loaded)
    target = tmp_path / "b.onnx"
    with pytest.raises(ExportError, match=r"cell 'branchy' .*Branchy.step\(\).*data-dependent.*use torch.where"):
        seqkit.export(composition, target)
    assert not list(tmp_path.iterdir())
