"""Gradient diagnostics: how much does the last output of a recurrent cell still depend on early inputs?

For a cell (any registered one: the contract ``forward(x, lengths, state) -> (outputs, state)`` is all that is
used) and inputs ``x`` ``[batch, time, features]``, :func:`jacobian_norms` measures, for every step ``t``,

    || d outputs[:, T-1] / d x[:, t] ||   (Frobenius norm of the [output_size, features] Jacobian per sample)

the quantity that vanishes in a plain RNN (Bengio et al. 1994; Pascanu et al. 2013) and that gates are meant to
keep alive. The whole Jacobian comes from a single backward pass (one per 2048 rows for large cells): the batch
is repeated once per output unit and each copy back-propagates its own unit. (For a bidirectional cell, the
backward direction's half of ``outputs[:, T-1]`` has seen only ``x[:, T-1]``.) :func:`measure_cells` does this
for freshly initialised cells over several seeds, :func:`measure_composition` for the cell of a (trained) model,
fed by the model's own encoder; :func:`plot` draws profiles on one log-scale PNG.
See docs/gradients.md for what the numbers say.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from seqkit.core.cell import CellConfig
from seqkit.core.compose import eval_mode
from seqkit.core.plugins import Plugins, load_plugins
from seqkit.errors import ConfigError, SeqkitError
from seqkit.files import atomic_path

#: rows of the printed table: steps back from the last one (T-1-t)
TABLE_DISTANCES = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
MAX_REPEAT_BATCH = 2048  # rows per backward pass when the batch is repeated per output unit


@dataclass
class CellSpec:
    """A cell to measure: registered ``name``, cell ``options``, and the label it gets in tables and plots."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self):
        if not self.label:
            opts = ",".join(f"{k}={json.dumps(v)}" for k, v in self.options.items())
            self.label = f"{self.name}({opts})" if opts else self.name


@dataclass
class Profile:
    """Jacobian norms of one cell: ``norms[t]`` is the mean over batch and seeds, ``per_seed[s][t]`` per seed."""

    label: str
    cell: str
    options: dict[str, Any]
    hidden_size: int
    norms: list[float]
    per_seed: list[list[float]]


@dataclass
class GradientReport:
    length: int
    batch: int
    seeds: list[int]
    input: str
    profiles: list[Profile]

    def to_dict(self) -> dict[str, Any]:
        return {"measure": "||d outputs[:, T-1] / d x[:, t]|| (Frobenius, mean over batch and seeds)",
                "length": self.length, "batch": self.batch, "seeds": self.seeds, "input": self.input,
                "profiles": [dict(vars(p)) for p in self.profiles]}

    def distances(self) -> list[int]:
        """Steps back from the end shown in the table (those that exist for this length, plus the first step)."""
        ds = [d for d in TABLE_DISTANCES if d < self.length]
        return ds + ([self.length - 1] if ds[-1] != self.length - 1 else [])


