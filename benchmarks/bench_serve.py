"""seqkit serve under concurrent single-sample clients, adaptive batching on and off (not a CI test).

An untrained LSTM (hidden 256) classification model on 8 features, exported once; samples of 100 steps. For 1, 8
and 64 concurrent clients, each sending single-sample tensor requests (JSON, keep-alive) to a local server
(``--max-batch-size 64`` = batching on, ``1`` = off), prints requests/s, p50 and p99 latency, rows per
onnxruntime call is not visible from outside, so the ratio that matters is printed instead: requests/s over the
OFFLINE throughput of ``seqkit.runtime``'s ``predict`` at batch 64 on the same machine (samples/s).
Goal (issue 21): at 64 clients, batched >= 50% of offline, and >= 3x unbatched.

The clients are ``wrk`` (C, one thread, ~2% of a core here: ``apt-get install wrk``) when it is on PATH, else
Python threads (``--client python``), which take a large share of a small machine's CPU from the server.

    flock /tmp/seqkit-bench.lock python benchmarks/bench_serve.py [--seconds 5] [--clients 1,8,64] [--client wrk]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def export(directory: Path, hidden: int, features: int) -> Path:
    import seqkit

    composition = seqkit.compose("lstm", "classification", seqkit.CellConfig(hidden_size=hidden),
                                 {"num_classes": 4, "num_features": features}, seed=0)
    path = directory / "bench.onnx"
    seqkit.export(composition, path, force=True, verify=False)
    return path


def start(path: Path, batch: int, threads: int):
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.Popen([sys.executable, "-m", "seqkit", "serve", f"bench={path}", "--port", str(port),
                             "--grpc-port", str(free_port()), "--max-batch-size", str(batch),
                             "--threads", str(threads)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1)
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def load_test(port: int, bodies: list[bytes], clients: int, seconds: float) -> tuple[int, list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    errors = []

    def client(i: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, k = [], i
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            conn.request("POST", "/v2/models/bench/infer", bodies[k % len(bodies)],
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                errors.append(r.status)
            mine.append(time.perf_counter() - t0)
            k += clients
        conn.close()
        with lock:
            latencies.extend(mine)

    start_t = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed: {errors[:3]}")
    return len(latencies), latencies, time.perf_counter() - start_t


def wrk_test(port: int, script: Path, clients: int, seconds: float) -> tuple[float, float, float]:
    """requests/s, p50 and p99 in ms, from ``wrk --latency`` (its own timing)."""
    out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency", "-s",
                          str(script), f"http://127.0.0.1:{port}/v2/models/bench/infer"],
                         capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad or "Socket errors" in out:
        raise SystemExit(f"wrk saw failed requests:\n{out}")
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}

    def percentile(p: str) -> float:
        value, u = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M).groups()
        return float(value) * unit[u]

    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), percentile("50"), percentile("99")


def wrk_script(directory: Path, bodies: list[bytes]) -> Path:
    """A wrk Lua script sending the bodies in turn."""
    script = directory / "bodies.lua"
    items = ",\n".join(json.dumps(b.decode()) for b in bodies)
    script.write_text("local bodies = {" + items + "}\nlocal i = 0\n"
                      'local headers = {["Content-Type"] = "application/json"}\n'
                      "request = function()\n  i = i % #bodies + 1\n"
                      '  return wrk.format("POST", nil, headers, bodies[i])\nend\n')
    return script


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--clients", default="1,8,64")
    parser.add_argument("--seconds", type=float, default=5.0, help="per configuration")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads of the server (--threads)")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    from seqkit.runtime import load

    with tempfile.TemporaryDirectory() as tmp:
        path = export(Path(tmp), args.hidden, args.features)
        model = load(path)  # onnxruntime's default threads: the machine's best offline figure
        rng = np.random.default_rng(0)
        samples = [rng.standard_normal((args.steps, args.features)).astype(np.float32) for _ in range(256)]
        model.predict(samples[:64], batch_size=64)  # warm up
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < args.seconds:
            model.predict(samples, batch_size=64)
            n += len(samples)
        offline = n / (time.perf_counter() - t0)
        bodies = [json.dumps({"inputs": [
            {"name": "features", "datatype": "FP32", "shape": [1, args.steps, args.features],
             "data": s.reshape(-1).tolist()},
            {"name": "lengths", "datatype": "INT64", "shape": [1], "data": [args.steps]}]}).encode()
            for s in samples]
        script = wrk_script(Path(tmp), bodies)
        print(f"clients: {args.client}; server: --threads {args.threads}")
        print(f"LSTM H={args.hidden} T={args.steps} F={args.features} classification; offline predict at batch 64: "
              f"{offline:.0f} samples/s; load average {os.getloadavg()[0]:.2f}")
        print(f"{'clients':>7} {'batching':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'of offline':>10}")
        table = {}
        for batch in (64, 1):
            proc, port = start(path, batch, args.threads)
            try:
                load_test(port, bodies, 4, 1.0)  # warm up
                for clients in [int(c) for c in args.clients.split(",")]:
                    if args.client == "wrk":
                        rps, p50, p99 = wrk_test(port, script, clients, args.seconds)
                    else:
                        count, lat, wall = load_test(port, bodies, clients, args.seconds)
                        rps = count / wall
                        p50, p99 = np.percentile(lat, 50) * 1e3, np.percentile(lat, 99) * 1e3
                    table[clients, batch] = rps
                    print(f"{clients:>7} {'on' if batch > 1 else 'off':>8} {rps:>8.1f} {p50:>8.1f} {p99:>8.1f} "
                          f"{rps / offline:>9.0%}")
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
        for clients in [int(c) for c in args.clients.split(",")]:
            if (clients, 64) in table and (clients, 1) in table:
                print(f"{clients} clients: batched / unbatched = {table[clients, 64] / table[clients, 1]:.1f}x")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
