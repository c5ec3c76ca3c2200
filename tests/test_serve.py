"""seqkit serve, spoken to by clients nobody here wrote: NVIDIA's tritonclient (HTTP and gRPC) and plain JSON.

One server per module (MLServer starts in seconds) serves every built-in task's export, in a process where torch
cannot be imported; results must equal seqkit.runtime on the same samples."""
import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient  # the test extra installs tritonclient (make test)
import tritonclient.http as httpclient
from deploy_cases import assert_same, samples
from serve_fixtures import Server

from seqkit.runtime import load

CASES = ["classification-text", "classification-features", "forecasting", "speech-frames", "video-frames", "adding"]
STREAM = "speech-frames-stream"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def served(deployed, tmp_path_factory):
    models = {case: str(deployed(case).path) for case in CASES}
    models[STREAM] = str(deployed("speech-frames", streaming=True).path)
    models["text"], models["sum"] = models["classification-text"], models["adding"]  # docs/deploy.md's names
    server = Server(models, "--max-steps", "5000", "--max-body-mb", "1", cwd=tmp_path_factory.mktemp("serve"))
    server.models = {name: load(path) for name, path in models.items()}
    yield server
    assert server.stop() == 0, server.output()  # SIGTERM: a clean exit
    assert "Traceback" not in server.output(), server.output()


def tensors(model, case):
    """The padded feeds seqkit.runtime makes for the case's samples."""
    return model.batch([model.encode(s, f"sample {i}") for i, s in enumerate(samples(case))
                        if case not in ("forecasting", "adding") or len(np.asarray(s)) == len(samples(case)[0])])


DATATYPES = {"float32": "FP32", "int64": "INT64"}


@pytest.mark.parametrize("client", ["http", "grpc"])
def test_metadata_is_filled_from_the_file(served, client):
    for name, model in served.models.items():
        if client == "http":
            meta = httpclient.InferenceServerClient(f"127.0.0.1:{served.port}").get_model_metadata(name)
        else:
            meta = grpcclient.InferenceServerClient(f"127.0.0.1:{served.grpc_port}").get_model_metadata(
                name, as_json=True)
        for got, specs in ((meta["inputs"], model.inputs), (meta["outputs"], model.outputs)):
            assert [t["name"] for t in got] == [s.name for s in specs]
            assert [t["datatype"] for t in got] == [DATATYPES[s.dtype] for s in specs]
            assert [[int(d) for d in t["shape"]] for t in got] == [
                [a if isinstance(a, int) else -1 for a in s.shape] for s in specs]
        if client == "grpc":
            continue  # the protocol's gRPC ModelMetadataResponse has no parameters field: REST carries them
        params = meta["parameters"]
        assert params["task"] == model.task and params["cell"] == model.cell
        assert json.loads(params["labels"]) == model.labels
        assert json.loads(params["columns"]) == list(model.task_metadata.get("columns") or [])


@pytest.mark.parametrize("client", ["http", "http-binary", "http-mixed", "grpc"])
def test_tensors_give_what_the_runtime_gives(served, client):
    """``http``: JSON tensors; ``http-binary``: tritonclient's defaults (binary tensor data both ways, no outputs
    named, so the request asks binary_data_output); ``http-mixed``: the first input JSON, the rest binary, and
    the outputs alternately binary and JSON."""
    for case in CASES:
        model = served.models[case]
        feeds = tensors(model, case)
        want = model.run(feeds)
        if client.startswith("http"):
            c = httpclient.InferenceServerClient(f"127.0.0.1:{served.port}")
            inputs = []
            for i, spec in enumerate(model.inputs):
                inp = httpclient.InferInput(spec.name, list(feeds[spec.name].shape), DATATYPES[spec.dtype])
                inp.set_data_from_numpy(feeds[spec.name], binary_data=client == "http-binary" or
                                        (client == "http-mixed" and i > 0))
                inputs.append(inp)
            outputs = None if client == "http-binary" else [
                httpclient.InferRequestedOutput(s.name, binary_data=client == "http-mixed" and i % 2 == 0)
                for i, s in enumerate(model.outputs)]
        else:
            c = grpcclient.InferenceServerClient(f"127.0.0.1:{served.grpc_port}")
            inputs = []
            for spec in model.inputs:
                inp = grpcclient.InferInput(spec.name, list(feeds[spec.name].shape), DATATYPES[spec.dtype])
                inp.set_data_from_numpy(feeds[spec.name])
                inputs.append(inp)
            outputs = [grpcclient.InferRequestedOutput(s.name) for s in model.outputs]
        result = c.infer(case, inputs, outputs=outputs)
        if client != "grpc":  # the outputs came back in the form asked for
            binary = ["binary_data_size" in (o.get("parameters") or {}) for o in result.get_response()["outputs"]]
            assert binary == [client == "http-binary" or (client == "http-mixed" and i % 2 == 0)
                              for i in range(len(binary))], (case, client, binary)
        for spec in model.outputs:
            np.testing.assert_allclose(result.as_numpy(spec.name), want[spec.name], rtol=1e-5, atol=1e-6,
                                       err_msg=f"{case} {client} {spec.name}")


