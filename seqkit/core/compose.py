"""Composition: ``task encoder -> cell -> task head`` as one ``nn.Module``, plus what describes it."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from seqkit.core.cell import Cell, CellConfig
from seqkit.core.memory import MEMORY_SHARE, available_memory, check_size  # noqa: F401 (also from here)
from seqkit.core.plugins import Plugins, load_plugins
from seqkit.core.seq2seq import cell_factory
from seqkit.core.task import Task, TensorSpec, spec_problems
from seqkit.errors import ConfigError, PluginError, SeqkitError, described, first_line


class SequenceModel(nn.Module):
    """``forward(*task inputs) -> tuple of task outputs``. A head with ``uses_inputs = True`` also gets the
    task's inputs (for a skip connection past the cell).

    The encoder returns ``(features, lengths)`` or ``(features, lengths, state)``: a task whose inputs carry the
    recurrent state (a streaming language model) hands it to the cell as its initial state; its head returns the
    final state among its outputs.
    """

    def __init__(self, encoder: nn.Module, cell: Cell, head: nn.Module):
        super().__init__()
        self.encoder, self.cell, self.head = encoder, cell, head
        self.head_uses_inputs = bool(getattr(head, "uses_inputs", False))

    def forward(self, *inputs):
        result, _ = self.run(inputs)
        if isinstance(result, torch.Tensor):  # tuple() of a tensor would split it along the batch axis
            raise PluginError("the task's head returned a Tensor; it must return a tuple of tensors, e.g. (logits,)")
        return tuple(result)

    def run(self, inputs: tuple, state: tuple | None = None, guard=None) -> tuple[Any, tuple]:
        """The one ``encoder -> cell -> head`` runner (forward, streaming and the contract check all use it):
        ``(what the head returns, the cell's final state)``. ``state``: the cell's initial state (streaming);
        None: the encoder's third item if it returns one, else zeros. ``guard(part, call)`` runs each part
        ("encoder", "cell", "head") and may check what it returns (:func:`check_contract`)."""
        guard = guard or _direct
        encoded = guard("encoder", lambda: self.encoder(*inputs))
        features, lengths = encoded[0], encoded[1]
        if state is None and len(encoded) > 2 and encoded[2] is not None:
            state = tuple(encoded[2])
        outputs, new_state = guard("cell", lambda: self.cell(features, lengths, state))
        args = (outputs, new_state, lengths, *inputs) if self.head_uses_inputs else (outputs, new_state, lengths)
        return guard("head", lambda: self.head(*args)), new_state


def _direct(part: str, call):
    return call()


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode (dropout off) inside the block; its training mode is restored afterwards."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@dataclass
class Composition:
    """A composed model and everything needed to describe, rebuild, export and verify it."""

    model: SequenceModel
    cell_name: str
    task_name: str
    task: Task
    cell_config: CellConfig
    seed: int

    def config(self) -> dict[str, Any]:
        """What rebuilds it (:func:`compose_from_config`): names, options, seed, and the task's fitted values."""
        saved = {"cell": self.cell_name, "cell_config": self.cell_config.to_dict(), "task": self.task_name,
                 "task_config": self.task.config_dict(), "seed": self.seed}
        if self.task.fitted:  # absent when empty: configs of runs and files that predate Task.fitted are unchanged
            saved["fitted"] = dict(self.task.fitted)
        return saved

    def translations(self) -> dict:
        return type(self.model.cell).onnx_translations()


def compose(cell: str = "gru", task: str | Task = "classification", cell_config: CellConfig | None = None,
            task_config: Any = None, seed: int = 0, plugins: Plugins | None = None, *,
            fitted: dict[str, Any] | None = None) -> Composition:
    """Build ``task encoder -> cell -> task head`` from registered names, seeded for reproducibility.

    ``task`` is a registered name, or a task object (also accepted as ``task_config``) that
    :meth:`~seqkit.core.task.Task.fit` prepared (what ``seqkit.training.prepare`` passes): that object is used
    as it is -- its options, :attr:`Task.fitted` values and :attr:`Task.prepared` starts reach ``build_head()``.
    ``task_config`` is the task's Config instance or a dict of its fields (None with a task object).
    ``fitted``: saved :attr:`Task.fitted` values to restore (a run or file rebuilt without training data).
    Option values are checked against their declared types, the model's size against the memory there is (before
    anything is allocated), and the result against the Cell and Task contracts on a tiny batch, so that a
    plugin's mistake is reported with the plugin's name rather than deep inside export.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    plugins = plugins or load_plugins()
    cell_cls = plugins.cell(cell)
    given = task if isinstance(task, Task) else task_config if isinstance(task_config, Task) else None
    if given is task_config:
        task_config = None
    elif given is not None:
        task = _registered_name(plugins, type(given))
    task_cls = plugins.task(task)
    cell_config = cell_cls.make_config(cell_config, name=cell)
    names = _Names(cell, cell_cls, task, task_cls)
    if given is not None:
        if task_config is not None:
            raise ConfigError("compose() takes a task object or task_config, not both: the object's config is used")
        if not isinstance(given, task_cls):
            raise ConfigError(f"compose() was given a {type(given).__qualname__} object for task '{task}', whose "
                              f"class is {task_cls.__qualname__}")
        task_cls.make_config(given.config, name=task)  # its options checked as a config's would be
        _call(names.task, "validate() failed", given.validate)
        task_obj = given
    else:
        task_config = task_cls.make_config(task_config, name=task)
        task_obj = _call(names.task, "failed to build", lambda: task_cls(task_config))
    if fitted:
        if not isinstance(fitted, dict):
            raise ConfigError(f"the fitted values of task '{task}' must be a mapping, got {type(fitted).__name__}")
        task_obj.fitted.update(fitted)
    feature_size = _call(names.task, "feature_size() failed", task_obj.feature_size)
    if isinstance(feature_size, bool) or not isinstance(feature_size, int) or feature_size <= 0:
        raise PluginError(f"{names.task}: feature_size() returned {feature_size!r}; it must be a positive integer "
                          f"(the features per step that build_encoder() produces)")
    check_size(lambda: _raw_build(task_obj, cell_cls, feature_size, cell_config))
    torch.manual_seed(seed)
    encoder, cell_obj, head = _build(names, task_obj, cell_cls, feature_size, cell_config)
    check_specs(task_obj, names.task)  # after bind_cell: a task's specs may name the cell's state
    model = SequenceModel(encoder, cell_obj, head).eval()
    check_contract(model, task_obj, names)
    return Composition(model, cell, task, task_obj, cell_obj.config, seed)


def compose_from_config(saved: Any, plugins: Plugins | None = None, where: str = "the config") -> Composition:
    """:func:`compose` from a saved :meth:`Composition.config` (a run's config.json, a file's metadata).

    ``where`` names the source in errors: a value that is not such a mapping, unknown keys in ``cell_config`` and
    values of the wrong type are refused with one line.
    """
    required = ("cell", "task", "cell_config", "task_config")
    if not isinstance(saved, dict) or not set(required) <= set(saved):
        got = type(saved).__name__ if not isinstance(saved, dict) else f"keys {', '.join(map(str, saved)) or 'none'}"
        raise ConfigError(f"{where} has no complete composition (a mapping with {', '.join(required)}; got {got}); "
                          f"the file is damaged or was not written by seqkit")
    for key in ("cell", "task"):
        if not isinstance(saved[key], str):
            raise ConfigError(f"{where}: {key} must be a registered name, got {saved[key]!r}")
    try:
        cell_config = CellConfig.from_dict(saved["cell_config"])
        if not isinstance(saved["task_config"], dict):
            raise ConfigError(f"task_config must be a mapping of option names to values, got "
                              f"{type(saved['task_config']).__name__}")
        return compose(saved["cell"], saved["task"], cell_config, saved["task_config"], seed=saved.get("seed", 0),
                       plugins=plugins, fitted=saved.get("fitted"))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _registered_name(plugins: Plugins, cls: type) -> str:
    """The name ``cls`` is registered under (a task object given to compose() is rebuilt later by name)."""
    names = [name for name, entry in plugins.tasks.entries.items() if entry.obj is cls]
    if len(names) != 1:
        how = "is not registered" if not names else f"is registered as {', '.join(sorted(names))}"
        raise ConfigError(f"task class {cls.__qualname__} {how}; compose() needs its one registered name to record "
                          f"how to rebuild it (pass the name and task_config instead)")
    return names[0]


@dataclass
class _Names:
    """How errors name the plugins involved."""

    cell_name: str
    cell_cls: type
    task_name: str
    task_cls: type

    @property
    def cell(self) -> str:
        return f"cell '{self.cell_name}' (class {self.cell_cls.__qualname__} from {self.cell_cls.__module__})"

    @property
    def task(self) -> str:
        return f"task '{self.task_name}' (class {self.task_cls.__qualname__} from {self.task_cls.__module__})"


def _call(who: str, what: str, fn):
    """``fn()``; a plugin's own exception becomes one line naming the plugin (a SeqkitError passes unchanged)."""
    try:
        return fn()
    except SeqkitError:
        raise
    except MemoryError:
        raise ConfigError(f"{who} {what}: out of memory; choose smaller sizes") from None
    except Exception as exc:
        if "allocate" in str(exc).lower():  # torch's allocator: "DefaultCPUAllocator: can't allocate memory"
            raise ConfigError(f"{who} {what}: out of memory ({first_line(exc)}); choose smaller sizes") from None
        if os.environ.get("SEQKIT_DEBUG"):
            raise
        raise PluginError(f"{who} {what}: {described(exc)}; fix the plugin (set "
                          f"SEQKIT_DEBUG=1 for the traceback)") from None


def _bind_factory(task_obj: Task, cell_cls: type, cell_config: CellConfig) -> None:
    """A task needing more cells of the same plugin (a decoder) gets a factory for them (seqkit.core.seq2seq)."""
    bind = getattr(task_obj, "bind_cell_factory", None)
    if callable(bind):
        bind(cell_factory(cell_cls, cell_config))


def _raw_build(task_obj: Task, cell_cls: type, feature_size: int, cell_config: CellConfig):
    cell_obj = cell_cls(feature_size, cell_config)
    _bind_factory(task_obj, cell_cls, cell_config)
    task_obj.bind_cell(cell_obj)
    return task_obj.build_encoder(), cell_obj, task_obj.build_head(cell_obj.output_size)


def _build(names: _Names, task_obj: Task, cell_cls: type, feature_size: int, cell_config: CellConfig):
    encoder = _call(names.task, "build_encoder() failed", task_obj.build_encoder)
    cell_obj = _call(names.cell, "failed to build", lambda: cell_cls(feature_size, cell_config))
    output_size = _call(names.cell, "output_size failed", lambda: cell_obj.output_size)
    _call(names.task, "bind_cell_factory() failed", lambda: _bind_factory(task_obj, cell_cls, cell_obj.config))
    _call(names.task, "bind_cell() failed", lambda: task_obj.bind_cell(cell_obj))
    head = _call(names.task, "build_head() failed", lambda: task_obj.build_head(output_size))
    for part, value, who in (("build_encoder()", encoder, names.task), ("build_head()", head, names.task)):
        if not isinstance(value, nn.Module):
            raise PluginError(f"{who}: {part} returned {type(value).__name__}; it must return a torch.nn.Module")
    return encoder, cell_obj, head


# -- contracts ------------------------------------------------------------------------------------------------
def check_specs(task_obj: Task, who: str) -> None:
    """The task's inputs()/outputs() are well-formed TensorSpecs with axes named batch or time."""
    specs = {}
    for kind in ("inputs", "outputs"):
        value = _call(who, f"{kind}() failed", getattr(task_obj, kind))
        if not isinstance(value, (list, tuple)) or not value or not all(isinstance(s, TensorSpec) for s in value):
            raise PluginError(f"{who}: {kind}() must return a non-empty list of seqkit.TensorSpec, got {value!r}")
        specs[kind] = value
        for problem in spec_problems(value):
            raise PluginError(f"{who}: {kind[:-1]} {problem}")
    names = [s.name for s in specs["inputs"] + specs["outputs"]]
    if len(set(names)) != len(names):
        raise PluginError(f"{who}: inputs and outputs must have distinct names, got {names}")


def check_contract(model: SequenceModel, task_obj: Task, names: _Names, batch: int = 2, time: int = 3) -> None:
    """Run the parts once on a tiny batch and blame the part that breaks the contract."""
    inputs = _call(names.task, "example_inputs() failed", lambda: task_obj.example_inputs(batch, time))
    want = (batch, time, model.cell.input_size)

    def guard(part: str, call):
        if part == "cell":
            return _call(names.cell, "failed on a batch of features", call)
        value = _call(names.task, "encoder failed on example inputs" if part == "encoder" else "head failed", call)
        if part == "encoder":
            _check_encoded(value, want, names)
        return value

    with torch.no_grad():
        result, _ = model.run(inputs, guard=guard)
    declared = task_obj.outputs()
    if not isinstance(result, (tuple, list)) or not all(isinstance(r, torch.Tensor) for r in result):
        raise PluginError(f"{names.task}: the head returned {_describe(result)}; build_head()'s module must return "
                          f"a tuple of tensors in the order of outputs(), e.g. (logits,)")
    if len(result) != len(declared):
        raise PluginError(f"{names.task}: the head returned {len(result)} tensor(s) but outputs() declares "
                          f"{len(declared)} ({', '.join(s.name for s in declared)})")
    sizes = {"batch": batch, "time": time}
    for spec, value in zip(declared, result):
        expected = [sizes.get(a, a) if isinstance(a, str) else a for a in spec.shape]
        if list(value.shape) != expected:
            raise PluginError(f"{names.task}: output '{spec.name}' has shape {list(value.shape)} at batch={batch}, "
                              f"time={time}; outputs() declares {list(spec.shape)} = {expected}")


def _check_encoded(encoded: Any, want: tuple, names: _Names) -> None:
    if (not isinstance(encoded, (tuple, list)) or len(encoded) not in (2, 3)
            or not isinstance(encoded[0], torch.Tensor)):
        raise PluginError(f"{names.task}: the encoder returned {_describe(encoded)}; it must return (features "
                          f"[batch, time, feature_size], lengths or None[, initial state])")
    features = encoded[0]
    if tuple(features.shape) != want:
        if features.dim() == 3 and tuple(features.shape[:2]) == want[:2]:
            blame = (f"feature_size() returns {want[2]} but the encoder gives {features.shape[-1]} features per "
                     f"step; make feature_size() return what build_encoder() produces")
        else:
            blame = (f"the encoder gives features of shape {list(features.shape)}; expected [batch, time, "
                     f"feature_size] = {list(want)}")
        raise PluginError(f"{names.task}: {blame}")


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a Tensor of shape {list(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {', '.join(type(v).__name__ for v in value)}"
    return type(value).__name__
