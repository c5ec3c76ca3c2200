"""seqkit serve's start-up refusals (one line each) and SIGTERM: the requests in flight are answered, exit 0."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from serve_fixtures import BLOCK, Server

from seqkit.runtime import load

# mlserver is never imported here: its gRPC protos clash with tritonclient's in one process (the server runs in
# a child process anyway)


def serve(*args, cwd=None, block=BLOCK):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", block, "serve", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def one_line(proc):
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode != 0 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_a_file_that_cannot_load_stops_start_up_naming_it(tmp_path, deployed):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx file")
    line = one_line(serve(f"good={deployed('adding').path}", f"bad={broken}", "--port", "0"))
    assert "'bad'" in line and "broken.onnx" in line
    line = one_line(serve(str(tmp_path / "missing.onnx")))
    assert "missing.onnx" in line and "does not exist" in line


def test_a_taken_port_and_duplicate_names_are_one_line(deployed):
    path = str(deployed("adding").path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(serve(path, "--port", str(port), "--grpc-port", "0"))
    assert f"port {port}" in line and "taken" in line and "--port" in line
    line = one_line(serve(f"a={path}", f"a={path}"))
    assert "two models named 'a'" in line


def test_without_mlserver_the_line_names_the_extra(deployed):
    block = BLOCK.replace('("torch", "onnx", "onnxscript")', '("torch", "onnx", "onnxscript", "mlserver")')
    line = one_line(serve(str(deployed("adding").path), block=block))
    assert "seqkit[serve]" in line and "MLServer" in line


def test_sigterm_answers_the_requests_in_flight_and_exits_0(deployed, tmp_path):
    path = deployed("adding").path
    server = Server({"sum": str(path)}, "--max-batch-size", "1", cwd=tmp_path)  # one at a time: a queue forms
    model = load(path)
    rng = np.random.default_rng(0)
    x = rng.random((4, 5_000, 2)).astype(np.float32)
    want = model.run({"series": x})["prediction"]
    body = {"inputs": [{"name": "series", "datatype": "FP32", "shape": list(x.shape), "data": x.reshape(-1).tolist()}]}
    answers = []
    first = threading.Event()

    def client():
        answers.append((*served_post(server, body), time.monotonic()))
        first.set()

    threads = [threading.Thread(target=client) for _ in range(16)]
    for t in threads:
        t.start()
    first.wait(60)  # one answered, the others sent and queued behind it (one run at a time): stop now
    stopped_at = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(120)
    assert server.proc.wait(60) == 0, server.output()  # (a second SIGTERM would force the exit, as uvicorn does)
    assert len(answers) == 16
    assert any(at > stopped_at for _, _, at in answers), "every request was answered before SIGTERM: none in flight"
    for status, answer, _ in answers:
        assert status == 200, answer
        np.testing.assert_allclose(np.reshape(answer["outputs"][0]["data"], want.shape), want, rtol=1e-4, atol=1e-5)
    with pytest.raises(OSError):  # and it listens no more
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def served_post(server, body):
    status, answer = server.post("/v2/models/sum/infer", json.dumps(body).encode())
    return status, answer


@pytest.mark.slow
def test_parallel_workers_answer_and_refuse_like_one_process(deployed, tmp_path):
    path = deployed("adding").path
    server = Server({"sum": str(path)}, "--workers", "2", cwd=tmp_path)
    try:
        status, meta = server.get("/v2/models/sum")
        assert status == 200 and meta["parameters"]["task"] == "adding"
        x = np.array([[[0.5, 1.0], [0.25, 0.0]]], np.float32)
        status, answer = server.post("/v2/models/sum/infer", {"inputs": [
            {"name": "series", "datatype": "FP32", "shape": [1, 2, 2], "data": x.reshape(-1).tolist()}]})
        assert status == 200, answer
        want = load(path).run({"series": x})["prediction"].reshape(-1)
        np.testing.assert_allclose(answer["outputs"][0]["data"], want, rtol=1e-5, atol=1e-6)
        status, answer = server.post("/v2/models/sum/infer", {"inputs": [
            {"name": "series", "datatype": "FP32", "shape": [1, 1, 3], "data": [0, 1, 2]}]})
        assert status == 400 and "axis 2" in answer["error"], answer
    finally:
        assert server.stop() == 0, server.output()


def test_metrics_count_infer_requests(deployed, tmp_path):
    """--metrics-port: MLServer's Prometheus endpoint counts infer requests (REST and per model), good and bad."""
    from serve_fixtures import free_port

    port = free_port()
    server = Server({"sum": str(deployed("adding").path)}, "--metrics-port", str(port), cwd=tmp_path)
    try:
        good = {"inputs": [{"name": "series", "datatype": "FP32", "shape": [1, 1, 2], "data": [0.5, 1]}]}
        bad = {"inputs": [{"name": "series", "datatype": "FP32", "shape": [1, 1, 3], "data": [0, 1, 2]}]}
        assert [server.post("/v2/models/sum/infer", b)[0] for b in (good, good, bad)] == [200, 200, 400]
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
            text = r.read().decode()
        rest = [line for line in text.splitlines() if line.startswith("rest_server_requests_total{")
                and 'path="/v2/models/{model_name}/infer"' in line]
        assert any('status_code="200"' in line and line.endswith(" 2.0") for line in rest), rest
        assert any('status_code="400"' in line and line.endswith(" 1.0") for line in rest), rest
        model = [line for line in text.splitlines() if line.startswith("model_infer_request_success_total{")]
        assert any('model="sum"' in line and line.endswith(" 2.0") for line in model), model
    finally:
        assert server.stop() == 0, server.output()
