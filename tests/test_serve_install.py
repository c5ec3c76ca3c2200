"""The torch-free install: packaging/seqkit-serve into a fresh virtual environment (pip reaches PyPI; its wheel
cache is reused), then `seqkit predict` and `seqkit serve` on an exported file, with no torch, onnx or onnxscript
installed."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_cases import assert_same
from serve_fixtures import Server

from seqkit.runtime import load

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_seqkit_serve_distribution_installs_and_serves_without_torch(tmp_path, deployed):
    package = tmp_path / "seqkit-serve"
    shutil.copytree(ROOT / "packaging" / "seqkit-serve", package, symlinks=False,  # builds outside the repo
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    bin_ = tmp_path / "venv" / "bin"
    pip = subprocess.run([bin_ / "python", "-m", "pip", "install", "-q", str(package)], capture_output=True,
                         text=True, timeout=1200)
    assert pip.returncode == 0, pip.stderr[-3000:]
    listed = subprocess.run([bin_ / "python", "-m", "pip", "list", "--format", "json"], capture_output=True,
                            text=True, check=True)
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert not names & {"torch", "onnx", "onnxscript"}, names & {"torch", "onnx", "onnxscript"}
    assert {"seqkit-serve", "mlserver", "onnxruntime", "httptools"} <= names  # httptools: uvicorn's fast parser

    path = deployed("adding").path
    samples = [[[0.5, 1.0], [0.25, 0.0], [0.125, 1.0]], [[0.9, 1.0]]]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(s) for s in samples) + "\n")
    proc = subprocess.run([bin_ / "seqkit", "predict", str(path), str(tmp_path / "in.jsonl")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = [{k: v for k, v in json.loads(line).items() if k not in ("sample", "source")}
           for line in proc.stdout.splitlines()]
    want = load(path).predict(samples)
    assert_same(got, want)

    server = Server({"sum": str(path)}, cwd=tmp_path, python=str(bin_ / "python"))
    status, body = server.post("/v2/models/sum/infer", {"inputs": [
        {"name": "samples", "datatype": "BYTES", "shape": [2], "parameters": {"content_type": "json"},
         "data": [json.dumps(s) for s in samples]}]})
    assert status == 200, body
    assert_same([json.loads(r) for r in body["outputs"][0]["data"]], want)
    assert server.stop() == 0, server.output()
