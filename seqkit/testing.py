"""Test helpers for plugin authors (and for seqkit's own tests).

Use them from pytest::

    from seqkit.testing import assert_cell_contract, assert_exports, seqkit_plugins  # noqa: F401 (fixture)

    def test_my_cell_exports(tmp_path):
        assert_exports(cell="mycell", task="classification", directory=tmp_path)

    def test_my_cell_keeps_the_contract():
        assert_cell_contract("mycell")

``assert_exports`` composes, exports and verifies on onnxruntime against PyTorch at shapes the file was not
traced at (batch 1, time 1, longer times, padded batches of mixed lengths). ``assert_cell_contract`` checks
the :class:`seqkit.Cell` contract in PyTorch alone: shapes, zeros after each length, and that a padded batch
gives what each sequence gives alone (outputs and final state).
"""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch

from seqkit.core.cell import CellConfig
from seqkit.core.compose import compose
from seqkit.core.plugins import Plugins, load_plugins
from seqkit.onnx.export import ExportResult, export


def _plugins(plugins: Plugins | None, extra: dict | None) -> Plugins:
    if plugins is not None and extra:
        raise ValueError("pass plugins or extra, not both")
    return plugins if plugins is not None else load_plugins(extra=extra)


def assert_exports(cell: str = "gru", task: str = "classification", cell_config: CellConfig | None = None,
                   task_config: Any = None, *, plugins: Plugins | None = None, extra: dict | None = None,
                   directory: str | Path | None = None, seed: int = 0, **export_options) -> ExportResult:
    """Compose ``cell`` and ``task``, export to ONNX and verify; fails with every mismatch listed.

    ``extra`` adds in-memory plugin modules ``{name: module}`` (see :func:`seqkit.load_plugins`). The file is
    written to ``directory`` (a temporary folder if None, removed afterwards) and the result returned.
    """
    loaded = _plugins(plugins, extra)
    problems = [str(p) for p in loaded.problems]
    composition = compose(cell, task, cell_config, task_config, seed=seed, plugins=loaded)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(directory or tmp) / f"{cell}-{task}.onnx"
        result = export(composition, path, force=True, **export_options)
        ops = onnx_ops(path)
    assert result.report is None or result.report.ok, (
        f"{cell}/{task} does not verify: " + "; ".join(result.report.failures()) +
        (f" (plugin problems: {problems})" if problems else ""))
    assert sum(ops.values()) > 0
    result.ops = ops  # top-level ONNX op counts, e.g. result.ops["Scan"]
    return result


def onnx_ops(model: str | Path | onnx.ModelProto) -> Counter:
    """Counts of the top-level ONNX op types of a model file (subgraphs such as a Scan body are not counted)."""
    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))
    return Counter(node.op_type for node in proto.graph.node)


