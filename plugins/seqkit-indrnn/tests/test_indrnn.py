"""Tests of the indrnn plugin, written only against seqkit's public API (as any plugin author would)."""
import pytest
import torch

import seqkit
import seqkit_indrnn
from seqkit.testing import assert_cell_contract, assert_exports, seqkit_plugins  # noqa: F401 (fixture)


def test_the_installed_entry_point_registers_the_cell(seqkit_plugins):
    entry = seqkit_plugins.cells.get("indrnn")
    assert entry.obj is seqkit_indrnn.IndRNN
    assert entry.source.distribution == "seqkit-indrnn"
    assert not [p for p in seqkit_plugins.problems if p.plugin == "indrnn"]


@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_contract_padding_and_gradients(layers, bidirectional):
    assert_cell_contract("indrnn", seqkit.CellConfig(hidden_size=6, num_layers=layers, bidirectional=bidirectional))


def test_exports_as_one_scan_per_layer_and_verifies(tmp_path):
    result = assert_exports("indrnn", "classification", seqkit.CellConfig(hidden_size=8, num_layers=2),
                            {"pooling": "mean"}, directory=tmp_path)
    assert result.ops["Scan"] == 2
    assert result.report.ok and {(c.batch, c.time) for c in result.report.checks} >= {(1, 1), (1, 23)}


def test_streams_with_the_state_carried_between_chunks(tmp_path):
    """The streaming file (state of both layers as inputs and outputs), verified chunk by chunk."""
    result = assert_exports("indrnn", "classification", seqkit.CellConfig(hidden_size=8, num_layers=2),
                            {"pooling": "last"}, directory=tmp_path, streaming=True)
    names = [s["name"] for s in result.report.metadata["inputs"]]
    assert "state_in_h" in names and any("chunk" in c.output and c.ok for c in result.report.checks)


def test_options_are_checked_up_front():
    with pytest.raises(seqkit.SeqkitError, match="nonlinearity must be relu or tanh"):
        seqkit_indrnn.IndRNN(3, seqkit.CellConfig(options={"nonlinearity": "gelu"}))
    clipped = seqkit_indrnn.IndRNN(3, seqkit.CellConfig(hidden_size=4, options={"recurrent_max": 0.5}))
    with torch.no_grad():
        clipped.steps[0].recurrent.fill_(3.0)
        clipped.steps[0].input.weight.zero_()
        clipped.steps[0].input.bias.fill_(1.0)
    out, _ = clipped(torch.zeros(1, 3, 3))
    # h1 = 1, h2 = 1 + 0.5 * 1, h3 = 1 + 0.5 * 1.5 (u clipped from 3 to 0.5)
    torch.testing.assert_close(out[0, :, 0], torch.tensor([1.0, 1.5, 1.75]))


def test_learns_the_adding_problem(tmp_path):
    """Two stacked IndRNN layers (as in the paper) beat the adding problem's baseline by far in a few seconds."""
    from seqkit.training import TrainConfig, prepare, train

    torch.set_num_threads(1)
    task = {"length": 10, "num_samples": 1000, "num_eval": 200}
    prepared = prepare("indrnn", "adding", "adding", seqkit.CellConfig(hidden_size=32, num_layers=2), task)
    val = prepared.composition.task.load_data("adding", "val")
    result = train(prepared.composition, prepared.train_data, val,
                   TrainConfig(epochs=15, lr=0.005, progress=False, patience=0), run_dir=tmp_path / "run")
    first, best = result.history[0]["val_mse"], result.metrics["mse"]
    baseline = prepared.composition.task.baseline(None, val)["mse"]  # always predict 1: about 1/6
    assert best < 0.25 * baseline, (best, baseline)
    assert best < 0.5 * first, (first, best)
