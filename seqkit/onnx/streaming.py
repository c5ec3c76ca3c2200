"""Streaming export: the recurrent state of every layer as named inputs and outputs, proven chunk by chunk.

``seqkit export --streaming`` (``export(..., streaming=True)``) exports :class:`StreamingModel`: the task's inputs
plus one input per state tensor (``state_in_h``, and ``state_in_c`` for an LSTM: ``[layers, batch, hidden]``,
layer i at index i), the task's outputs plus the new state (``state_out_h``, ...). Feeding a sequence in chunks,
each with the state the previous chunk returned (zeros at first), gives what one call on the whole sequence
gives: per-step outputs chunk by chunk, per-sequence outputs (labels, forecasts) for everything fed so far. It
works for every cell that keeps the Cell contract (built-in native ops and ScanCell plugins alike), because the
cell's ``forward(x, lengths, state)`` already starts from a given state; only what cannot be chunked is refused:
bidirectional cells, tasks that do not declare the ``streaming`` capability, and tasks whose
:meth:`~seqkit.core.task.Task.streaming_problem` names a reason (a head that pools over the whole sequence, an
encoder that looks across steps). A task with the ``state`` capability (the language model) carries the state in
its own inputs and outputs: its composed model is exported as it is, described in the same schema.

:func:`chunk_checks` is the proof run by every streaming export (and by ``seqkit verify`` on a streaming file):
a long padded batch fed in chunks of random sizes, each sequence of the batch with its own chunk lengths, the
state carried; per-step outputs, per-sequence outputs after every chunk and the final state must equal one call
on the whole (or prefix) sequence -- onnxruntime against itself and against PyTorch, at the usual tolerances.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from seqkit.core.compose import Composition, eval_mode
from seqkit.core.task import TensorSpec, sample_inputs
from seqkit.errors import ExportError
from seqkit.onnx.checks import Check, compare

#: long sequence, batch and largest chunk of the chunked verification
CHUNK_CHECK = {"batch": 3, "time": 64, "max_chunk": 9}


def state_names(cell) -> list[str]:
    """Names of a cell's state tensors: ``STATE_NAMES`` if the cell class sets it, else h / h, c / s0, s1, ..."""
    names = getattr(cell, "STATE_NAMES", None)
    if names:
        return list(names)
    return {1: ["h"], 2: ["h", "c"]}.get(cell.STATE_SIZE, [f"s{i}" for i in range(cell.STATE_SIZE)])


def refusal(composition: Composition) -> str | None:
    """Why ``composition`` cannot be exported for streaming (one line for the user), or None."""
    cell = composition.model.cell
    where = f"cell '{composition.cell_name}' / task '{composition.task_name}'"
    if cell.num_directions != 1:
        return (f"cannot export {where} for streaming: a bidirectional cell reads each sequence backwards from its "
                f"end, which a chunk does not have, so a bidirectional model cannot stream; compose (or retrain) it "
                f"unidirectional (bidirectional=False) to stream it")
    if not composition.task.can("streaming"):
        return (f"cannot export {where} for streaming: the task does not declare the 'streaming' capability (its "
                f"outputs are not defined chunk by chunk)")
    reason = composition.task.streaming_problem()
    if reason:
        return f"cannot export {where} for streaming: {reason}"
    return None


class StreamingModel(nn.Module):
    """``forward(*task inputs, *state) -> (*task outputs, *new state)``, sharing the composed model's modules."""

    def __init__(self, model: nn.Module, num_inputs: int):
        super().__init__()
        self.model, self.num_inputs = model, num_inputs

    def forward(self, *args):
        inputs, state = args[:self.num_inputs], tuple(args[self.num_inputs:])
        result, new_state = self.model.run(inputs, state)
        return (*result, *new_state)


