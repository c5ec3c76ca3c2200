"""The CLI end to end, and bad input: one line, exit != 0, no traceback, no file left behind."""
import json
import os
import subprocess
import sys

import pytest


def test_export_gru_with_no_other_argument(run, tmp_path):
    result = run("export", "--cell", "gru")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "gru-classification.onnx").exists()
    assert "wrote gru-classification.onnx (verified" in result.output
    assert "CPUExecutionProvider" in result.output and "max abs err" in result.output


def test_export_json_report_and_force(run, tmp_path):
    args = ["export", "--cell", "lstm", "--bidirectional", "--num-layers", "2", "--dropout", "0.1",
            "--hidden-size", "8", "-o", "m.onnx", "--json", "--seed", "7", "--atol", "1e-4", "--rtol", "1e-3"]
    report = json.loads(run(*args).output)
    assert report["verification"]["ok"] is True
    assert report["verification"]["providers_used"][0] == "CPUExecutionProvider"
    assert report["verification"]["atol"] == 1e-4
    assert report["verification"]["metadata"]["config"]["cell_config"]["num_layers"] == 2
    again = run(*args)
    assert again.exit_code == 1 and "already exists; pass --force" in again.output
    assert run(*args, "--force").exit_code == 0


def test_verify_reads_a_file_alone(run, tmp_path):
    run("export", "--cell", "rnn", "-O", "nonlinearity=relu", "-T", "pooling=max", "-o", "r.onnx")
    result = run("verify", "r.onnx")
    assert result.exit_code == 0, result.output
    assert "cell 'rnn' task 'classification'" in result.output and '"nonlinearity": "relu"' in result.output
    report = json.loads(run("verify", "r.onnx", "--json").output)
    assert report["ok"] and len(report["checks"]) >= 4


def test_plugins_table_and_json(run):
    table = run("plugins")
    assert table.exit_code == 0 and "gru" in table.output and "seqkit" in table.output
    rows = json.loads(run("plugins", "--json").output)["plugins"]
    cells = {r["name"]: r for r in rows if r["kind"] == "cell"}
    assert {"rnn", "lstm", "gru"} <= set(cells) and cells["gru"]["distribution"] == "seqkit"


@pytest.mark.parametrize("args,message", [
    (["export", "--cell", "nope"], "unknown cell 'nope'; known cells:"),
    (["export", "--task", "nope"], "unknown task 'nope'; known tasks:"),
    (["export", "--hidden-size", "0"], "Invalid value for '--hidden-size': must be > 0"),
    (["export", "--num-layers", "-1"], "Invalid value for '--num-layers'"),
    (["export", "--dropout", "1.5"], "dropout must be in [0, 1)"),
    (["export", "-o", "missing/dir/m.onnx"], "folder missing/dir does not exist"),
    (["export", "-O", "nonlinearity=sigmoid", "--cell", "rnn"], "nonlinearity must be tanh or relu"),
    (["export", "-O", "bogus=1"], "has no option bogus"),
    (["export", "-T", "pooling=median"], "unknown pooling 'median'"),
    (["export", "-O", "novalue"], "is not KEY=VALUE"),
    (["export", "--cell", "lstm", "-O", "proj_size=4"], "proj_size is not supported"),
    (["export", "--provider", "cuda"], None),
    (["verify", "nothere.onnx"], "does not exist"),
])
def test_bad_input_is_one_line(run, tmp_path, args, message):
    import onnxruntime
    if args[-1] == "cuda":
        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            pytest.skip("this machine has CUDA, so requesting it is not an error")  # pragma: no cover
        message = "has no CUDAExecutionProvider"
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not [p for p in os.listdir(tmp_path) if p.endswith((".onnx", ".tmp"))]


def test_wrong_file_and_no_traceback_in_a_real_process(tmp_path):
    bad = tmp_path / "notes.onnx"
    bad.write_text("not a model")
    proc = subprocess.run([sys.executable, "-m", "seqkit", "verify", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"Error: {bad} is not a readable ONNX file (DecodeError); give a "
                                                 f"file written by 'seqkit export'"]


def test_unwritable_folder(run, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    # root may write into a read-only folder; /proc refuses new files to everyone
    target = locked / "m.onnx" if not os.access(locked, os.W_OK) else "/proc/seqkit-test.onnx"
    result = run("export", "-o", str(target))
    locked.chmod(0o700)
    assert result.exit_code == 1 and f"cannot write {target}" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [[], ["export"], ["verify"], ["plugins"], ["train"], ["evaluate"],
                                     ["diagnose", "gradients"]])
def test_help_explains_with_an_example(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Example" in result.output