def test_raw_samples_give_what_predict_gives(served):
    for case in CASES:
        model, raw = served.models[case], samples(case)
        wav = [s for s in raw if isinstance(s, str) and s.endswith(".wav")]
        other = [s for s in raw if not (isinstance(s, str) and s.endswith(".wav"))]
        docs = [json.dumps(s.tolist() if isinstance(s, np.ndarray) else s) for s in other]
        status, body = served.post(f"/v2/models/{case}/infer", {"inputs": [
            {"name": "samples", "datatype": "BYTES", "shape": [len(docs)], "parameters": {"content_type": "json"},
             "data": docs}]})
        assert status == 200, body
        got = [json.loads(r) for r in body["outputs"][0]["data"]]
        assert_same(got, model.predict(other), where=case)
        if wav:  # WAV bytes: base64 in JSON; raw bytes over gRPC
            blobs = [Path(w).read_bytes() for w in wav]
            status, body = served.post(f"/v2/models/{case}/infer", {"inputs": [
                {"name": "samples", "datatype": "BYTES", "shape": [len(blobs)], "parameters": {"content_type": "wav"},
                 "data": [base64.b64encode(b).decode() for b in blobs]}]})
            assert status == 200, body
            assert_same([json.loads(r) for r in body["outputs"][0]["data"]], model.predict(wav), where=case)
            c = grpcclient.InferenceServerClient(f"127.0.0.1:{served.grpc_port}")
            inp = grpcclient.InferInput("samples", [len(blobs)], "BYTES")
            inp.set_data_from_numpy(np.array(blobs, dtype=object))
            result = c.infer(case, [inp], parameters={"content_type": "wav"})  # on the request: applies to all
            got = [json.loads(r) for r in result.as_numpy("results")]
            assert_same(got, model.predict(wav), where=f"{case} gRPC")


def test_texts_as_text_content_type(served):
    model = served.models["classification-text"]
    texts = ["The cat sat on the mat.", "a dog", "zebra crossing"]
    c = httpclient.InferenceServerClient(f"127.0.0.1:{served.port}")
    inp = httpclient.InferInput("samples", [len(texts)], "BYTES")
    inp.set_data_from_numpy(np.array(texts, dtype=object), binary_data=False)
    result = c.infer("classification-text", [inp], parameters={"content_type": "text"},
                     outputs=[httpclient.InferRequestedOutput("results", binary_data=False)])
    assert_same([json.loads(r) for r in result.as_numpy("results")], model.predict(texts))


def test_texts_as_binary_bytes_both_ways(served):
    """tritonclient's default for BYTES: each element length-prefixed after the JSON header; the results back the
    same way."""
    model = served.models["classification-text"]
    texts = ["The cat sat on the mat.", "a dog", "zebra crossing", "été — café"]
    c = httpclient.InferenceServerClient(f"127.0.0.1:{served.port}")
    inp = httpclient.InferInput("samples", [len(texts)], "BYTES")
    inp.set_data_from_numpy(np.array(texts, dtype=object))
    result = c.infer("classification-text", [inp], parameters={"content_type": "text"})
    assert result.get_response()["outputs"][0]["parameters"]["binary_data_size"] > 0  # it did come back binary
    got = [json.loads(r) for r in result.as_numpy("results")]
    assert_same(got, model.predict(texts))