@dataclass
class StreamingParts:
    """What export and verification need: the module, every input and output spec, the state layout."""

    model: nn.Module
    task_inputs: list[TensorSpec]
    task_outputs: list[TensorSpec]
    state_inputs: list[TensorSpec]
    state_outputs: list[TensorSpec]

    @property
    def inputs(self) -> list[TensorSpec]:
        return self.task_inputs + self.state_inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self.task_outputs + self.state_outputs

    def example_inputs(self, batch: int, time: int, seed: int = 0) -> tuple:
        arrays = sample_inputs(self.inputs, {"batch": batch, "time": time}, np.random.default_rng(seed))
        return tuple(torch.from_numpy(arrays[s.name]) for s in self.inputs)

    def metadata(self) -> dict:
        """Metadata values that replace/extend the plain export's: inputs and outputs with the state, and
        ``streaming`` (the state layout and how to feed chunks)."""
        time_outputs = [s.name for s in self.task_outputs if "time" in s.shape]
        return {
            "inputs": [s.to_dict() for s in self.inputs],
            "outputs": [s.to_dict() for s in self.outputs],
            "streaming": {
                "state": [{"name": i.name.removeprefix("state_in_"), "input": i.name, "output": o.name,
                           "shape": list(i.shape), "dtype": i.dtype,
                           "layout": "[layers, batch, hidden]: layer i at index i"}
                          for i, o in zip(self.state_inputs, self.state_outputs)],
                "initial_state": "zeros",
                "per_step_outputs": time_outputs,
                "per_sequence_outputs": [s.name for s in self.task_outputs if s.name not in time_outputs],
                "how": "feed consecutive chunks of each sequence with the state the previous chunk returned; "
                       "lengths (if any) counts each chunk's valid steps, 1..time; a padded step never changes "
                       "the state",
            },
        }


def streaming_parts(composition: Composition) -> StreamingParts:
    """The streaming module and specs for ``composition``; an :class:`ExportError` saying why if it cannot stream."""
    reason = refusal(composition)
    if reason:
        raise ExportError(reason)
    task, cell = composition.task, composition.model.cell
    if task.can("state"):  # the task's own inputs and outputs carry the state (language model): one schema
        return _own_state_parts(composition)
    shape = (cell.num_layers * cell.num_directions, "batch", cell.hidden_size)
    names = state_names(cell)
    state_in = [TensorSpec(f"state_in_{n}", shape, "float32", f"recurrent state '{n}' of every layer before this "
                           f"chunk (zeros at the start of a sequence)", kind="state") for n in names]
    state_out = [TensorSpec(f"state_out_{n}", shape, "float32", f"recurrent state '{n}' of every layer after this "
                            f"chunk: feed it as state_in_{n} with the next chunk", kind="state") for n in names]
    model = StreamingModel(composition.model, len(task.inputs()))
    return StreamingParts(model, task.inputs(), task.outputs(), state_in, state_out)


def _own_state_parts(composition: Composition) -> StreamingParts:
    """The composed model as it is, its state inputs/outputs being those the task declares in ``state_pairs()``."""
    task = composition.task
    pairs = task.state_pairs()
    inputs, outputs = {s.name: s for s in task.inputs()}, {s.name: s for s in task.outputs()}
    missing = [name for pair in pairs for name in pair if name not in inputs and name not in outputs]
    if not pairs or missing:
        what = f"name {', '.join(missing)}, not among its inputs/outputs" if missing else "is empty"
        raise ExportError(f"cannot export task '{composition.task_name}' for streaming: its state_pairs() {what}")
    ins, outs = [i for i, _ in pairs], [o for _, o in pairs]
    return StreamingParts(composition.model, [s for s in task.inputs() if s.name not in ins],
                          [s for s in task.outputs() if s.name not in outs], [inputs[i] for i in ins],
                          [outputs[o] for o in outs])


# -- the proof ---------------------------------------------------------------------------------------------
Runner = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


