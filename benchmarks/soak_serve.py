"""Soak test of ``seqkit serve`` (bounded, loopback only): good and bad requests from concurrent clients.

Sends ``--requests`` requests from ``--clients`` threads to one model of a running server (``--url``) or of a
server it starts itself on 127.0.0.1 and free ports (without ``--url``). About one request in five is bad (wrong
input name, dtype, rank, NaN, token ids or lengths out of range, over-long, malformed JSON, oversized body); every
good one must come back equal to ``seqkit.runtime`` on the same feeds, every bad one with a 4xx and one line.
Reports counts, wrong answers, and the server's resident memory before and after (``--pid`` or its own server),
as a table and as one JSON line. Exit code 1 if any request was answered wrongly.

    python benchmarks/soak_serve.py --model sum=adding.onnx                          # 10,000 requests, 64 clients
    python benchmarks/soak_serve.py --url http://127.0.0.1:8080 --model sum=adding.onnx --pid PID --requests 300
"""
from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from seqkit.runtime import load

DATATYPES = {"float32": "FP32", "int64": "INT64"}


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"error": raw.decode(errors="replace")}


def good_feeds(model, rng) -> dict[str, np.ndarray]:
    """Random valid feeds of 1..3 samples of 1..40 steps (ids within range for token models)."""
    batch, steps = int(rng.integers(1, 4)), int(rng.integers(1, 41))
    feeds = {}
    for spec in model.inputs:
        shape = [batch if a == "batch" else steps if a == "time" else a for a in spec.shape]
        if spec.kind == "lengths":
            feeds[spec.name] = rng.integers(1, steps + 1, size=shape).astype(np.int64)
            feeds[spec.name][0] = steps
        elif spec.kind == "ids":
            feeds[spec.name] = rng.integers(0, spec.high or 2, size=shape).astype(np.int64)
        elif spec.kind == "state":
            feeds[spec.name] = rng.standard_normal(shape).astype(np.float32)
        else:
            feeds[spec.name] = rng.random(shape).astype(np.float32)
    return feeds


def body(feeds: dict[str, np.ndarray], rename: dict | None = None, dtype: dict | None = None) -> bytes:
    inputs = [{"name": (rename or {}).get(n, n), "datatype": (dtype or {}).get(n, DATATYPES[v.dtype.name]),
               "shape": list(v.shape), "data": v.reshape(-1).tolist()} for n, v in feeds.items()]
    return json.dumps({"inputs": inputs}).encode()


def bad_request(model, rng, i: int, limit_mb: float) -> bytes:
    feeds = good_feeds(model, rng)
    first = model.inputs[0].name
    kind = i % 6
    if kind == 0:
        return body(feeds, rename={first: "not_an_input"})
    if kind == 1:
        return body(feeds, dtype={first: "INT64" if model.inputs[0].dtype == "float32" else "FP32"})
    if kind == 2:
        return json.dumps({"inputs": [{"name": first, "datatype": "FP32", "shape": [2], "data": [1, 2]}]}).encode()
    if kind == 3:
        return body(feeds).replace(b'"data": [', b'"data": [NaN, ', 1)
    if kind == 4:
        return body(feeds)[:-7]  # malformed JSON
    return b'{"inputs": [' + b" " * int((limit_mb + 0.1) * 2**20) + b"]}"  # over the server's body limit


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="NAME=PATH of the .onnx file the requests go to")
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--pid", type=int, help="the running server's process id (memory report)")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--max-body-mb", type=float, default=1.0,
                        help="the server's --max-body-mb (a server started here gets it)")
    parser.add_argument("--bad-every", type=int, default=5, help="one bad request in this many")
    args = parser.parse_args(argv)
    name, _, path = args.model.partition("=")
    model = load(path)
    server = None
    if args.url is None:
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "seqkit", "serve", args.model, "--port", str(port),
                                   "--grpc-port", str(free_port()), "--max-body-mb", str(args.max_body_mb)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        args.url, args.pid = f"http://127.0.0.1:{port}", server.pid
        for _ in range(300):
            try:
                urllib.request.urlopen(args.url + "/v2/health/ready", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
    url = f"{args.url}/v2/models/{name}/infer"
    rng = np.random.default_rng(0)
    jobs = []
    for i in range(args.requests):
        if i % args.bad_every == args.bad_every - 1:
            jobs.append(("bad", bad_request(model, rng, i // args.bad_every, args.max_body_mb), None))
        else:
            feeds = good_feeds(model, rng)
            jobs.append(("good", body(feeds), feeds))
    before = rss_mb(args.pid)
    counts = {"good": 0, "good_ok": 0, "bad": 0, "bad_refused": 0, "wrong": 0}
    problems: list[str] = []

    def one(job):
        kind, payload, feeds = job
        status, answer = post(url, payload)
        if kind == "bad":
            ok = 400 <= status < 500 and "\n" not in str(answer.get("error", "\n"))
            return kind, ok, f"bad request answered {status}: {str(answer)[:200]}"
        if status != 200:
            return kind, False, f"good request answered {status}: {str(answer)[:200]}"
        want = model.run(feeds)
        for out in answer["outputs"]:
            got = np.asarray(out["data"], dtype=np.float64).reshape(out["shape"])
            if not np.allclose(got, want[out["name"]], rtol=1e-4, atol=1e-5):
                return kind, False, f"output {out['name']} differs from seqkit.runtime"
        return kind, True, ""

    start = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        for kind, ok, why in pool.map(one, jobs):
            counts[kind] += 1
            counts["good_ok" if kind == "good" else "bad_refused"] += int(ok)
            if not ok:
                counts["wrong"] += 1
                problems.append(why)
    seconds = time.perf_counter() - start
    after = rss_mb(args.pid)
    if server is not None:
        server.send_signal(signal.SIGTERM)
        counts["exit_code"] = server.wait(60)
    report = {**counts, "clients": args.clients, "seconds": round(seconds, 1),
              "rss_before_mb": before and round(before, 1), "rss_after_mb": after and round(after, 1)}
    print(f"{'requests':>9} {'clients':>7} {'good ok':>9} {'bad refused':>11} {'wrong':>5} {'seconds':>7} "
          f"{'RSS before -> after (MB)':>25}")
    print(f"{args.requests:>9} {args.clients:>7} {counts['good_ok']:>4}/{counts['good']:<4} "
          f"{counts['bad_refused']:>5}/{counts['bad']:<5} {counts['wrong']:>5} {seconds:>7.1f} "
          f"{str(report['rss_before_mb']) + ' -> ' + str(report['rss_after_mb']):>25}")
    for why in problems[:5]:
        print("  ", why)
    print(json.dumps(report))
    return 1 if counts["wrong"] or (server is not None and counts.get("exit_code")) else 0


if __name__ == "__main__":
    sys.exit(main())
