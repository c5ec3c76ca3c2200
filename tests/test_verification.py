"""Verification fails loudly on a mismatch, on a frozen axis, and on a provider that is not there."""
import importlib
import os

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

import seqkit
from seqkit.errors import ProviderError, VerificationError
from seqkit.onnx.verify import check_file, verify_against_torch
from seqkit.runtime import open_session

export_mod = importlib.import_module("seqkit.onnx.export")  # the module, not the function seqkit.onnx.export


def test_a_different_model_is_caught(tmp_path, plugins):
    a = seqkit.compose("gru", plugins=plugins, seed=0)
    b = seqkit.compose("gru", plugins=plugins, seed=1)
    seqkit.export(a, tmp_path / "a.onnx")
    report = verify_against_torch(b.model, str(tmp_path / "a.onnx"), b.task.inputs(), b.task.outputs())
    assert not report.ok
    assert all(not c.ok for c in report.checks) and "output 'logits'" in report.failures()[0]


def test_failed_verification_writes_nothing(tmp_path, plugins, monkeypatch):
    good = seqkit.compose("lstm", plugins=plugins, seed=0)
    other = seqkit.compose("lstm", plugins=plugins, seed=5)
    real_to_onnx = export_mod.to_onnx
    monkeypatch.setattr(export_mod, "to_onnx", lambda composition, opset, **kw: real_to_onnx(other, opset, **kw))
    with pytest.raises(VerificationError, match="does not match PyTorch") as info:
        seqkit.export(good, tmp_path / "m.onnx")
    assert info.value.report is not None and not info.value.report.ok
    assert os.listdir(tmp_path) == []  # no target, no temp file


def test_a_fixed_time_axis_is_reported(tmp_path, plugins):
    c = seqkit.compose("rnn", plugins=plugins)
    seqkit.export(c, tmp_path / "m.onnx")
    proto = onnx.load(tmp_path / "m.onnx")
    dim = proto.graph.input[0].type.tensor_type.shape.dim[1]
    dim.Clear()
    dim.dim_value = 7  # what a time-freezing exporter would have written
    problems = check_file(proto, c.task.inputs(), c.task.outputs())
    assert any("input 'tokens' axis 1 ('time') is fixed to 7" in p for p in problems)


def test_tolerances_are_per_provider_and_reported(tmp_path, plugins):
    c = seqkit.compose("gru", plugins=plugins)
    report = seqkit.export(c, tmp_path / "m.onnx").report
    assert (report.atol, report.rtol) == seqkit.runtime.TOLERANCES["cpu"]
    tight = verify_against_torch(c.model, str(tmp_path / "m.onnx"), c.task.inputs(), c.task.outputs(), atol=0.0,
                                 rtol=0.0)
    assert max(ch.max_abs for ch in tight.checks) < 1e-5  # float32 parity, and the numbers are real


CUDA = "CUDAExecutionProvider" in onnxruntime.get_available_providers()


@pytest.mark.skipif(CUDA, reason="CUDA is available here; the refusal path cannot be observed")
def test_requesting_cuda_without_it_is_an_error_not_a_cpu_run():
    with pytest.raises(ProviderError, match="no CUDAExecutionProvider"):
        open_session(b"", "cuda")


@pytest.mark.skipif(not CUDA, reason="needs onnxruntime-gpu with a working CUDAExecutionProvider")
def test_cuda_verification(tmp_path, plugins):  # pragma: no cover - runs on GPU machines only
    c = seqkit.compose("gru", cell_config=seqkit.CellConfig(hidden_size=16, bidirectional=True), plugins=plugins)
    report = seqkit.export(c, tmp_path / "m.onnx", provider="cuda").report
    assert report.providers_used[0] == "CUDAExecutionProvider" and report.ok, report.failures()


@pytest.mark.slow
def test_export_twice_in_one_process_keeps_time_dynamic(tmp_path, plugins):
    """The default exporter was seen to freeze the time axis on a second export; seqkit's must not."""
    c = seqkit.compose("gru", cell_config=seqkit.CellConfig(bidirectional=True), plugins=plugins)
    for name in ("one.onnx", "two.onnx"):
        assert seqkit.export(c, tmp_path / name).report.ok
    sess = open_session(str(tmp_path / "two.onnx"))
    out = sess.run({"tokens": np.ones((2, 40), np.int64), "lengths": np.array([40, 3], np.int64)})[0]
    with torch.no_grad():
        ref = c.model(torch.ones(2, 40, dtype=torch.long), torch.tensor([40, 3]))[0]
    np.testing.assert_allclose(out, ref.numpy(), atol=1e-5)