def assert_cell_contract(cell: str, cell_config: CellConfig | None = None, *, input_size: int = 5,
                         plugins: Plugins | None = None, extra: dict | None = None, lengths=(6, 1, 4, 6),
                         atol: float = 1e-5, seed: int = 0) -> None:
    """Check a registered cell against the :class:`seqkit.Cell` contract in PyTorch.

    A padded batch with ``lengths`` must give, for each sequence, what it gives alone; outputs are zero at
    and after each length; the final state is ``[num_layers * num_directions, batch, hidden]`` per tensor and
    equals the state the sequence reaches alone; gradients reach every parameter.
    """
    cls = _plugins(plugins, extra).cell(cell)
    config = cell_config or CellConfig(hidden_size=8)
    torch.manual_seed(seed)
    module = cls(input_size, config).eval()
    lengths_t = torch.tensor(lengths, dtype=torch.int64)
    batch, time = len(lengths), max(lengths)
    x = torch.randn(batch, time, input_size)
    with torch.no_grad():
        outputs, state = module(x, lengths_t)
    assert tuple(outputs.shape) == (batch, time, module.output_size), f"outputs have shape {tuple(outputs.shape)}"
    want_state = (config.num_layers * module.num_directions, batch, config.hidden_size)
    assert isinstance(state, tuple) and len(state) == module.STATE_SIZE, "state must be a tuple of STATE_SIZE tensors"
    for s in state:
        assert tuple(s.shape) == want_state, f"state tensor shape {tuple(s.shape)}, expected {want_state}"
    for i, n in enumerate(lengths):
        assert torch.all(outputs[i, n:] == 0), f"sample {i}: outputs after its length {n} are not zero"
        with torch.no_grad():
            alone, alone_state = module(x[i:i + 1, :n], torch.tensor([n]))
        torch.testing.assert_close(outputs[i:i + 1, :n], alone, atol=atol, rtol=1e-4,
                                   msg=lambda m, i=i: f"sample {i} padded vs alone: {m}")
        for s, a in zip(state, alone_state):
            torch.testing.assert_close(s[:, i:i + 1], a, atol=atol, rtol=1e-4,
                                       msg=lambda m, i=i: f"final state of sample {i} padded vs alone: {m}")
    module.train()
    out, st = module(x, lengths_t)
    (out.sum() + sum(s.sum() for s in st)).backward()
    missing = [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient reaches {missing}"


@pytest.fixture
def seqkit_plugins() -> Plugins:
    """A fresh :class:`seqkit.core.plugins.Plugins` (every installed plugin) for one test."""
    return load_plugins()


def assert_task_contract(task: str | type, task_config: Any = None, *, data: Any = None, cell: str = "gru",
                         cell_config: CellConfig | None = None, samples: int | None = 8, batch_size: int = 4,
                         plugins: Plugins | None = None, extra: dict | None = None, directory: str | Path | None = None,
                         atol: float = 1e-4, seed: int = 0) -> dict[str, Any]:
    """Check a registered task against the :class:`seqkit.Task` contract, in PyTorch, on ``samples`` samples of
    ``data`` (a dataset name of the task, a path, or samples; None: the task's first dataset), spread over it
    (``samples=None``: all of ``data`` as the task loads it, for a ``fit()`` that needs its own collection type,
    e.g. the language model's windows of one text). Returns the
    ``evaluate()`` result of the saved run trained here.

    Checked: the declared capabilities are known names; ``fit`` then ``compose`` of the fitted task; ``collate``
    gives one tensor per input of the declared dtype and shape, and outputs of the declared shapes; ``loss`` is a
    finite scalar whose gradient reaches every parameter; ``metrics`` are finite numbers and ``main_metric`` names
    one of them (or the loss); each sample gives alone what it gives inside the padded batch; one epoch of
    ``train`` and ``evaluate`` of the saved run (which rebuilds the task with no training data: ``fitted`` values
    restored), with the baselines from the training data and from the saved run when the task declares them, and
    ``report`` / ``plots`` / ``backtest`` when it declares those. ``directory``: where the run goes (a temporary
    folder if None). Exports are :func:`assert_exports`'s (``streaming=True`` for the streaming file).
    """
    from seqkit.core.task import CAPABILITIES, Task
    from seqkit.training.config import TrainConfig
    from seqkit.training.data import subset
    from seqkit.training.evaluation import backtest, evaluate
    from seqkit.training.trainer import load_run, prepare, train

    loaded = _plugins(plugins, extra)
    name = task if isinstance(task, str) else next(n for n, e in loaded.tasks.entries.items() if e.obj is task)
    cls = loaded.task(name)
    assert issubclass(cls, Task), f"task '{name}' is not a seqkit.Task"
    unknown = set(cls.capabilities()) - set(CAPABILITIES)
    assert not unknown, f"task '{name}' declares unknown capabilities {sorted(unknown)}"
    probe = cls(cls.make_config(task_config))
    source = data if data is not None else next(iter(cls.datasets()), None)
    assert source is not None, f"task '{name}' has no dataset: pass data= (a file or samples) to check it"
    pool = probe.load_data(source, "train") if isinstance(source, (str, Path)) else source
    assert len(pool) >= 2, f"task '{name}': the data {source!r} gave {len(pool)} samples; the check needs 2 or more"
    if samples is None:  # the data as the task loads it (a task whose fit() needs its own collection type)
        given = source if isinstance(source, (str, Path)) else pool
    else:
        spread = np.linspace(0, len(pool) - 1, min(samples, len(pool))).round().astype(int)  # both ends' labels
        given = subset(pool, sorted(set(spread.tolist())))
    prepared = prepare(cell, name, given, cell_config, task_config, seed=seed, val_fraction=0.0, plugins=loaded)
    composition, chosen = prepared.composition, prepared.train_data
    model, fitted_task = composition.model, composition.task
    _check_batch(fitted_task, model, chosen, name, atol)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(directory or tmp) / f"{cell}-{name}-contract"
        config = TrainConfig(epochs=1, batch_size=batch_size, progress=False, patience=None, seed=seed)
        result = train(composition, prepared.train_data, None, config, run_dir=run_dir, sources=prepared.sources)
        if cls.can("baselines"):
            _check_scores(result.baselines, f"task '{name}': baselines() on the training data")
        reloaded = load_run(run_dir, loaded)
        assert reloaded.task.fitted == json_roundtrip(fitted_task.fitted), (
            f"task '{name}': the fitted values did not survive the saved run: {reloaded.task.fitted!r}")
        scores = evaluate(run_dir, data=chosen, plugins=loaded, plots=cls.can("plots"))
        assert np.isfinite(scores["loss"]), f"task '{name}': evaluate() gave loss {scores['loss']}"
        if cls.can("baselines"):
            _check_scores(scores["baselines"], f"task '{name}': baselines() of the saved run (train None)")
        if cls.can("plots"):
            missing = [p for p in scores.get("plots", []) if not Path(p).is_file()]
            assert not missing, f"task '{name}': plots() returned paths that were not written: {missing}"
        if cls.can("backtest"):
            assert isinstance(backtest(run_dir, data=chosen, plots=False, plugins=loaded), dict)
    return scores


def json_roundtrip(value: Any) -> Any:
    """``value`` as it comes back from JSON (tuples become lists), for comparing what a run saved."""
    return json.loads(json.dumps(value))


def _check_scores(baselines: Any, what: str) -> None:
    assert isinstance(baselines, dict), f"{what} returned {type(baselines).__name__}, not a dict of name -> scores"
    for key, scores in baselines.items():
        assert isinstance(key, str) and isinstance(scores, dict), f"{what}: {key!r} -> {scores!r}"
        bad = {k: v for k, v in scores.items() if not isinstance(v, (int, float)) or not np.isfinite(v)}
        assert not bad, f"{what}: baseline {key!r} has scores that are not finite numbers: {bad}"


def _check_batch(task, model, chosen, name: str, atol: float) -> None:
    """collate / outputs / loss / metrics on ``chosen`` as one padded batch, then each sample alone."""
    from seqkit.core.specs import DTYPES

    who = f"task '{name}'"
    batch = task.collate(chosen)
    assert isinstance(batch, tuple) and len(batch) == 2, f"{who}: collate() must return (inputs, target)"
    inputs, target = batch
    specs = task.inputs()
    assert len(inputs) == len(specs), f"{who}: collate() gave {len(inputs)} inputs, inputs() declares {len(specs)}"
    for spec, value in zip(specs, inputs):
        assert isinstance(value, torch.Tensor), f"{who}: collated input '{spec.name}' is {type(value).__name__}"
        assert value.numpy().dtype == DTYPES[spec.dtype], (
            f"{who}: input '{spec.name}' is {value.dtype}, not {spec.dtype}")
        fixed = [(i, a) for i, a in enumerate(spec.shape) if not isinstance(a, str)]
        assert value.dim() == len(spec.shape) and all(value.shape[i] == a for i, a in fixed), (
            f"{who}: input '{spec.name}' has shape {list(value.shape)}, inputs() declares {list(spec.shape)}")
        if "batch" in spec.shape:
            assert value.shape[spec.shape.index("batch")] == len(chosen), f"{who}: input '{spec.name}' batch axis"
    model.train()
    outputs = model(*inputs)
    for spec, value in zip(task.outputs(), outputs):
        assert value.dim() == len(spec.shape), f"{who}: output '{spec.name}' has shape {list(value.shape)}"
    loss = task.loss(outputs, target)
    assert isinstance(loss, torch.Tensor) and loss.dim() == 0 and torch.isfinite(loss), (
        f"{who}: loss() must return a finite scalar tensor, got {loss!r}")
    model.zero_grad()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"{who}: the loss's gradient reaches no {missing}"
    metrics = task.metrics(tuple(o.detach() for o in outputs), target)
    assert isinstance(metrics, dict) and all(isinstance(k, str) and isinstance(v, (int, float)) and np.isfinite(v)
                                             for k, v in metrics.items()), f"{who}: metrics() gave {metrics!r}"
    metric, direction = task.main_metric()
    assert metric in ("loss", *metrics) and direction in ("min", "max"), f"{who}: main_metric() is {metric, direction}"
    model.eval()
    with torch.no_grad():
        padded = model(*inputs)
        for i in range(len(chosen)):
            alone = model(*task.collate([chosen[i]])[0])
            for spec, p, a in zip(task.outputs(), padded, alone):
                b = spec.shape.index("batch") if "batch" in spec.shape else None
                p, a = (p.select(b, i), a.select(b, 0)) if b is not None else (p, a)
                rest = [x for x in spec.shape if x != "batch"]
                if "time" in rest:
                    p = p.narrow(rest.index("time"), 0, a.shape[rest.index("time")])
                torch.testing.assert_close(p, a, atol=atol, rtol=1e-4,
                                           msg=lambda m, i=i, s=spec.name: f"{who}: sample {i} '{s}' padded vs "
                                                                           f"alone: {m}")