def _binary(header: dict, *blobs: bytes, length: int | str | None = None):
    head = json.dumps(header).encode()
    return head + b"".join(blobs), {"Inference-Header-Content-Length": str(len(head) if length is None else length),
                                    "Content-Type": "application/octet-stream"}


def _series(n: int, size: int | None = None, **extra) -> dict:
    params = {"binary_data_size": 16 if size is None else size, **extra}
    return {"inputs": [{"name": "series", "datatype": "FP32", "shape": [1, n, 2], "parameters": params}]}


VALUES = np.array([0.5, 1, 0.25, 1], dtype="<f4").tobytes()
BAD_BINARY = {  # what is sent -> (body and headers, status, words the one-line error must hold)
    "header length not a number": (_binary(_series(2), VALUES, length="x"), 400, "Inference-Header-Content-Length"),
    "header length past the body": (_binary(_series(2), VALUES, length=10**6), 400, "only"),
    "size past the body": (_binary(_series(2, 32), VALUES), 400, "runs past the end"),
    "bytes left over": (_binary(_series(2), VALUES, b"\0\0\0\0"), 400, "belong to no input"),
    "negative size": (_binary(_series(2, -4), VALUES), 400, "binary_data_size -4"),
    "data and size": (_binary({"inputs": [{**_series(2)["inputs"][0], "data": [0.5, 1, 0.25, 1]}]}, VALUES), 400,
                      "both data and binary_data_size"),
    "not whole values": (_binary(_series(2, 15), VALUES[:15]), 400, "whole number of FP32"),
    "values for another shape": (_binary(_series(3), VALUES), 400, "4 values for shape [1, 3, 2]"),
    "header not JSON": ((b"{nope" + VALUES, {"Inference-Header-Content-Length": "5"}), 422, "not valid JSON"),
    "BYTES element cut": (_binary({"inputs": [{"name": "samples", "datatype": "BYTES", "shape": [1], "parameters": {
        "binary_data_size": 6, "content_type": "json"}}]}, b"\x09\0\0\0[["), 400, "runs past"),
}


def test_bad_binary_requests_get_one_readable_line(served):
    want = served.models["adding"].run({"series": np.array([[[0.5, 1], [0.25, 1]]], np.float32)})
    for what, ((body, headers), status, words) in BAD_BINARY.items():
        got, answer = served.post("/v2/models/adding/infer", body, headers)
        assert got == status, (what, got, answer)
        assert "\n" not in answer["error"] and words in answer["error"], (what, answer["error"])
    body, headers = _binary(_series(2), VALUES)  # and the same framing, right, is answered (in JSON: not asked)
    ok, answer = served.post("/v2/models/adding/infer", body, headers)
    assert ok == 200, answer
    assert np.allclose(answer["outputs"][0]["data"], want[answer["outputs"][0]["name"]].reshape(-1), atol=1e-6)


