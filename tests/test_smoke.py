import seqkit


def test_gru_exports_and_verifies(tmp_path, plugins):
    c = seqkit.compose("gru", plugins=plugins)
    result = seqkit.export(c, tmp_path / "m.onnx")
    assert result.report.ok and (tmp_path / "m.onnx").exists()
