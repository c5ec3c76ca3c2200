"""--opset is honoured across the supported range or refused; onnx.reference is a second runtime; long sequences."""
import json

import onnx
import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli import cli
from seqkit.errors import ExportError
from seqkit.onnx import LOWEST_OPSET, MIN_OPSET
from seqkit.onnx.export import opset_range
from seqkit.onnx.verify import (
    LONG_TIME,
    REFERENCE_STEPS,
    file_opset,
    op_types,
    read_metadata,
    verification_shapes,
)

LOW, HIGH = opset_range()


def test_the_range_is_what_the_installed_onnx_knows():
    assert LOW == MIN_OPSET == 18 and HIGH == onnx.defs.onnx_opset_version() and HIGH >= LOW


@pytest.mark.slow
@pytest.mark.parametrize("opset", range(LOWEST_OPSET, HIGH + 1))
def test_every_supported_opset_is_written_as_asked(tmp_path, plugins, opset):
    """GRU (native op) with last-step pooling converts down to 16 as well; the file, its metadata and the result
    all say the opset that was asked for, and the file verifies on onnxruntime."""
    composition = seqkit.compose("gru", cell_config=seqkit.CellConfig(hidden_size=4, bidirectional=True),
                                 plugins=plugins)
    result = seqkit.export(composition, tmp_path / "m.onnx", opset=opset)
    proto = onnx.load(tmp_path / "m.onnx")
    assert file_opset(proto) == opset == result.opset == result.report.opset
    assert read_metadata(proto)["exporter"].endswith(f"opset {opset}")
    assert result.report.ok, result.report.failures()


@pytest.mark.parametrize("opset", [LOW, HIGH])
def test_a_scan_cell_exports_at_both_ends_of_the_range(tmp_path, plugins, opset):
    composition = seqkit.compose("indrnn", cell_config=seqkit.CellConfig(hidden_size=4), plugins=plugins)
    result = seqkit.export(composition, tmp_path / "m.onnx", opset=opset)
    assert file_opset(onnx.load(tmp_path / "m.onnx")) == opset and result.report.ok


@pytest.mark.parametrize("opset", [LOWEST_OPSET - 1, 7, 0, -1, HIGH + 1, 99])
def test_opsets_outside_the_range_are_refused_before_export(tmp_path, plugins, opset):
    composition = seqkit.compose("gru", plugins=plugins)
    with pytest.raises(ExportError, match=f"opset {opset} is not supported; choose {LOW}..{HIGH}"):
        seqkit.export(composition, tmp_path / "m.onnx", opset=opset)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("opset", [LOWEST_OPSET, MIN_OPSET - 1])
def test_a_model_the_converter_cannot_take_down_is_refused_not_written_at_18(tmp_path, plugins, opset):
    composition = seqkit.compose("gru", task_config={"pooling": "max"}, plugins=plugins)
    with pytest.raises(ExportError, match=f"could not write opset {opset} for this model .*kept opset 18"):
        seqkit.export(composition, tmp_path / "m.onnx", opset=opset)
    assert list(tmp_path.iterdir()) == []


def test_the_cli_reports_the_opset_of_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--hidden-size", "4", "--opset", str(HIGH), "--no-verify"])
    assert result.exit_code == 0 and f"opset {HIGH}" in result.output, result.output
    shown = runner.invoke(cli, ["verify", "gru-classification.onnx"])
    assert shown.exit_code == 0 and f"opset {HIGH}" in shown.output, shown.output


# -- verification: a long sequence, and onnx.reference as a second runtime ---------------------------------------
def test_verification_includes_a_long_sequence(tmp_path, plugins):
    assert any(t >= 256 for _, t in verification_shapes((3, 7)))
    composition = seqkit.compose("lstm", cell_config=seqkit.CellConfig(hidden_size=4), plugins=plugins)
    report = seqkit.export(composition, tmp_path / "m.onnx").report
    assert any(c.time == LONG_TIME and c.ok for c in report.checks)
    alone = seqkit.verify_file(str(tmp_path / "m.onnx"))
    assert any(c.time == LONG_TIME and c.ok for c in alone.checks)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn", "indrnn"])
def test_reference_evaluator_agrees_with_torch_and_onnxruntime(tmp_path, plugins, cell):
    config = seqkit.CellConfig(hidden_size=4, num_layers=2, bidirectional=True)
    composition = seqkit.compose(cell, cell_config=config, plugins=plugins)
    report = seqkit.export(composition, tmp_path / "m.onnx", reference=True).report
    reference = [c for c in report.checks if c.runtime == "reference"]
    assert report.ok, report.failures()
    assert reference and all(c.batch * c.time <= REFERENCE_STEPS for c in reference)
    assert all(c.max_abs < 1e-4 for c in reference)  # real numbers were compared
    # onnx.reference ignores RNN/GRU/LSTM sequence_lens: where the file has those ops it gets full lengths
    native = bool({"RNN", "GRU", "LSTM"} & op_types(onnx.load(tmp_path / "m.onnx")))
    assert native == (cell in ("gru", "lstm"))  # on the CPU `auto` lowers rnn to Scan; indrnn is a ScanCell
    assert all(("full lengths" in c.note) == native for c in reference)
    alone = seqkit.verify_file(str(tmp_path / "m.onnx"), reference=True)
    assert alone.ok and {c.runtime for c in alone.checks} == {"onnxruntime", "reference"}


def test_a_disagreement_between_the_runtimes_is_a_failure(tmp_path, plugins, monkeypatch):
    composition = seqkit.compose("gru", cell_config=seqkit.CellConfig(hidden_size=4), plugins=plugins)
    seqkit.export(composition, tmp_path / "m.onnx")
    from onnx.reference import ReferenceEvaluator

    real_run = ReferenceEvaluator.run
    monkeypatch.setattr(ReferenceEvaluator, "run", lambda self, *a, **k: [v + 1e-2 for v in real_run(self, *a, **k)])
    report = seqkit.verify_file(str(tmp_path / "m.onnx"), reference=True)
    assert not report.ok and report.failures()[0].startswith("reference evaluator: output 'logits'")
    result = CliRunner().invoke(cli, ["verify", str(tmp_path / "m.onnx"), "--reference", "--json"])
    assert result.exit_code == 1
    checks = json.loads(result.output.split("\nError:")[0])["checks"]
    assert {c["runtime"] for c in checks if not c["ok"]} == {"reference"}
    against_torch = seqkit.verify_against_torch(composition.model, str(tmp_path / "m.onnx"),
                                                composition.task.inputs(), composition.task.outputs(), reference=True)
    assert not against_torch.ok and all(c.ok for c in against_torch.checks if c.runtime == "onnxruntime")


def test_cli_verify_reference_prints_both_runtimes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["export", "--cell", "rnn", "--hidden-size", "4", "--no-verify"]).exit_code == 0
    result = runner.invoke(cli, ["verify", "rnn-classification.onnx", "--reference"])
    assert result.exit_code == 0, result.output
    assert "onnx.reference" in result.output and "reference" in result.output and "onnxruntime" in result.output
