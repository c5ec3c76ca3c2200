"""PyTorch eager vs onnxruntime, per (cell, batch, time, hidden) point: what ``seqkit bench`` measures.

Each point builds the composition (or rebuilds a file's from its metadata: the architecture decides the time,
not the weights), exports it with the asked lowering(s), and times the PyTorch model and each onnxruntime
session on the same inputs (full-length batches with ``lengths``, as served). Both sides are pinned to the same
thread count. Timing: warm-up calls, then ``repeats`` samples per engine, *interleaved* (the engines take turns
and swap order every round, so a burst of load hits both), each sample the mean of enough back-to-back calls
to last ~2 ms; the result is the median sample, and the spread is the interquartile range over the median.

Loaded machines lie: :func:`machine` records the load average, and the result warns when it is high or when a
point's samples spread widely.
"""
from __future__ import annotations

import math
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import onnx
import onnxruntime as ort
import torch

from seqkit._version import __version__
from seqkit.core.compose import Composition, compose, compose_from_config
from seqkit.core.config import CellConfig
from seqkit.errors import ProviderError, SeqkitError
from seqkit.runtime.providers import PROVIDERS
from seqkit.runtime.session import PRECISIONS, open_session

DEFAULT_CELLS = ("rnn", "lstm", "gru")
DEFAULT_BATCHES = (1, 32, 64)
DEFAULT_TIMES = (20, 200)
DEFAULT_HIDDEN = (128, 256)
#: a sample lasts at least this long (several calls when one is shorter), so timer resolution does not matter
SAMPLE_SECONDS = 0.002
#: interquartile range / median above which a point is flagged as noisy
NOISY_SPREAD = 0.25


@dataclass
class Point:
    cell: str
    hidden: int
    batch: int
    time: int
    torch_ms: float
    torch_spread: float
    ort_ms: dict[str, float]          # lowering -> median ms
    ort_spread: dict[str, float]

    def ratio(self, lowering: str) -> float:
        """torch time / onnxruntime time: > 1 means onnxruntime is faster."""
        return self.torch_ms / self.ort_ms[lowering]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = {k: round(self.ratio(k), 4) for k in self.ort_ms}
        return d


@dataclass
class BenchResult:
    points: list[Point]
    lowerings: list[str]
    settings: dict
    machine: dict
    warnings: list[str] = field(default_factory=list)
    model: str | None = None

    def geomean(self, lowering: str, cell: str | None = None) -> float:
        ratios = [p.ratio(lowering) for p in self.points if cell is None or p.cell == cell]
        return math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else float("nan")

    def summary(self) -> dict:
        """Per lowering: geometric mean and minimum of torch/ort per cell and overall."""
        cells = list(dict.fromkeys(p.cell for p in self.points))
        out = {}
        for low in self.lowerings:
            per = {}
            for cell in cells + [None]:
                pts = [p for p in self.points if cell is None or p.cell == cell]
                per[cell or "all"] = {"geomean": round(self.geomean(low, cell), 4),
                                      "min": round(min(p.ratio(low) for p in pts), 4)}
            out[low] = per
        return out

    def to_dict(self) -> dict:
        return {"model": self.model, "settings": self.settings, "machine": self.machine, "warnings": self.warnings,
                "points": [p.to_dict() for p in self.points], "summary": self.summary()}


