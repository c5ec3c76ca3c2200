"""Streaming export: state of every layer in and out, for every cell; refusals with reasons; the chunk proof."""
import json

import numpy as np
import pytest
from click.testing import CliRunner
from deploy_cases import CASES

import seqkit
from seqkit.cli import cli
from seqkit.errors import ExportError, VerificationError
from seqkit.onnx.export import to_onnx
from seqkit.onnx.verify import verify_file

STREAMABLE = [c for c in CASES if c != "classification-features"]  # features: covered by the lstm tagging case


@pytest.mark.slow
@pytest.mark.parametrize("case", STREAMABLE)
def test_every_task_and_cell_streams_and_is_proven_chunk_by_chunk(deployed, case):
    path, composition, result = deployed(case, streaming=True)
    report = result.report
    assert report.ok, report.failures()
    cell = composition.model.cell
    names = ["h", "c"] if cell.STATE_SIZE == 2 else ["h"]
    labels = [c.output for c in report.checks]
    for ref in ("onnxruntime", "PyTorch"):
        for n in names:
            assert f"state_out_{n}: final state vs 1 call ({ref})" in labels
        task_outputs = [s.name for s in composition.task.outputs()]
        assert any(label.startswith(f"{task_outputs[0]}: ") and f"({ref})" in label for label in labels)
    chunked = [c for c in report.checks if ":" in c.output]
    assert chunked and all(c.time == 64 and c.ok for c in chunked)
    meta = report.metadata
    assert [d["input"] for d in meta["streaming"]["state"]] == [f"state_in_{n}" for n in names]
    assert meta["streaming"]["state"][0]["shape"] == [cell.num_layers, "batch", 8]
    assert [s["name"] for s in meta["inputs"]][-len(names):] == [f"state_in_{n}" for n in names]
    assert [s["name"] for s in meta["outputs"]][-len(names):] == [f"state_out_{n}" for n in names]
    per_step = meta["streaming"]["per_step_outputs"]
    assert per_step == (["tag_logits"] if case == "tagging" else [])


def test_a_streaming_file_is_proven_again_by_verify(deployed):
    report = verify_file(str(deployed("tagging", streaming=True).path))
    assert report.ok, report.failures()
    assert "tag_logits: chunks vs 1 call (onnxruntime)" in [c.output for c in report.checks]


@pytest.mark.parametrize("cell,task,cell_config,task_config,reason", [
    ("gru", "classification", {"bidirectional": True}, {}, "a bidirectional cell reads each sequence backwards"),
    ("indrnn", "tagging", {"bidirectional": True}, {}, "a bidirectional cell reads each sequence backwards"),
    ("lstm", "classification", {}, {"pooling": "mean"}, "pools the cell outputs with 'mean' over the whole sequence"),
    ("rnn", "speech-frames", {}, {"pooling": "max"}, "pools the cell outputs with 'max' over the whole sequence"),
    ("gru", "speech-frames", {}, {"pooling": "last", "linear_skip": True}, "adds a linear model of the whole sequence"),
    ("gru", "video-frames", {}, {"height": 8, "width": 8}, "subtracts each frame's predecessor (frame_diff)"),
])
def test_what_cannot_stream_is_refused_with_the_reason(cell, task, cell_config, task_config, reason):
    composition = seqkit.compose(cell, task, seqkit.CellConfig(hidden_size=4, **cell_config), task_config)
    with pytest.raises(ExportError) as info:
        to_onnx(composition, streaming=True)
    assert reason in str(info.value) and f"cannot export cell '{cell}' / task '{task}' for streaming" in str(info.value)


def test_the_proof_fails_a_model_that_does_not_stream(monkeypatch, tmp_path):
    """Pretend mean pooling could stream: the chunk checks catch it and nothing is written."""
    from seqkit.kit.labels import LabelledTask

    monkeypatch.setattr(LabelledTask, "streaming_problem", lambda self: None)
    composition = seqkit.compose("gru", "classification", seqkit.CellConfig(hidden_size=4), {"pooling": "mean"})
    with pytest.raises(VerificationError) as info:
        seqkit.export(composition, tmp_path / "m.onnx", streaming=True)
    failed = [c.output for c in info.value.report.checks if not c.ok]
    assert failed == ["logits: after each chunk vs 1 call on the prefix (onnxruntime)",
                      "logits: after each chunk vs 1 call on the prefix (PyTorch)"]
    assert not list(tmp_path.iterdir())


def test_cli_export_streaming(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--cell", "rnn", "--task", "adding", "--hidden-size", "4", "--streaming",
                                 "-o", "s.onnx", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["verification"]
    assert report["ok"] and any("final state vs 1 call (PyTorch)" in c["output"] for c in report["checks"])
    refused = runner.invoke(cli, ["export", "--cell", "gru", "--bidirectional", "--streaming", "-o", "b.onnx"])
    assert refused.exit_code == 1 and "a bidirectional cell reads each sequence backwards" in refused.output
    assert "Traceback" not in refused.output and not (tmp_path / "b.onnx").exists()
    # the file's state carries: two calls of 3 steps == one call of 6 steps
    from seqkit.runtime import load

    model = load(tmp_path / "s.onnx")
    x = np.random.default_rng(0).random((1, 6, 2)).astype(np.float32)
    zero = model.zero_state(1)
    one = model.run({"series": x, **zero})
    a = model.run({"series": x[:, :3], **zero})
    b = model.run({"series": x[:, 3:], "state_in_h": a["state_out_h"]})
    np.testing.assert_allclose(b["prediction"], one["prediction"], atol=1e-6)
    np.testing.assert_allclose(b["state_out_h"], one["state_out_h"], atol=1e-6)


def test_a_streaming_export_builds_its_parts_once_and_opens_one_session(monkeypatch, tmp_path):
    """The plain and the chunk-by-chunk verification share one onnxruntime session and one streaming module."""
    import onnxruntime as ort

    import seqkit.onnx.export as export_module

    sessions, parts = [], []
    real_session, real_parts = ort.InferenceSession, export_module.streaming_parts

    def counting_session(*args, **kwargs):
        sessions.append(args[0])
        return real_session(*args, **kwargs)

    def counting_parts(composition):
        parts.append(real_parts(composition))
        return parts[-1]

    monkeypatch.setattr(ort, "InferenceSession", counting_session)
    monkeypatch.setattr(export_module, "streaming_parts", counting_parts)
    composition = seqkit.compose("gru", "adding", seqkit.CellConfig(hidden_size=4))
    result = seqkit.export(composition, tmp_path / "s.onnx", streaming=True)
    assert result.report.ok, result.report.failures()
    labels = [c.output for c in result.report.checks]
    assert "state_out_h: final state vs 1 call (PyTorch)" in labels and "prediction" in labels
    assert len(parts) == 1 and len(sessions) == 1
