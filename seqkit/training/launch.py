"""``seqkit train --nproc N``: the same command in N processes on this machine, under torch.distributed's elastic
agent (what ``torchrun --standalone`` runs), joined over loopback; the one-line report of the process that failed
first. The processes themselves join their group with :func:`seqkit.training.distributed.join`."""
from __future__ import annotations

import os
import signal
import socket
import sys
import uuid
from collections.abc import Sequence

from seqkit.errors import SeqkitError
from seqkit.training.distributed import PEER_MARK

LAUNCHED_ENV = "SEQKIT_NPROC"  # set by launch(): its processes leave printing their errors to it


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def launch(nproc: int, args: Sequence[str], module: str = "seqkit") -> None:
    """``python -m MODULE ARGS`` in ``nproc`` processes on this machine, joined over loopback, under
    torch.distributed's elastic agent (what ``torchrun --standalone --nproc-per-node N`` runs).

    Returns when every process succeeded; otherwise raises one :class:`SeqkitError` line naming the process that
    failed first (the agent stops the others at once).
    """
    if nproc < 1:
        raise SeqkitError(f"--nproc must be at least 1, got {nproc}")
    if "WORLD_SIZE" in os.environ:
        raise SeqkitError("--nproc starts its own processes, but this one already runs under torchrun "
                          f"(WORLD_SIZE={os.environ['WORLD_SIZE']}); leave --nproc out")
    import logging

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)  # seqkit says what failed
    env = {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // nproc)), "GLOO_SOCKET_IFNAME": _loopback()}
    saved = {k: os.environ.get(k) for k in (*env, LAUNCHED_ENV)}
    for key, value in env.items():
        if value and key not in os.environ:
            os.environ[key] = value
    os.environ[LAUNCHED_ENV] = str(nproc)
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
                          rdzv_backend="c10d", rdzv_endpoint=f"127.0.0.1:{free_port()}", max_restarts=0,
                          monitor_interval=0.1, local_addr="127.0.0.1", rdzv_configs={"timeout": 120})
    try:
        elastic_launch(config, sys.executable)("-m", module, *args)
    except ChildFailedError as exc:
        failures = exc.failures
        rank = min(failures, key=lambda r: _root_cause_order(r, failures[r]))
        failure = failures[rank]
        recorded = isinstance(failure.error_file_data.get("message"), str) and failure.error_file != "<N/A>"
        raise SeqkitError(describe_failure(rank, nproc, failure.exitcode, failure.pid,
                                           failure.message if recorded else "")) from None
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _root_cause_order(rank: int, failure) -> tuple:
    """Which failure of a job to report: a process that waited in vain for a hung peer (it names the wait), then
    one that failed by itself (killed, or its own error), then one that saw its peer's connection close, then
    one the agent stopped (SIGTERM: killed by it, or exit code 143 where seqkit's own handler ended the process
    cleanly) after the first failure; earlier before later."""
    message = str(failure.message)
    peer = PEER_MARK in message
    stopped = failure.exitcode in (-signal.SIGTERM, 128 + signal.SIGTERM)
    return (not (peer and "timed out" in message.lower()), peer, stopped, failure.timestamp, rank)


def record_failure(exc: BaseException) -> bool:
    """In a process started by :func:`launch`: hand ``exc``'s message to the launcher (through the error file the
    elastic agent names in ``TORCHELASTIC_ERROR_FILE``), which prints it once; True when handed over."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not path or LAUNCHED_ENV not in os.environ:
        return False
    import json
    import time

    try:
        with open(path, "w") as f:
            json.dump({"message": str(exc), "timestamp": int(time.time())}, f)
    except OSError:
        return False
    return True


def describe_failure(rank: int, size: int, exitcode: int, pid: int | None = None, message: str = "") -> str:
    """One line for a process of a job that ended with ``exitcode`` (negative: killed by that signal)."""
    if message:
        return f"{message} [process {rank} of {size}" + (f", pid {pid}" if pid and pid > 0 else "") + \
            "; the others were stopped]"
    who = f"process {rank} of {size}" + (f" (pid {pid})" if pid and pid > 0 else "")
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        how = f"was killed by {name}"
    else:
        how = f"exited with code {exitcode} (its message is above)"
    return (f"distributed training failed: {who} {how}; the others were stopped. The run folder keeps the last "
            f"finished epoch: continue with --resume --run-dir RUN")


def _loopback() -> str:
    """The name of the loopback interface, for gloo's sockets (``lo`` on Linux, ``lo0`` on macOS)."""
    try:
        names = {name for _, name in socket.if_nameindex()}
    except OSError:
        return ""
    return next((n for n in ("lo", "lo0") if n in names), "")