def machine(threads: int) -> dict:
    """Where and with what the numbers were taken."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "load_average": _load(), "threads": threads,
            "python": platform.python_version(), "torch": torch.__version__, "onnxruntime": ort.__version__,
            "onnx": onnx.__version__, "seqkit": __version__, "date": time.strftime("%Y-%m-%d %H:%M")}


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # not on every platform
        return None


def load_warning(load: list[float] | None, cpus: int | None, threads: int, own: float = 0.0) -> str | None:
    """A warning when other work competes for the CPUs (1-minute load average above what is left free).

    ``own`` is the part of the load this process caused itself (its ``threads`` just ran): the load average
    read at the end of a run counts the benchmark's own threads, which are no competition.
    """
    if not load or not cpus:
        return None
    others = load[0] - own
    if others > max(0.5, cpus - threads):
        mine = f"of which ~{own:g} this run, " if own else ""
        return (f"the machine is loaded (1-minute load average {load[0]:.1f} on {cpus} CPUs, {mine}"
                f"{threads} used here): "
                f"timings are unreliable; compare ratios, not times, and re-run on an idle machine")
    return None


#: what a sample measures: ``wall`` (elapsed time: what a caller waits) or ``cpu`` (this process's CPU time:
#: robust to other processes on a loaded machine, but only a latency when both engines use ONE thread)
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _sample(fn, calls: int, clock=time.perf_counter) -> float:
    start = clock()
    for _ in range(calls):
        fn()
    return (clock() - start) / calls


def time_interleaved(fns: dict[str, Any], repeats: int, warmup: int = 2,
                     clock: str = "wall") -> dict[str, tuple[float, float]]:
    """``{name: (median seconds per call, spread)}``; the engines take turns, order reversed every round."""
    tick = CLOCKS[clock]
    calls = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
        once = _sample(fn, 1)
        calls[name] = max(1, min(1000, math.ceil(SAMPLE_SECONDS / max(once, 1e-7))))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            samples[name].append(_sample(fns[name], calls[name], tick))
    out = {}
    for name, values in samples.items():
        med = max(statistics.median(values), 1e-9)  # a coarse clock may read 0 for tiny calls
        if len(values) >= 4:
            q = statistics.quantiles(values, n=4)
            spread = (q[2] - q[0]) / med
        else:
            spread = (max(values) - min(values)) / med
        out[name] = (med, spread)
    return out


def _set_threads(threads: int) -> None:
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel work in a process
        pass


def _sessions(composition: Composition, lowerings: list[str], provider: str, threads: int, workdir: Path,
              precision: str) -> dict[str, Any]:
    from seqkit.onnx.export import to_onnx

    sessions = {}
    for low in lowerings:
        proto = to_onnx(composition, lowering=low, provider=provider)
        path = workdir / f"{composition.cell_name}-{low}.onnx"
        onnx.save(proto, path)
        sessions[low] = open_session(str(path), provider, threads=threads, precision=precision)
    return sessions


def _torch_side(composition: Composition, provider: str, precision: str):
    model = composition.model.eval()
    device = "cuda" if provider == "cuda" else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise SeqkitError("--provider cuda needs a CUDA build of PyTorch with a GPU for the PyTorch side; "
                              "this torch has none")
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        model = model.to(device)
    return model, device


def _bench_point(composition, model, device, sessions, batch, steps, repeats, clock="wall") -> tuple:
    inputs = composition.task.example_inputs(batch, steps, full_lengths=True)
    feeds = {spec.name: t.numpy() for spec, t in zip(composition.task.inputs(), inputs)}
    dev_inputs = tuple(t.to(device) for t in inputs)

    def run_torch():
        with torch.inference_mode():
            model(*dev_inputs)
        if device == "cuda":
            torch.cuda.synchronize()

    fns = {"torch": run_torch}
    for low, sess in sessions.items():
        fns[low] = (lambda s=sess: s.run(feeds))
    return time_interleaved(fns, repeats, clock=clock)


def bench_grid(cells=DEFAULT_CELLS, batches=DEFAULT_BATCHES, times=DEFAULT_TIMES, hiddens=DEFAULT_HIDDEN,
               task: str = "classification", task_config: dict | None = None, cell_config: dict | None = None,
               lowerings=("auto",), repeats: int = 15, threads: int = 2, provider: str = "cpu",
               precision: str = "float32", progress=None, clock: str = "wall") -> BenchResult:
    """Time PyTorch eager against onnxruntime over the grid ``cells x hiddens x batches x times``."""
    from seqkit.onnx.lowering.rewrite import resolve

    _check_grid(batches, times, repeats, threads, clock, provider, precision)
    lowerings = list(lowerings)
    for low in lowerings:
        resolve(low, provider)  # an unknown name fails before anything is built
    _set_threads(threads)
    info = machine(threads)
    result = BenchResult([], lowerings, _settings(task, task_config, cell_config, repeats, threads, provider,
                                                   precision, lowerings, clock), info)
    with tempfile.TemporaryDirectory(prefix="seqkit-bench-") as tmp:
        for cell in cells:
            for hidden in hiddens:
                config = CellConfig.from_dict({**(cell_config or {}), "hidden_size": hidden})
                composition = compose(cell, task, config, task_config)
                sessions = _sessions(composition, lowerings, provider, threads, Path(tmp), precision)
                model, device = _torch_side(composition, provider, precision)
                for batch in batches:
                    for steps in times:
                        timed = _bench_point(composition, model, device, sessions, batch, steps, repeats, clock)
                        point = _point(cell, hidden, batch, steps, timed, lowerings)
                        result.points.append(point)
                        if progress:
                            progress(point)
    _finish(result, threads)
    return result


def bench_model(path: str | os.PathLike, batches=DEFAULT_BATCHES, times=DEFAULT_TIMES, repeats: int = 15,
                threads: int = 2, provider: str = "cpu", precision: str = "float32", progress=None,
                clock: str = "wall") -> BenchResult:
    """Time a seqkit ONNX file against its PyTorch model rebuilt from the file's metadata (same architecture,
    random weights: the time does not depend on the weights). The file is read once, by the session that times
    it; the metadata comes from that session."""
    from seqkit.runtime.model import read_metadata

    _check_grid(batches, times, repeats, threads, clock, provider, precision)
    _set_threads(threads)
    try:
        session = open_session(str(path), provider, threads=threads, precision=precision)
    except ProviderError:
        raise
    except SeqkitError as exc:  # a damaged file, or (on a GPU) a provider that failed to start: the reason says
        raise SeqkitError(f"{path}: {exc}; give a readable ONNX file written by 'seqkit export'") from None
    meta = read_metadata(session.session)
    composition = compose_from_config(meta.get("config"), where=f"{path}: its seqkit.config metadata")
    label = (meta.get("lowering") or {}).get("requested", "file")
    sessions = {label: session}
    model, device = _torch_side(composition, provider, precision)
    info = machine(threads)
    settings = _settings(composition.task_name, None, None, repeats, threads, provider, precision, [label], clock)
    result = BenchResult([], [label], settings, info, model=str(path))
    hidden = composition.cell_config.hidden_size
    for batch in batches:
        for steps in times:
            timed = _bench_point(composition, model, device, sessions, batch, steps, repeats, clock)
            point = _point(composition.cell_name, hidden, batch, steps, timed, [label])
            result.points.append(point)
            if progress:
                progress(point)
    _finish(result, threads)
    return result


def _check_grid(batches, times, repeats, threads, clock="wall", provider="cpu", precision="float32") -> None:
    if provider not in PROVIDERS:
        raise SeqkitError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    if precision not in PRECISIONS:
        raise SeqkitError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if clock not in CLOCKS:
        raise SeqkitError(f"unknown clock {clock!r}; choose wall or cpu")
    if clock == "cpu" and (threads != 1 or provider != "cpu"):
        raise SeqkitError("--clock cpu measures this process's CPU time: a latency only with --threads 1 on the "
                          "cpu provider; use --clock wall otherwise")
    for name, values in (("batch", batches), ("time", times)):
        if not values or any(int(v) < 1 for v in values):
            raise SeqkitError(f"--{name} needs positive integers, got {list(values)}")
    if repeats < 3:
        raise SeqkitError(f"--repeats must be at least 3 for a median and a spread, got {repeats}")
    if threads < 1:
        raise SeqkitError(f"--threads must be at least 1, got {threads}")


def _settings(task, task_config, cell_config, repeats, threads, provider, precision, lowerings,
              clock="wall") -> dict:
    return {"task": task, "task_config": task_config or {}, "cell_config": cell_config or {}, "repeats": repeats,
            "threads": threads, "provider": provider, "precision": precision, "lowerings": list(lowerings),
            "clock": clock,
            "inputs": "full-length batches with lengths; medians of interleaved samples after warm-up"}


def _point(cell, hidden, batch, steps, timed, lowerings) -> Point:
    t_med, t_spread = timed["torch"]
    return Point(cell, hidden, batch, steps, round(t_med * 1e3, 4), round(t_spread, 3),
                 {low: round(timed[low][0] * 1e3, 4) for low in lowerings},
                 {low: round(timed[low][1], 3) for low in lowerings})


def _finish(result: BenchResult, threads: int) -> None:
    start = result.machine["load_average"]
    result.machine["load_average_end"] = _load()
    if result.settings.get("clock") == "cpu":
        return  # CPU time is what this process spent, whatever else runs
    for load, own in ((start, 0.0), (result.machine["load_average_end"], float(threads))):
        warning = load_warning(load, result.machine["cpus"], threads, own)
        if warning:
            result.warnings.append(warning)
            break
    noisy = [p for p in result.points
             if max([p.torch_spread, *p.ort_spread.values()]) > NOISY_SPREAD]
    if noisy:
        result.warnings.append(f"{len(noisy)} of {len(result.points)} points have samples spread more than "
                               f"{NOISY_SPREAD:.0%} around the median (marked ~): another process "
                               f"competed, or (on a small VM, even idle) threads were descheduled; compare medians, "
                               f"re-run with more --repeats")