def _garbage(spec: TensorSpec, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    if spec.kind == "ids":
        return rng.integers(0, spec.high or 2, size=shape).astype(np.int64)
    return rng.standard_normal(shape).astype(np.float32 if spec.dtype == "float32" else np.int64)


def chunk_checks(chunked: Runner, references: dict[str, Runner], task_inputs: Sequence[TensorSpec],
                 task_outputs: Sequence[TensorSpec], state: Sequence[tuple[TensorSpec, str]], atol: float,
                 rtol: float, seed: int = 1234, batch: int = CHUNK_CHECK["batch"], time: int = CHUNK_CHECK["time"],
                 max_chunk: int = CHUNK_CHECK["max_chunk"]) -> list[Check]:
    """Feed a ``[batch, time]`` sequence through ``chunked`` in chunks of random sizes (each sequence its own
    chunk lengths where the model takes lengths), carrying ``state`` (pairs of state input spec and state output
    name); compare with each reference (``{label: one-call runner}``) at ``atol``/``rtol``:

    - per-step outputs, chunk by chunk, with the one call on the whole sequence;
    - per-sequence outputs after every chunk with the one call on the prefix fed so far;
    - the final state with the one call's state.
    """
    rng = np.random.default_rng(seed)
    full = sample_inputs(task_inputs, {"batch": batch, "time": time}, rng, full_lengths=True)
    lengths = next((s for s in task_inputs if s.kind == "lengths"), None)
    timed = [s for s in task_inputs if s.kind != "lengths" and s.shape[1:2] == ("time",)]
    static = [s for s in task_inputs if s.kind != "lengths" and s not in timed]
    zeros = {s.name: np.zeros(tuple(batch if a == "batch" else a for a in s.shape), np.float32) for s, _ in state}
    per_step = [s for s in task_outputs if s.shape[1:2] == ("time",)]
    per_seq = [s for s in task_outputs if s not in per_step]

    def one_call(pos: np.ndarray) -> dict[str, np.ndarray]:
        feeds = {s.name: full[s.name][:, :int(pos.max())] for s in timed}
        feeds.update({s.name: full[s.name] for s in static})
        if lengths is not None:
            feeds[lengths.name] = pos.astype(np.int64)
        return {**feeds, **zeros}

    pos = np.zeros(batch, dtype=np.int64)
    carried = dict(zeros)
    steps: dict[str, list[list[np.ndarray]]] = {s.name: [[] for _ in range(batch)] for s in per_step}
    worst: dict[tuple[str, str], tuple[float, float, bool, str]] = {}
    sizes = []

    def record(key, result):
        old = worst.get(key)
        if old is None or (old[2] and not result[2]) or (old[2] == result[2] and result[0] > old[0]):
            worst[key] = result

    while pos[0] < time:
        w = int(min(rng.integers(1, max_chunk + 1), time - pos[0]))
        n = np.full(batch, w, dtype=np.int64)
        if lengths is not None:
            n[1:] = rng.integers(1, w + 1, size=batch - 1)
        sizes.append(w)
        feeds = {}
        for s in timed:
            chunk = _garbage(s, (batch, w, *full[s.name].shape[2:]), rng)
            for i in range(batch):
                chunk[i, :n[i]] = full[s.name][i, pos[i]:pos[i] + n[i]]
            feeds[s.name] = chunk
        feeds.update({s.name: full[s.name] for s in static})
        if lengths is not None:
            feeds[lengths.name] = n
        out = chunked({**feeds, **carried})
        carried = {s.name: out[o] for s, o in state}
        for s in per_step:
            for i in range(batch):
                steps[s.name][i].append(out[s.name][i, :n[i]])
        pos = pos + n
        for label, ref in references.items():
            want = ref(one_call(pos))
            for s in per_seq:
                record((s.name, f"after each chunk vs 1 call on the prefix ({label})"),
                       compare(out[s.name], want[s.name], atol, rtol, label))
    checks = []
    for label, ref in references.items():
        want = ref(one_call(pos))
        for s in per_step:
            got = np.concatenate([np.concatenate(steps[s.name][i]) for i in range(batch)])
            ref_steps = np.concatenate([want[s.name][i, :pos[i]] for i in range(batch)])
            record((s.name, f"chunks vs 1 call ({label})"), compare(got, ref_steps, atol, rtol, label))
        for s, o in state:
            record((o, f"final state vs 1 call ({label})"), compare(carried[s.name], want[o], atol, rtol, label))
    for (name, what), (max_abs, max_rel, ok, note) in worst.items():
        plan = f"{len(sizes)} chunks of 1..{max(sizes)} steps"
        checks.append(Check(batch, time, f"{name}: {what}", max_abs, max_rel, ok,
                            note if ok else f"{note} ({plan})".strip()))
    return checks


def verify_chunks(parts: StreamingParts, session_run: Runner, atol: float, rtol: float, seed: int = 1234,
                  ) -> list[Check]:
    """:func:`chunk_checks` for an exported streaming model: onnxruntime chunked against onnxruntime in one
    call and against the PyTorch model in one call."""
    model = parts.model

    def torch_run(feeds):
        with torch.no_grad():
            values = model(*[torch.from_numpy(feeds[s.name]) for s in parts.inputs])
        return {s.name: v.numpy() for s, v in zip(parts.outputs, values)}

    state = [(i, o.name) for i, o in zip(parts.state_inputs, parts.state_outputs)]
    with eval_mode(model):
        return chunk_checks(session_run, {"onnxruntime": session_run, "PyTorch": torch_run}, parts.task_inputs,
                            parts.task_outputs, state, atol, rtol, seed)


def ort_runner(session, outputs: Sequence) -> Runner:
    """A :data:`Runner` over a :class:`seqkit.runtime.session.Session` (outputs named by their specs)."""
    return lambda feeds: dict(zip([s.name for s in outputs], session.run(feeds)))