def jacobian_norms(cell: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``[batch, time]``: Frobenius norm of d ``outputs[b, T-1, :]`` / d ``x[b, t, :]`` for each sample and step.

    ``cell`` follows the :class:`seqkit.Cell` contract; it is run in eval mode on full-length sequences.
    """
    if x.dim() != 3 or x.shape[1] < 1:
        raise SeqkitError(f"inputs must be [batch, time, features] with time >= 1, got shape {tuple(x.shape)}")
    batch, time, features = x.shape
    with eval_mode(cell):
        with torch.no_grad():
            out_size = cell(x[:1, :1])[0].shape[-1]
        per_pass = max(1, MAX_REPEAT_BATCH // batch)
        sq = x.new_zeros(batch, time)
        for start in range(0, out_size, per_pass):
            units = torch.arange(start, min(out_size, start + per_pass))
            k = len(units)
            xr = x.detach().repeat(k, 1, 1).requires_grad_(True)  # copy j of the batch answers for unit start+j
            with torch.enable_grad():
                last = cell(xr)[0][:, -1, :].view(k, batch, out_size)
                picked = last[torch.arange(k), :, units].sum()
                (grad,) = torch.autograd.grad(picked, xr)
            sq += grad.view(k, batch, time, features).pow(2).sum(dim=(0, 3))
    return sq.sqrt()


def _inputs(batch: int, time: int, features: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(10_000 + seed)
    return torch.randn(batch, time, features, generator=gen)


def _check(length: int, batch: int, seeds: Sequence[int]) -> None:
    if not isinstance(length, int) or length <= 0:
        raise ConfigError(f"length must be a positive number of time steps, got {length!r}")
    if not isinstance(batch, int) or batch <= 0:
        raise ConfigError(f"batch must be a positive integer, got {batch!r}")
    if not seeds or any(not isinstance(s, int) or s < 0 for s in seeds):
        raise ConfigError(f"seeds must be one or more non-negative integers, got {list(seeds)!r}")


def measure_cells(cells: Sequence[CellSpec | str], length: int = 100, hidden_size: int = 128,
                  seeds: Sequence[int] = (0, 1, 2), batch: int = 8, input_size: int = 2,
                  plugins: Plugins | None = None) -> GradientReport:
    """Jacobian norm profiles of freshly initialised cells (seed ``s`` sets weights and N(0, 1) inputs)."""
    _check(length, batch, seeds)
    if not cells:
        raise ConfigError("give at least one cell to measure")
    plugins = plugins or load_plugins()
    specs = [CellSpec(c) if isinstance(c, str) else c for c in cells]
    classes = [plugins.cell(s.name) for s in specs]  # unknown names fail before any work
    profiles = []
    for spec, cls in zip(specs, classes):
        per_seed = []
        for seed in seeds:
            torch.manual_seed(seed)
            cell = cls(input_size, CellConfig(hidden_size=hidden_size, options=dict(spec.options)))
            per_seed.append(jacobian_norms(cell, _inputs(batch, length, input_size, seed)).mean(0))
        profiles.append(_profile(spec.label, spec.name, spec.options, hidden_size, per_seed))
    return GradientReport(length, batch, list(seeds), f"N(0, 1), {input_size} features", profiles)


def measure_composition(composition, length: int = 100, seeds: Sequence[int] = (0, 1, 2), batch: int = 8,
                        label: str | None = None, data: Any = None) -> GradientReport:
    """Jacobian norm profile of a composed (e.g. trained) model's cell, fed by its task's encoder.

    Inputs are the task's random example inputs at full length ``length`` (seed ``s``), or, with ``data`` (a
    dataset name or path the task loads, split "test", or loaded samples), ``batch`` samples drawn from it per
    seed (then the data set the length). The Jacobian is taken with respect to the features the encoder hands
    to the cell.
    """
    _check(length, batch, seeds)
    model, task = composition.model, composition.task
    if isinstance(data, (str, os.PathLike)):
        data = task.load_data(os.fspath(data), "test")
    per_seed = []
    for seed in seeds:
        if data is None:
            inputs = task.example_inputs(batch, length, seed=seed, full_lengths=True)
        else:
            rng = np.random.default_rng(seed)
            picked = rng.choice(len(data), size=min(batch, len(data)), replace=False)
            inputs, _ = task.collate([data[int(i)] for i in picked])
        with torch.no_grad():
            features, lengths = model.encoder(*inputs)
        if lengths is not None and bool((lengths != features.shape[1]).any()):
            raise SeqkitError("the data hold sequences of different lengths; gradient profiles need equal lengths: "
                              "measure without data (random full-length inputs) or on equal-length data")
        if per_seed and features.shape[1] != len(per_seed[0]):
            raise SeqkitError("the data hold sequences of different lengths; gradient profiles need equal lengths")
        per_seed.append(jacobian_norms(model.cell, features.float()).mean(0))
    cfg = composition.cell_config
    profile = _profile(label or f"{composition.cell_name} ({composition.task_name})", composition.cell_name,
                       dict(cfg.options), cfg.hidden_size, per_seed)
    source = "task example inputs" if data is None else "data samples"
    return GradientReport(len(per_seed[0]), batch, list(seeds), f"{source} of task '{composition.task_name}'",
                          [profile])


def combine(reports: Sequence[GradientReport]) -> GradientReport:
    """One report holding the profiles of several (e.g. one per trained run), for one table and one plot."""
    first = reports[0]
    for r in reports[1:]:
        if r.length != first.length:
            raise SeqkitError(f"cannot put profiles of length {first.length} and {r.length} on one plot; "
                              f"measure runs of one sequence length together")
    inputs = list(dict.fromkeys(r.input for r in reports))
    return GradientReport(first.length, first.batch, first.seeds, "; ".join(inputs),
                          [p for r in reports for p in r.profiles])


def _profile(label, name, options, hidden_size, per_seed: list[torch.Tensor]) -> Profile:
    stacked = torch.stack(per_seed)
    return Profile(label, name, dict(options), hidden_size, stacked.mean(0).tolist(), stacked.tolist())


def plot(report: GradientReport, path) -> None:
    """All profiles on one log-scale plot (x: steps back from the last step) as a PNG; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2), dpi=110)
    ax = fig.add_subplot()
    back = np.arange(report.length)  # t = T-1-back
    for p in report.profiles:
        values = np.asarray(p.norms[::-1], dtype=float)
        ax.plot(back, np.where(values > 0, values, np.nan), label=p.label, lw=1.6)
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the last step (T-1-t)")
    ax.set_ylabel("||d out_{T-1} / d x_t||")
    hidden = sorted({p.hidden_size for p in report.profiles})
    ax.set_title(f"T={report.length}, hidden {','.join(map(str, hidden))}, mean of {report.batch} x "
                 f"{len(report.seeds)} seed(s); input {report.input}", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise SeqkitError(f"cannot write {path}: folder {folder} does not exist; create it first")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def fmt(value: float) -> str:
    return "0" if value == 0 else f"{value:.2e}" if math.isfinite(value) else str(value)
