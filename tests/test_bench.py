"""seqkit bench: the structure of its table and JSON on a tiny grid (never its timings)."""
import json
import math

import onnxruntime as ort
import pytest

import seqkit
from seqkit.errors import SeqkitError
from seqkit.onnx.bench import bench_grid, load_warning, time_interleaved


def test_grid_points_ratios_and_geomeans():
    result = bench_grid(cells=["rnn", "gru"], batches=[1, 2], times=[3], hiddens=[4], lowerings=["native", "scan"],
                        repeats=3, threads=1, task_config={"embedding_dim": 3})
    assert [(p.cell, p.batch) for p in result.points] == [("rnn", 1), ("rnn", 2), ("gru", 1), ("gru", 2)]
    for p in result.points:
        assert p.torch_ms > 0 and set(p.ort_ms) == {"native", "scan"} and all(v > 0 for v in p.ort_ms.values())
        assert p.ratio("scan") == pytest.approx(p.torch_ms / p.ort_ms["scan"])
    summary = result.summary()
    rnn = [p.ratio("native") for p in result.points if p.cell == "rnn"]
    assert summary["native"]["rnn"]["geomean"] == pytest.approx(math.sqrt(rnn[0] * rnn[1]), rel=1e-3)
    assert summary["native"]["rnn"]["min"] == pytest.approx(min(rnn), rel=1e-3)
    assert set(summary["scan"]) == {"rnn", "gru", "all"}
    assert result.machine["threads"] == 1 and result.machine["torch"] and result.machine["onnxruntime"]


def test_interleaved_timing_reports_median_and_spread():
    calls = []
    timed = time_interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=4)
    assert set(timed) == {"a", "b"} and all(med > 0 and spread >= 0 for med, spread in timed.values())
    assert calls.count("a") >= 4 + 2 and calls.count("b") >= 4 + 2  # warm-up, then every round


def test_cpu_clock_needs_one_thread():
    timed = time_interleaved({"a": lambda: sum(range(2000))}, repeats=3, clock="cpu")
    assert timed["a"][0] > 0
    with pytest.raises(SeqkitError, match="--threads 1"):
        bench_grid(cells=["rnn"], batches=[1], times=[2], hiddens=[2], threads=2, clock="cpu", repeats=3)


def test_an_unknown_cell_option_from_python_is_one_line():
    with pytest.raises(SeqkitError, match="^cell config has no option hiden_size; its options: hidden_size"):
        bench_grid(cells=["rnn"], batches=[1], times=[2], hiddens=[2], cell_config={"hiden_size": 3}, repeats=3)


def test_load_warning():
    assert load_warning([0.2, 0.3, 0.3], 2, 2) is None
    assert "loaded" in load_warning([5.0, 4.0, 3.0], 2, 2)
    assert load_warning(None, 2, 2) is None
    # at the end of a run the load average counts the run's own threads: no warning for those alone
    assert load_warning([2.1, 1.5, 1.2], 2, 2, own=2.0) is None
    assert "this run" in load_warning([4.5, 3.0, 2.0], 2, 2, own=2.0)


def test_cli_table_json_and_model_file(run, tmp_path):
    args = ["bench", "--cells", "lstm", "--batch", "2", "--time", "3", "--hidden", "4", "--repeats", "3",
            "--threads", "1", "-T", "embedding_dim=3"]
    table = run(*args, "--lowering", "native,scan")
    assert table.exit_code == 0, table.output
    assert "x native" in table.output and "x scan" in table.output and "geometric mean" in table.output
    assert "machine:" in table.output
    data = json.loads(run(*args, "--json").output)
    assert set(data) == {"model", "settings", "machine", "warnings", "points", "summary"}
    (point,) = data["points"]
    assert (point["cell"], point["hidden"], point["batch"], point["time"]) == ("lstm", 4, 2, 3)
    assert set(point["ratio"]) == {"auto"} and data["settings"]["threads"] == 1
    composition = seqkit.compose("gru", "classification", seqkit.CellConfig(hidden_size=4), {"embedding_dim": 3})
    seqkit.export(composition, tmp_path / "g.onnx")
    data = json.loads(run("bench", "g.onnx", "--batch", "1,2", "--time", "3", "--repeats", "3", "--threads", "1",
                          "--json").output)
    assert data["model"] == "g.onnx" and [p["batch"] for p in data["points"]] == [1, 2]
    assert all(p["cell"] == "gru" and p["hidden"] == 4 for p in data["points"])


def test_cli_errors_are_one_line(run, tmp_path):
    bad = run("bench", "--batch", "0")
    assert bad.exit_code != 0 and "positive integers" in bad.output
    bad = run("bench", "--lowering", "fast", "--cells", "rnn", "--batch", "1", "--time", "2", "--hidden", "2")
    assert bad.exit_code == 1 and "unknown lowering 'fast'" in bad.output and "Traceback" not in bad.output
    seqkit.export(seqkit.compose("gru", "classification", seqkit.CellConfig(hidden_size=2)), tmp_path / "g.onnx")
    bad = run("bench", str(tmp_path / "g.onnx"), "--lowering", "bogus")  # was ignored: a file's lowering is fixed
    assert bad.exit_code == 1 and "--lowering bogus does not apply to MODEL" in bad.output
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        bad = run("bench", "--provider", "cuda", "--cells", "rnn", "--batch", "1", "--time", "2", "--hidden", "2")
        assert bad.exit_code == 1 and "no CUDAExecutionProvider" in bad.output and "Traceback" not in bad.output
    (tmp_path / "x.onnx").write_bytes(b"not onnx")
    bad = run("bench", "x.onnx")
    assert bad.exit_code == 1 and "x.onnx: onnxruntime could not load the model: " in bad.output


@pytest.mark.parametrize("command", [["bench"], ["quantize"]])
def test_help_explains_with_an_example(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Example" in result.output


def _with_config(source, target, **changes):
    """A copy of the ONNX file ``source`` whose seqkit.config metadata has ``changes`` applied."""
    import onnx

    proto = onnx.load(source)
    for prop in proto.metadata_props:
        if prop.key == "seqkit.config":
            prop.value = json.dumps({**json.loads(prop.value), **changes})
    onnx.save(proto, target)


def test_a_model_file_is_read_once_and_a_damaged_config_is_one_line(run, tmp_path, monkeypatch):
    import onnx

    from seqkit.onnx.bench import bench_model

    composition = seqkit.compose("gru", "classification", seqkit.CellConfig(hidden_size=4), {"embedding_dim": 3})
    seqkit.export(composition, tmp_path / "g.onnx")
    _with_config(tmp_path / "g.onnx", tmp_path / "bad.onnx", cell_config={"hidden": 4})
    loads = []
    real_session = ort.InferenceSession
    monkeypatch.setattr(ort, "InferenceSession", lambda *a, **k: loads.append(a[0]) or real_session(*a, **k))
    monkeypatch.setattr(onnx, "load", lambda *a, **k: pytest.fail("bench read the file a second time"))
    result = bench_model(tmp_path / "g.onnx", batches=[1], times=[2], repeats=3, threads=1)
    assert loads == [str(tmp_path / "g.onnx")] and result.lowerings == ["auto"]
    assert [(p.cell, p.hidden) for p in result.points] == [("gru", 4)]
    bad = run("bench", "bad.onnx", "--batch", "1", "--time", "2", "--repeats", "3", "--threads", "1")
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert "bad.onnx: its seqkit.config metadata: cell config has no option hidden" in bad.output
