"""Training in several processes on torch.distributed: DistributedDataParallel, launched by ``torchrun``.

One training job is ``size`` processes (ranks). ``torchrun`` (or ``seqkit train --nproc N``, which runs
torch's own elastic launcher on this machine) starts them with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT`` set; :func:`join` joins their process group (gloo on CPU, nccl on CUDA).

What each rank does, so that N processes follow the same trajectory as one with the same ``batch_size``:

- every rank draws the same epoch order and cuts the same *global* batches of ``batch_size`` samples; rank r
  takes every N-th sample of each, starting at r (:meth:`Group.mine`: DistributedSampler's strided split
  without padding), so it reads only its own samples;
- its loss is weighted by ``N * local / global`` (:meth:`Group.weight`) before DDP averages the gradients, which
  makes the averaged gradient the gradient of the global batch's mean loss, also for a last, smaller batch;
  a rank left without samples in a last batch takes part with a zero-weighted sample;
- sums of losses and metrics are added up across ranks after each pass (:meth:`Group.sum`);
- rank 0 alone decides and writes the run folder and reads the checkpoint, and broadcasts what it read
  (:meth:`Group.agree`): every rank resumes from rank 0's files, without a shared file system.

Exact equality with one process cannot hold: the gradient of a batch is summed in another order (two half
sums added by all-reduce instead of one sum), and float addition is not associative; the differences start at
~1e-7 relative and grow slowly with the number of steps. docs/training.md states the tolerance the tests use.

A rank that dies or hangs makes the others fail within ``SEQKIT_DIST_TIMEOUT`` seconds (default 300) with one
line, instead of waiting forever; the launcher (:mod:`seqkit.training.launch`) names the rank that failed first.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from seqkit.errors import SeqkitError, described

TIMEOUT_ENV, DEFAULT_TIMEOUT = "SEQKIT_DIST_TIMEOUT", 300.0
PEER_MARK = "lost the others"
_PEER_SIGNS = ("connection closed by peer", "connection reset", "broken pipe", "timed out", "timeout",
               "gloo", "nccl", "socket", "terminated", "watchdog")


@dataclass(frozen=True)
class World:
    """Where this process stands: rank among ``size`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def world_from_env(env: dict | None = None) -> World:
    """The :class:`World` torchrun describes in ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (one process when
    ``WORLD_SIZE`` is not set)."""
    env = os.environ if env is None else env
    if "WORLD_SIZE" not in env:
        return World()
    try:
        size, rank = int(env["WORLD_SIZE"]), int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise SeqkitError(f"RANK={env.get('RANK')!r} WORLD_SIZE={env.get('WORLD_SIZE')!r} "
                          f"LOCAL_RANK={env.get('LOCAL_RANK')!r} are not whole numbers; start the processes with "
                          f"torchrun or seqkit train --nproc N") from None
    if size < 1 or not 0 <= rank < size or local < 0:
        raise SeqkitError(f"RANK={rank} does not fit WORLD_SIZE={size}; start the processes with torchrun or "
                          f"seqkit train --nproc N")
    if size > 1 and "RANK" not in env:
        raise SeqkitError(f"WORLD_SIZE={size} is set but RANK is not; start the processes with torchrun or "
                          f"seqkit train --nproc N")
    return World(rank, size, local)


def timeout_seconds() -> float:
    """How long a rank waits for the others in a collective (``SEQKIT_DIST_TIMEOUT``, seconds)."""
    raw = os.environ.get(TIMEOUT_ENV)
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise SeqkitError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    if not value > 0:
        raise SeqkitError(f"{TIMEOUT_ENV} must be > 0 seconds, got {raw}")
    return value


def is_peer_failure(exc: BaseException) -> bool:
    """True for errors of a collective whose peer died, hung or closed its connection."""
    if isinstance(exc, dist.DistError):
        return True
    return isinstance(exc, RuntimeError) and any(s in str(exc).lower() for s in _PEER_SIGNS)


class Group:
    """One rank's view of its training job; with ``size`` 1 every method is the plain one-process step."""

    def __init__(self, world: World = World(), backend: str | None = None):
        self.world, self.backend = world, backend

    @property
    def rank(self) -> int:
        return self.world.rank

    @property
    def size(self) -> int:
        return self.world.size

    @property
    def main(self) -> bool:
        return self.world.main

    def device(self, name: str) -> str:
        """The device this rank trains on: ``cuda`` becomes ``cuda:LOCAL_RANK`` in a job of several processes."""
        if self.size == 1:
            return name
        if name.startswith("cuda:"):
            raise SeqkitError(f"device {name!r} names one GPU, but each of the {self.size} processes takes the GPU "
                              f"of its LOCAL_RANK; use --device cuda")
        return f"cuda:{self.world.local_rank}" if name == "cuda" else name

    def check_batch(self, batch_size: int) -> None:
        if batch_size < self.size:
            raise SeqkitError(f"batch size {batch_size} is smaller than the {self.size} processes: each process takes "
                              f"a share of every batch; use --batch-size {self.size} or more (it is the global batch)")

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` in DistributedDataParallel (its gradients averaged across ranks), or as it is."""
        if self.size == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device = next(model.parameters()).device
        return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)

    def mine(self, batch: Sequence[int]) -> list[int]:
        """This rank's share of a global batch: every ``size``-th index, starting at ``rank``."""
        return list(batch[self.rank::self.size]) if self.size > 1 else list(batch)

    def weight(self, local: int, total: int) -> float:
        """Factor on this rank's mean loss so that DDP's gradient average is the global batch's mean gradient."""
        return 1.0 if self.size == 1 else self.size * local / total

    def sum(self, totals: dict[str, float]) -> dict[str, float]:
        """``totals`` summed over ranks, key by key (in rank order: the same floats on every rank)."""
        if self.size == 1:
            return dict(totals)
        gathered: list[Any] = [None] * self.size
        dist.all_gather_object(gathered, dict(totals))
        out: dict[str, float] = {}
        for part in gathered:
            for key, value in part.items():
                out[key] = out.get(key, 0.0) + value
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if self.size == 1:
            return obj
        box = [obj if self.main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def agree(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` run on rank 0 alone, its result (or its SeqkitError) on every rank."""
        if self.size == 1:
            return fn()
        outcome = None
        if self.main:
            try:
                outcome = ("ok", fn())
            except SeqkitError as exc:
                outcome = ("error", str(exc))
            except Exception as exc:
                self.broadcast(("crash", f"{type(exc).__name__}: {exc}"))
                raise
        kind, value = self.broadcast(outcome)
        if kind == "ok":
            return value
        raise SeqkitError(value if kind == "error" else f"process 0 failed ({value}); see its message")

    def barrier(self) -> None:
        if self.size > 1:
            dist.barrier()


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N`` as a torch device; a one-line error for CUDA that is not there or another
    name."""
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):  # "cuda" or "cuda:N"
        if not torch.cuda.is_available():
            raise SeqkitError(f"device {name!r} requested but PyTorch {torch.__version__} sees no CUDA GPU; "
                              f"use --device cpu")
        return torch.device(name)
    raise SeqkitError(f"unknown device {name!r}; use cpu, cuda or cuda:N")


def current() -> Group:
    """This process's :class:`Group` as it stands: the joined process group, else one process."""
    if dist.is_available() and dist.is_initialized():
        return Group(World(dist.get_rank(), dist.get_world_size(), world_from_env().local_rank), dist.get_backend())
    return Group()


@contextlib.contextmanager
def join(device: str = "cpu") -> Iterator[Group]:
    """The :class:`Group` of this process: a one-process group, the process group the caller already set up,
    or (under torchrun) a process group joined here with gloo (CPU) or nccl (CUDA) and left at the end.

    A collective that fails because a peer died or hung becomes one :class:`SeqkitError` line.
    """
    owned = False
    if dist.is_available() and dist.is_initialized():
        joined = current()
        world, backend = joined.world, joined.backend
    else:
        world = world_from_env()
        backend = None
        if world.size > 1:
            if not dist.is_available():
                raise SeqkitError("this PyTorch build has no torch.distributed; install the standard build")
            for name in ("MASTER_ADDR", "MASTER_PORT"):
                if name not in os.environ:
                    raise SeqkitError(f"WORLD_SIZE={world.size} but {name} is not set; start the processes with "
                                      f"torchrun or seqkit train --nproc N")
            cuda = resolve_device(device).type == "cuda"  # CUDA missing or an unknown name: refused here
            backend = "nccl" if cuda else "gloo"
            if cuda:
                torch.cuda.set_device(world.local_rank)
            try:
                dist.init_process_group(backend, init_method="env://", rank=world.rank, world_size=world.size,
                                        timeout=timedelta(seconds=timeout_seconds()))
            except Exception as exc:
                raise SeqkitError(f"process {world.rank} of {world.size} could not join the others at "
                                  f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']} ({described(exc)[:200]}); "
                                  f"check the address, the port and that every process started") from None
            owned = True
    group = Group(world, backend)
    try:
        yield group
    except Exception as exc:
        if world.size > 1 and not isinstance(exc, SeqkitError) and is_peer_failure(exc):
            raise SeqkitError(f"process {world.rank} of {world.size} {PEER_MARK} ({described(exc)[:200]}); a process "
                              f"died or hung; the run folder keeps the last finished epoch: continue with "
                              f"--resume") from None
        raise
    finally:
        if owned:
            with contextlib.suppress(Exception):
                dist.destroy_process_group()
