"""examples/: every script trains briefly, exports and serves through seqkit.runtime; the JavaScript example
(onnxruntime-node) prints what the Python runtime predicts for the same texts.

Node 20 and the example's node_modules are required, not optional: `make test` installs them (`make node-deps`:
npm install --ignore-scripts in examples/node), and a machine without node fails here instead of skipping.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_cases import assert_same

from seqkit.runtime import load

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = {"classification": ["fortunes.onnx", "fortunes-stream.onnx"],
           "forecasting": ["sunspots.onnx", "sunspots-stream.onnx"],
           "speech_frames": ["digits.onnx", "digits-stream.onnx"],
           "video_frames": ["pan.onnx"],
           "adding": ["adding.onnx", "adding-stream.onnx"]}
TEXTS = ["You will travel far and meet a stranger.", "Über alles: 42 cats, 7 dogs!", "x", "THE END"]


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("examples")


def run_example(name: str, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), str(out)], capture_output=True, text=True,
                          env=env, cwd=out)
    assert proc.returncode == 0, f"examples/{name}.py failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_there_is_an_example_per_builtin_task():
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(SCRIPTS)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCRIPTS))
def test_example_trains_exports_and_serves(out, name):
    proc = run_example(name, out)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("trained: ") and len(lines) >= 3, proc.stdout
    for file in SCRIPTS[name]:
        assert load(out / file).metadata["task"] == name.replace("_", "-")
    if name == "video_frames":
        assert "no streaming file: cannot export cell 'gru' / task 'video-frames' for streaming" in proc.stdout


@pytest.mark.slow
def test_javascript_example_prints_what_the_python_runtime_predicts(out):
    node = shutil.which("node")
    assert node, "node (20 or later) is needed for examples/node; CI machines have it"
    assert (EXAMPLES / "node" / "node_modules" / "onnxruntime-node").is_dir(), (
        "examples/node has no node_modules: run 'make node-deps' (npm install --ignore-scripts in examples/node)")
    model = out / "fortunes.onnx"
    if not model.exists():  # this test alone (-k): make the model first
        run_example("classification", out)
    proc = subprocess.run([node, str(EXAMPLES / "node" / "classify.js"), str(model), *TEXTS], capture_output=True,
                          text=True, cwd=EXAMPLES / "node")
    assert proc.returncode == 0, proc.stderr
    got = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [g.pop("text") for g in got] == TEXTS
    want = load(model).predict(TEXTS)
    assert_same(got, want, rtol=1e-5, atol=1e-6)
    bad = subprocess.run([node, str(EXAMPLES / "node" / "classify.js"), str(model), "..."[:0]], capture_output=True,
                         text=True, cwd=EXAMPLES / "node")
    assert bad.returncode == 1 and "has no tokens" in bad.stderr
