"""seqkit quantize: int8 / fp16 copies, measured against the float model, written only when they still work."""
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli import cli
from seqkit.errors import SeqkitError
from seqkit.onnx import quantize as q
from seqkit.onnx.verify import read_metadata
from seqkit.training import prepare


@pytest.fixture(scope="module")
def motions_model(tmp_path_factory):
    """An LSTM fitted to basic-motions' features (normalisation, labels), exported: the metric can be measured."""
    plugins = seqkit.load_plugins()
    data = plugins.task("classification")().load_data("basic-motions", "train")[::4]
    p = prepare("lstm", "classification", data, seqkit.CellConfig(hidden_size=16), seed=0, val_fraction=0.0,
                plugins=plugins)
    path = tmp_path_factory.mktemp("q") / "bm.onnx"
    seqkit.export(p.composition, path)
    return path


def test_int8_with_data_reports_metric_size_latency_and_nodes(motions_model, tmp_path):
    out = tmp_path / "bm8.onnx"
    r = q.quantize(motions_model, "int8", out, data="basic-motions", threads=1)
    assert r.written and out.exists() and r.refused is None
    assert r.main_metric == "accuracy" and r.direction == "max" and r.samples == 40
    assert set(r.float_model.metrics) == set(r.quantized.metrics) >= {"accuracy", "loss"}
    assert r.drop == pytest.approx((r.float_model.metrics["accuracy"] - r.quantized.metrics["accuracy"])
                                   / r.float_model.metrics["accuracy"], abs=1e-6)
    assert r.quantized.size_bytes < r.float_model.size_bytes and r.float_model.latency_ms > 0
    assert r.quantized_nodes.get("DynamicQuantizeLSTM") == 1  # the LSTM's weights are int8 now
    meta = read_metadata(onnx.load(out))
    assert meta["quantization"]["mode"] == "int8" and meta["quantization"]["metric"]["name"] == "accuracy"
    assert meta["config"] == read_metadata(onnx.load(motions_model))["config"]  # still a seqkit file
    feeds = {"features": np.random.default_rng(0).standard_normal((2, 9, 6)).astype(np.float32),
             "lengths": np.array([9, 4])}
    (logits,) = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, feeds)
    assert logits.shape == (2, 4) and np.all(np.isfinite(logits))


def test_fp16_converts_and_keeps_float_io(motions_model, tmp_path):
    r = q.quantize(motions_model, "fp16", tmp_path / "h.onnx")
    assert r.written and "LSTM" in r.quantized_nodes
    assert r.max_abs_err <= q.TOLERANCES["fp16"][0] and r.outputs_ok
    model = onnx.load(tmp_path / "h.onnx")
    assert {i.type.tensor_type.elem_type for i in model.graph.input if i.name == "features"} == {1}  # float32 in
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)
    assert any("no --data" in n for n in r.notes)


def test_refuses_a_drop_or_an_error_beyond_tolerance_unless_forced(motions_model, tmp_path, monkeypatch):
    monkeypatch.setitem(q.TOLERANCES, "int8", (1e-9, 0.0))  # no int8 model meets this
    out = tmp_path / "refused.onnx"
    r = q.quantize(motions_model, "int8", out)
    assert not r.written and not out.exists() and "tolerances" in r.refused
    assert q.quantize(motions_model, "int8", out, force=True).written and out.exists()
    monkeypatch.setitem(q.TOLERANCES, "int8", (10.0, 10.0))
    real = q._metrics
    calls = []

    def worse_second_time(composition, sess, data, batch_size):  # the float model is measured first
        calls.append(1)
        metrics = real(composition, sess, data, batch_size)
        return {**metrics, "accuracy": 0.9 if len(calls) % 2 else 0.5}

    monkeypatch.setattr(q, "_metrics", worse_second_time)
    r = q.quantize(motions_model, "int8", tmp_path / "x.onnx", data="basic-motions")
    assert not r.written and r.drop == pytest.approx(0.4 / 0.9, abs=1e-5) and "more than --max-drop 2.0%" in r.refused
    assert not (tmp_path / "x.onnx").exists()
    r = q.quantize(motions_model, "int8", tmp_path / "x.onnx", data="basic-motions", max_drop=0.5)
    assert r.written