def test_streaming_state_travels_with_each_request(served):
    model = served.models[STREAM]
    x = samples("speech-frames")[3].astype(np.float32)  # [11, 20]
    stream = model.stream()
    state = model.zero_state(1)
    for chunk in (x[:4], x[4:5], x[5:]):
        want = stream.run({"frames": chunk[None], "lengths": np.array([len(chunk)])})
        inputs = {"frames": chunk[None], "lengths": np.array([len(chunk)]), **state}
        status, body = served.post(f"/v2/models/{STREAM}/infer", {"inputs": [
            {"name": n, "datatype": "FP32" if v.dtype == np.float32 else "INT64", "shape": list(v.shape),
             "data": v.reshape(-1).tolist()} for n, v in inputs.items()]})
        assert status == 200, body
        got = {o["name"]: np.asarray(o["data"], dtype=np.float32).reshape(o["shape"]) for o in body["outputs"]}
        for name, value in want.items():
            np.testing.assert_allclose(got[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
        state = {d["input"]: got[d["output"]] for d in model.streaming["state"]}


def _tensor(name, datatype, shape, data):
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}


BAD = {  # what is sent -> (status, words the one-line error must hold)
    "unknown model": ("nope", {"inputs": [_tensor("series", "FP32", [1, 1, 2], [0, 1])]}, 404, "nope"),
    "unknown input": ("adding", {"inputs": [_tensor("x", "FP32", [1, 1, 2], [0, 1])]}, 400, "'series'"),
    "dtype": ("adding", {"inputs": [_tensor("series", "INT64", [1, 1, 2], [0, 1])]}, 400, "dtype"),
    "rank": ("adding", {"inputs": [_tensor("series", "FP32", [1, 2], [0, 1])]}, 400, "dimension"),
    "fixed dim": ("adding", {"inputs": [_tensor("series", "FP32", [1, 1, 3], [0, 1, 2])]}, 400, "axis 2"),
    "length 0": ("adding", {"inputs": [_tensor("series", "FP32", [1, 0, 2], [])]}, 400, "empty"),
    "over the limit": ("adding", {"inputs": [_tensor("series", "FP32", [1, 5001, 2], [0.0] * 10002)]}, 400,
                       "--max-steps"),
    "ids out of range": ("text", {"inputs": [_tensor("tokens", "INT64", [1, 2], [3, 99]),
                                             _tensor("lengths", "INT64", [1], [2])]}, 400, "token id 99"),
    "lengths out of range": ("text", {"inputs": [_tensor("tokens", "INT64", [1, 2], [3, 4]),
                                                 _tensor("lengths", "INT64", [1], [3])]}, 400, "length 3"),
    "too many values": ("adding", {"inputs": [_tensor("series", "FP32", [1, 1, 2], [0, 1, 2])]}, 400, "3 values"),
    "float32 overflow": ("adding", {"inputs": [_tensor("series", "FP32", [1, 1, 2], [0, 1e39])]}, 400, "finite"),
    "text for a numeric model": ("adding", {"inputs": [{"name": "samples", "datatype": "BYTES", "shape": [1],
                                                        "parameters": {"content_type": "text"}, "data": ["hi"]}]},
                                 400, "sample 0"),
    "bad sample JSON": ("adding", {"inputs": [{"name": "samples", "datatype": "BYTES", "shape": [1],
                                               "parameters": {"content_type": "json"}, "data": ["[[1, 2"]}]},
                        400, "not JSON"),
    "NaN in a sample": ("adding", {"inputs": [{"name": "samples", "datatype": "BYTES", "shape": [1],
                                               "parameters": {"content_type": "json"}, "data": ["[[NaN, 1]]"]}]},
                        400, "NaN"),
    "not WAV": ("speech-frames", {"inputs": [{"name": "samples", "datatype": "BYTES", "shape": [1],
                                              "parameters": {"content_type": "wav"}, "data": ["aGVsbG8="]}]},
                400, "WAV"),
    "malformed JSON": ("adding", b'{"inputs": [{"name": "series"', 422, "not valid JSON"),
    "not an object": ("adding", b'[1, 2]', 422, "JSON object"),
    "oversized body": ("adding", b'{"inputs": [' + b" " * (2 * 2**20) + b"]}", 413, "limit"),
}


def test_bad_requests_get_one_readable_line_and_the_server_keeps_serving(served):
    good = {"inputs": [_tensor("series", "FP32", [1, 2, 2], [0.5, 1, 0.25, 1])]}
    want = served.models["adding"].run({"series": np.array([[[0.5, 1], [0.25, 1]]], np.float32)})
    for what, (name, body, status, words) in BAD.items():
        got, answer = served.post(f"/v2/models/{name}/infer", body)
        assert got == status, (what, got, answer)
        line = answer["error"]
        assert "\n" not in line and words in line, (what, line)
        ok, answer = served.post("/v2/models/adding/infer", good)
        assert ok == 200, (what, answer)
        assert np.allclose(answer["outputs"][0]["data"], want[answer["outputs"][0]["name"]].reshape(-1), atol=1e-6)
    nan = b'{"inputs": [{"name": "series", "datatype": "FP32", "shape": [1, 1, 2], "data": [NaN, 1]}]}'
    got, answer = served.post("/v2/models/adding/infer", nan)
    assert 400 <= got < 500 and "\n" not in answer["error"], answer


def test_infer_keeps_what_mlserver_does_around_it(served):
    """The infer route skips FastAPI's routing, not MLServer: ids, versions, gzip both ways, errors."""
    import gzip
    import urllib.request

    rows = np.random.default_rng(1).uniform(0, 1, (64, 3, 2)).astype(np.float32)
    rows[..., 1] = 1
    want = served.models["adding"].run({"series": rows})
    out_name = next(iter(want))
    body = {"id": "req-7", "inputs": [_tensor("series", "FP32", list(rows.shape), rows.reshape(-1).tolist())]}
    status, answer = served.post("/v2/models/adding/infer", gzip.compress(json.dumps(body).encode()),
                                 {"Content-Encoding": "gzip"})
    assert status == 200 and answer["id"] == "req-7" and answer["model_name"] == "adding", answer
    got = np.asarray(next(o for o in answer["outputs"] if o["name"] == out_name)["data"])
    assert np.allclose(got, want[out_name].reshape(-1), atol=1e-6)
    request = urllib.request.Request(served.url + "/v2/models/adding/infer", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as r:  # MLServer's gzip middleware still answers
        assert r.headers.get("Content-Encoding") == "gzip"
        assert json.loads(gzip.decompress(r.read()))["outputs"] == answer["outputs"]
    status, answer = served.post("/v2/models/adding/versions/9/infer", body)
    assert status == 404 and "\n" not in answer["error"] and "adding" in answer["error"], answer
    status, answer = served.post("/v2/models/adding/infer", b"\x1f\x8b not gzip", {"Content-Encoding": "gzip"})
    assert status == 422 and "\n" not in answer["error"], answer
    assert served.get("/v2/models/adding")[0] == 200  # other routes are MLServer's own


def test_small_soak(served, deployed):
    """benchmarks/soak_serve.py, small: good and bad requests from concurrent clients, every one answered right."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "soak_serve.py"), "--url", served.url,
                           "--model", f"sum={deployed('adding').path}", "--pid", str(served.proc.pid),
                           "--requests", "300", "--clients", "8", "--max-body-mb", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["good_ok"] == report["good"] > 0 and report["bad_refused"] == report["bad"] > 0
    assert report["wrong"] == 0


def test_curl_examples_in_the_docs(served):
    """docs/deploy.md's curl blocks, sent as written to this server (its port instead of 8080)."""
    examples = curl_examples()
    assert len(examples) >= 4
    for example in examples:
        status, body = send(example, served.url)
        assert status == 200, (example, body)
        target = next(a for a in example if a.startswith("http://"))
        if target.endswith("/infer"):
            assert body["outputs"] and body["outputs"][0]["data"], body
        elif "/health/" not in target:
            assert body["inputs"] and body["parameters"]["task"], body


DOCS = ROOT / "docs" / "deploy.md"


def curl_examples() -> list[list[str]]:
    """Every ``curl`` command of docs/deploy.md's ```bash blocks, as argv lists."""
    import re
    import shlex

    out = []
    for block in re.findall(r"```bash\n(.*?)```", DOCS.read_text(), re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if command.strip().startswith("curl "):
                out.append(shlex.split(command.split("#")[0] if " #" in command else command))
    return out


def send(argv: list[str], url: str):
    """What curl would send: the URL (this server's port) and -d / --data body."""
    target = next(a for a in argv if a.startswith("http://"))
    path = "/" + target.split("/", 3)[3]
    body = None
    for flag in ("-d", "--data"):
        if flag in argv:
            body = argv[argv.index(flag) + 1].encode()
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url + path, data=body, method="POST" if body else "GET",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
