"""Every cell option combination exports with native ops (``lowering="native"``) and verifies at shapes it was
not traced at; tests/test_lowering*.py cover the other lowerings."""
import itertools

import onnx
import pytest

import seqkit
from seqkit.onnx.verify import verification_shapes

NATIVE = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
COMBOS = [(cell, bidi, layers, opts)
          for cell, opts in [("rnn", {}), ("rnn", {"nonlinearity": "relu"}), ("lstm", {}),
                             ("lstm", {"forget_bias": None}), ("gru", {})]
          for bidi, layers in itertools.product([False, True], [1, 2])]


@pytest.mark.parametrize("cell,bidirectional,layers,options", COMBOS,
                         ids=[f"{c}-{'bi' if b else 'uni'}-L{n}-{o}" for c, b, n, o in COMBOS])
def test_export_and_verify(tmp_path, plugins, cell, bidirectional, layers, options):
    config = seqkit.CellConfig(hidden_size=6, num_layers=layers, bidirectional=bidirectional,
                               dropout=0.25 if layers > 1 else 0.0, options=options)
    composition = seqkit.compose(cell, cell_config=config, plugins=plugins)
    result = seqkit.export(composition, tmp_path / "m.onnx", lowering="native")  # auto may pick a Scan for rnn
    report = result.report
    assert report.ok, report.failures()
    shapes = {(c.batch, c.time) for c in report.checks}
    assert {(1, 1), (3, 7)} <= shapes and max(t for _, t in shapes) > 7 and max(b for b, _ in shapes) > 3
    proto = onnx.load(tmp_path / "m.onnx")
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count(NATIVE[cell]) == layers  # one native node per layer, no unrolling
    assert "Loop" not in ops and "Scan" not in ops


@pytest.mark.parametrize("cell,bidirectional,layers,options", [c for c in COMBOS if c[0] == "rnn"],
                         ids=[f"{c}-{'bi' if b else 'uni'}-L{n}-{o}" for c, b, n, o in COMBOS if c == "rnn"])
def test_rnn_auto_lowering_is_matmul_and_scan_and_verifies(tmp_path, plugins, cell, bidirectional, layers, options):
    config = seqkit.CellConfig(hidden_size=6, num_layers=layers, bidirectional=bidirectional, options=options)
    composition = seqkit.compose(cell, cell_config=config, plugins=plugins)
    result = seqkit.export(composition, tmp_path / "m.onnx")  # lowering auto: scan for rnn on the CPU
    assert result.report.ok, result.report.failures()
    ops = [n.op_type for n in onnx.load(tmp_path / "m.onnx").graph.node]
    assert ops.count("Scan") == layers * (2 if bidirectional else 1) and "RNN" not in ops and "Loop" not in ops


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_poolings_and_numeric_features_export(tmp_path, plugins, pooling):
    composition = seqkit.compose("gru", task_config={"pooling": pooling, "num_features": 3, "num_classes": 4},
                                 cell_config=seqkit.CellConfig(hidden_size=5, bidirectional=True), plugins=plugins)
    assert seqkit.export(composition, tmp_path / "m.onnx").report.ok


def test_metadata_describes_the_model(tmp_path, plugins):
    composition = seqkit.compose("lstm", plugins=plugins, seed=3)
    seqkit.export(composition, tmp_path / "m.onnx")
    meta = seqkit.onnx.verify.read_metadata(onnx.load(tmp_path / "m.onnx"))
    assert meta["version"] == seqkit.__version__ and meta["cell"] == "lstm" and meta["task"] == "classification"
    assert meta["config"] == composition.config()
    assert [s["name"] for s in meta["inputs"]] == ["tokens", "lengths"]
    assert meta["outputs"][0]["shape"] == ["batch", 2]


def test_verification_shapes_cover_the_promise():
    shapes = verification_shapes((3, 7))
    assert (3, 7) in shapes and any(b == 1 for b, _ in shapes) and any(t == 1 for _, t in shapes)
    assert any(t > 7 for _, t in shapes) and len(shapes) >= 4


def test_verification_shapes_stop_at_the_longest_input_a_file_takes():
    cut = verification_shapes((3, 7), max_time=20)
    assert max(t for _, t in cut) == 20 and len({t for _, t in cut}) >= 4  # still short, long and in between
    assert [b for b, _ in cut] == [b for b, _ in verification_shapes((3, 7))]
