"""seqkit train in 2 processes (DistributedDataParallel, gloo on CPU, over loopback) through --nproc 2.

One scenario, to keep CI short (two launches of 2 processes): a 2-process run on a folder of shards is killed
mid-run (SIGKILL to rank 1) and must fail within a bounded time with one clear line; --resume continues from
the last checkpoint; the whole trajectory then matches a 1-process run with the same global batch and seed.
A second test joins two processes by hand and hangs one: the other fails after SEQKIT_DIST_TIMEOUT seconds.

Tolerance: losses agree to rtol 1e-5 (measured: ~1e-7), accuracies to 1e-6 (the same predictions; one flipped
would move it by 1/36; they are float sums of batch means). Exact equality cannot hold: with
2 processes each batch's gradient is two half sums added by all-reduce instead of one sum, and the epoch's loss
sums are added in another order; float addition is not associative, so the last bits differ and drift slowly.
"""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from seqkit.cli import cli

pytestmark = pytest.mark.slow

# 36 training samples (val fraction 0.1, stratified: 4 of 40 held out), global batch 5: the full batches split
# 3 + 2 between the processes and the last batch (1 sample) leaves process 1 without a sample: both weightings
# of seqkit.training.distributed are exercised.
ARGS = ["train", "--hidden-size", "8", "--batch-size", "5", "--lr", "1e-2", "--patience", "0", "--val-fraction",
        "0.1", "--no-progress", "--seed", "3"]


def launch(args, mark):
    env = {**os.environ, "SEQKIT_TEST_MARK": mark, "SEQKIT_DIST_TIMEOUT": "60"}
    return subprocess.Popen([sys.executable, "-m", "seqkit", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def pids_of_rank(mark: str, rank: int) -> list[int]:
    """Processes started for this test (they inherit SEQKIT_TEST_MARK) that torch's launcher made rank ``rank``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            env = set((proc / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if f"SEQKIT_TEST_MARK={mark}".encode() in env and f"RANK={rank}".encode() in env:
            found.append(int(proc.name))
    return found


def history(run: Path) -> list[dict]:
    return json.loads((run / "metrics.json").read_text())["history"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the rank to kill through /proc")
def test_two_processes_fail_clearly_when_one_is_killed_resume_and_match_one_process(tmp_path, motions):
    data, _ = motions  # 40 samples in shards of 9
    run, mark = tmp_path / "two", uuid.uuid4().hex
    job = launch([*ARGS, "--data", str(data), "--epochs", "500", "--run-dir", str(run), "--nproc", "2"], mark)
    deadline = time.monotonic() + 240
    while not (run / "checkpoint.pt").exists():  # the first epoch is done and saved
        assert job.poll() is None, job.communicate()
        assert time.monotonic() < deadline, "no epoch finished in 240 s"
        time.sleep(0.1)
    victims = pids_of_rank(mark, 1)
    assert len(victims) == 1
    os.kill(victims[0], signal.SIGKILL)
    started = time.monotonic()
    out, err = job.communicate(timeout=120)
    assert job.returncode == 1 and time.monotonic() - started < 60  # no hang
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    assert "process 1 of 2" in err and "SIGKILL" in err and "--resume" in err
    assert not out

    done = len(torch.load(run / "checkpoint.pt", weights_only=True)["history"])
    assert 1 <= done < 500
    epochs = str(done + 2)
    job = launch([*ARGS, "--data", str(data), "--epochs", epochs, "--run-dir", str(run), "--nproc", "2", "--resume",
                  "--json"], mark)
    out, err = job.communicate(timeout=300)
    assert job.returncode == 0, err
    result = json.loads(out)  # rank 0 alone printed
    two = history(run)
    assert len(two) == done + 2 and result["history"] == two
    assert json.loads((run / "config.json").read_text())["processes"] == 2

    one = tmp_path / "one"
    outcome = CliRunner().invoke(cli, [*ARGS, "--data", str(data), "--epochs", epochs, "--run-dir", str(one)])
    assert outcome.exit_code == 0, outcome.output
    reference = history(one)
    for a, b in zip(reference, two):
        for key in ("train_loss", "val_loss"):
            assert b[key] == pytest.approx(a[key], rel=1e-5), (a["epoch"], key)
        for key in ("train_accuracy", "val_accuracy"):  # one prediction flipped would move it by >= 1/36
            assert b[key] == pytest.approx(a[key], abs=1e-6), (a["epoch"], key)
    best = [json.loads((r / "metrics.json").read_text())["best_epoch"] for r in (one, run)]
    assert best[0] == best[1]


HANG = """
import sys, time
from seqkit.errors import SeqkitError
from seqkit.training.distributed import join
try:
    with join("cpu") as group:
        if group.rank == 1:
            time.sleep(15)  # hung: never reaches the collective
            sys.exit(0)
        group.sum({"loss": 1.0})
except SeqkitError as exc:
    print(exc)
    sys.exit(3)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="gloo over the 'lo' interface")
def test_a_hung_process_makes_the_other_fail_within_the_timeout_with_one_line():
    """Two processes joined by hand (torchrun's environment, a free loopback port); one never reaches the
    collective: the other gives up after SEQKIT_DIST_TIMEOUT seconds with one line instead of waiting forever."""
    from seqkit.training.launch import free_port

    env = {**os.environ, "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
           "SEQKIT_DIST_TIMEOUT": "3", "GLOO_SOCKET_IFNAME": "lo"}
    procs = [subprocess.Popen([sys.executable, "-c", HANG], env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    try:
        out, err = procs[0].communicate(timeout=120)
    finally:
        procs[1].kill()
        procs[1].wait()
    assert procs[0].returncode == 3, err
    assert out.startswith("process 0 of 2 lost the others") and "--resume" in out and len(out.splitlines()) == 1
    assert "Timed out" in out or "timed out" in out


def test_the_killed_process_is_reported_not_the_one_the_agent_stopped_after_it():
    """The agent stops the others with SIGTERM; seqkit's handler ends such a process cleanly with exit code 143,
    which is no more the cause than a process killed by the signal itself (-15)."""
    from types import SimpleNamespace

    from seqkit.training.launch import _root_cause_order

    killed = SimpleNamespace(message="", exitcode=-signal.SIGKILL, timestamp=20)
    for stopped_code in (-signal.SIGTERM, 128 + signal.SIGTERM):
        failures = {0: SimpleNamespace(message="", exitcode=stopped_code, timestamp=10), 1: killed}
        assert min(failures, key=lambda r: _root_cause_order(r, failures[r])) == 1, stopped_code
