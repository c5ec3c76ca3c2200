"""A ``seqkit serve`` process for tests: free loopback ports, torch blocked in the child, stopped with SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from deploy_cases import BLOCK as TORCH_BLOCK

#: the server's process: any import of torch, onnx or onnxscript fails (a torch-free server)
BLOCK = TORCH_BLOCK + """
from seqkit.cli import main
main(sys.argv[1:])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, models: dict[str, str], *args: str, cwd=None, python: str = sys.executable):
        self.port, self.grpc_port = free_port(), free_port()
        argv = ["serve", *[f"{n}={p}" for n, p in models.items()], "--port", str(self.port),
                "--grpc-port", str(self.grpc_port), *args]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MLSERVER_DEBUG": "false"}
        self.log = open(os.path.join(cwd or ".", f"server-{self.port}.log"), "w+")
        self.proc = subprocess.Popen([python, "-c", BLOCK, *argv], cwd=cwd, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"seqkit serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if self.get("/v2/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"seqkit serve was not ready after 90 s:\n{self.output()}")
            time.sleep(0.2)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def get(self, path: str):
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def post(self, path: str, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"seqkit serve did not stop on SIGTERM:\n{self.output()}") from None
        return self.proc.returncode
