"""seqkit serve under concurrent single-sample clients, adaptive batching on and off (not a CI test).

An untrained LSTM (hidden 256) classification model on 8 features, exported once; samples of 100 steps. For 1, 8
and 64 concurrent clients, each sending single-sample tensor requests (keep-alive) to a local server
(``--max-batch-size 64`` = batching on, ``1`` = off), prints requests/s, p50 and p99 latency, rows per
onnxruntime call is not visible from outside, so the ratio that matters is printed instead: requests/s over the
OFFLINE throughput of ``seqkit.runtime``'s ``predict`` at batch 64 on the same machine (samples/s).
Goal (issue 21): at 64 clients, batched >= 50% of offline, and >= 3x unbatched. It also prints the ceiling of
that last ratio: onnxruntime alone on the same file, per row at batch 1 against batch 64 (when onnxruntime is what
limits both servers, batching cannot gain more than that). Requests go as JSON tensors and as binary tensor data
(``--format``).

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


def load_test(port: int, bodies: list[tuple[bytes, dict]], clients: int, seconds: float) \
        -> tuple[int, list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    errors = []

    def client(i: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, k = [], i
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            body, headers = bodies[k % len(bodies)]
            conn.request("POST", "/v2/models/bench/infer", body, headers)
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


def lua_string(data: bytes) -> str:
    """``data`` as a Lua string literal (any byte: decimal escapes)."""
    return '"' + "".join(chr(c) if 32 <= c < 127 and c not in (34, 92) else f"\\{c:03d}" for c in data) + '"'


def wrk_script(directory: Path, bodies: list[tuple[bytes, dict]], name: str = "bodies") -> Path:
    """A wrk Lua script sending the bodies (each with its headers) in turn."""
    script = directory / f"{name}.lua"
    items = ",\n".join("{" + lua_string(b) + ", {" + ", ".join(f"[{lua_string(k.encode())}] = "
                                                                 f"{lua_string(v.encode())}" for k, v in h.items())
                        + "}}" for b, h in bodies)
    script.write_text("local bodies = {" + items + "}\nlocal i = 0\n"
                      "request = function()\n  i = i % #bodies + 1\n"
                      '  return wrk.format("POST", nil, bodies[i][2], bodies[i][1])\nend\n')
    return script


def request_bodies(samples: list[np.ndarray], form: str) -> list[tuple[bytes, dict]]:
    """Single-sample requests: ``json`` tensors, or ``binary`` (the binary tensor data extension, tritonclient's
    default: a JSON header, then the float32 and int64 bytes; the outputs asked back as binary too)."""
    out = []
    for s in samples:
        if form == "json":
            body = json.dumps({"inputs": [
                {"name": "features", "datatype": "FP32", "shape": [1, *s.shape], "data": s.reshape(-1).tolist()},
                {"name": "lengths", "datatype": "INT64", "shape": [1], "data": [len(s)]}]}).encode()
            out.append((body, {"Content-Type": "application/json"}))
            continue
        raw = [s.astype("<f4").tobytes(), np.array([len(s)], "<i8").tobytes()]
        head = json.dumps({"inputs": [
            {"name": "features", "datatype": "FP32", "shape": [1, *s.shape], "parameters": {"binary_data_size":
                                                                                            len(raw[0])}},
            {"name": "lengths", "datatype": "INT64", "shape": [1], "parameters": {"binary_data_size": len(raw[1])}}],
            "parameters": {"binary_data_output": True}}).encode()
        out.append((head + b"".join(raw), {"Content-Type": "application/octet-stream",
                                           "Inference-Header-Content-Length": str(len(head))}))
    return out


def batching_ceiling(path: Path, threads: int, samples: list[np.ndarray], rounds: int = 15):
    """onnxruntime alone on the served file with the server's threads: seconds per row at batch 1 and at batch
    64 (medians, the two sizes in turn), and their ratio: what batching can gain at most."""
    from seqkit.runtime.session import open_session

    session = open_session(str(path), "cpu", threads)
    feeds = {b: {"features": np.stack(samples[:b]), "lengths": np.full(b, len(samples[0]), np.int64)}
             for b in (1, 64)}
    times: dict[int, list[float]] = {1: [], 64: []}
    for round_ in range(rounds + 1):
        for b in (1, 64):
            for _ in range(64 // b if b == 1 else 1):  # as many rows each way
                t0 = time.perf_counter()
                session.run(feeds[b])
                if round_:  # the first round warms up
                    times[b].append((time.perf_counter() - t0) / b)
    per_row = {b: float(np.median(t)) for b, t in times.items()}
    return per_row[1] / per_row[64], per_row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--clients", default="1,8,64")
    parser.add_argument("--seconds", type=float, default=5.0, help="per configuration")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads of the server (--threads)")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--format", default="json,binary",
                        help="request forms: json tensors and/or binary (the binary tensor data extension)")
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
        ceiling, per_row = batching_ceiling(path, args.threads, samples)
        forms = args.format.split(",")
        bodies = {form: request_bodies(samples, form) for form in forms}
        scripts = {form: wrk_script(Path(tmp), bodies[form], form) for form in forms}
        print(f"clients: {args.client}; server: --threads {args.threads}")
        print(f"LSTM H={args.hidden} T={args.steps} F={args.features} classification; offline predict at batch 64: "
              f"{offline:.0f} samples/s; load average {os.getloadavg()[0]:.2f}")
        print(f"onnxruntime alone, --threads {args.threads}: {1000 * per_row[1]:.2f} ms per row at batch 1, "
              f"{1000 * per_row[64]:.2f} at batch 64: batching can gain at most {ceiling:.1f}x here (the ceiling of "
              f"batched / unbatched while onnxruntime is the bottleneck both ways)")
        print(f"{'format':>6} {'clients':>7} {'batching':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'of offline':>10}")
        table = {}
        for batch in (64, 1):
            proc, port = start(path, batch, args.threads)
            try:
                for form in forms:
                    load_test(port, bodies[form], 4, 1.0)  # warm up (and every body is answered 200)
                    for clients in [int(c) for c in args.clients.split(",")]:
                        if args.client == "wrk":
                            rps, p50, p99 = wrk_test(port, scripts[form], clients, args.seconds)
                        else:
                            count, lat, wall = load_test(port, bodies[form], clients, args.seconds)
                            rps = count / wall
                            p50, p99 = np.percentile(lat, 50) * 1e3, np.percentile(lat, 99) * 1e3
                        table[form, clients, batch] = rps
                        print(f"{form:>6} {clients:>7} {'on' if batch > 1 else 'off':>8} {rps:>8.1f} {p50:>8.1f} "
                              f"{p99:>8.1f} {rps / offline:>9.0%}")
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
        for form in forms:
            for clients in [int(c) for c in args.clients.split(",")]:
                if (form, clients, 64) in table and (form, clients, 1) in table:
                    gain = table[form, clients, 64] / table[form, clients, 1]
                    print(f"{form}, {clients} clients: batched / unbatched = {gain:.1f}x "
                          f"({gain / ceiling:.0%} of the {ceiling:.1f}x ceiling)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