def test_bad_inputs_are_clear(motions_model, tmp_path):
    with pytest.raises(SeqkitError, match="choose --int8 or --fp16"):
        q.quantize(motions_model, "int4")
    (tmp_path / "x.onnx").write_bytes(b"nope")
    with pytest.raises(SeqkitError, match="not a readable ONNX file"):
        q.quantize(tmp_path / "x.onnx", "int8")
    scan = seqkit.compose("rnn", "classification", seqkit.CellConfig(hidden_size=4), {"embedding_dim": 3})
    seqkit.export(scan, tmp_path / "s.onnx", lowering="scan")
    with pytest.raises(SeqkitError, match="control flow"):
        q.quantize(tmp_path / "s.onnx", "fp16")
    q.quantize(motions_model, "int8", tmp_path / "once.onnx")
    with pytest.raises(SeqkitError, match="already exists"):
        q.quantize(motions_model, "int8", tmp_path / "once.onnx")
    with pytest.raises(SeqkitError, match="already quantized"):
        q.quantize(tmp_path / "once.onnx", "int8", tmp_path / "twice.onnx")


def test_cli(motions_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["quantize", str(motions_model), "--int8", "-o", "a.onnx", "--data", "basic-motions"])
    assert result.exit_code == 0, result.output
    assert "accuracy (main)" in result.output and "staying float32" in result.output and "wrote a.onnx" in result.output
    data = json.loads(runner.invoke(cli, ["quantize", str(motions_model), "--int8", "-o", "b.onnx", "--json"]).output)
    assert data["written"] and data["mode"] == "int8" and data["quantized"]["size_bytes"] > 0
    none = runner.invoke(cli, ["quantize", str(motions_model)])
    assert none.exit_code == 1 and "choose --int8 or --fp16" in none.output


def test_a_damaged_config_is_one_line_naming_the_file(motions_model, tmp_path, monkeypatch):
    proto = onnx.load(motions_model)
    for prop in proto.metadata_props:
        if prop.key == "seqkit.config":
            prop.value = json.dumps({**json.loads(prop.value), "cell_config": {"hidden": 16}})
    onnx.save(proto, tmp_path / "bad.onnx")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["quantize", "bad.onnx", "--int8", "--data", "basic-motions"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "bad.onnx: its seqkit.config metadata: cell config has no option hidden" in result.output
    assert not (tmp_path / "bad.int8.onnx").exists()


def test_outputs_are_compared_by_the_verification_rule_with_the_precision_tolerances():
    """|q - f| <= atol + rtol * |f| element by element (seqkit.onnx.verify.compare); a wrong shape or a
    non-finite value fails at once and says which."""
    from seqkit.core.task import TensorSpec

    class Fake:
        def __init__(self, make):
            self.make = make

        def run(self, feeds):
            (x,) = feeds.values()
            return [self.make(np.ones((x.shape[0], 3), np.float32))]

    inputs = [TensorSpec("x", ("batch", "time", 2))]
    float_sess = Fake(lambda y: 2 * y)
    assert q._compare_outputs(float_sess, Fake(lambda y: 2.5 * y), inputs, (1.0, 0.25)) == (0.5, 0.25, True, "")
    assert q._compare_outputs(float_sess, Fake(lambda y: 2.5 * y), inputs, (0.1, 0.1)) == (0.5, 0.25, False, "")
    # atol and rtol in their places: |2.5 - 2| = 0.5 <= 0 + 0.3 * 2, but not <= 0.3 + 0 * 2
    assert q._compare_outputs(float_sess, Fake(lambda y: 2.5 * y), inputs, (0.0, 0.3))[2] is True
    assert q._compare_outputs(float_sess, Fake(lambda y: 2.5 * y), inputs, (0.3, 0.0))[2] is False
    nan = q._compare_outputs(float_sess, Fake(lambda y: y * np.nan), inputs, (1.0, 0.25))
    assert nan[2:] == (False, "(non-finite values)") and nan[0] == float("inf")
    wide = q._compare_outputs(float_sess, Fake(lambda y: np.ones((y.shape[0], 4))), inputs, (1.0, 0.25))
    assert wide[2] is False and "vs the float model" in wide[3]
