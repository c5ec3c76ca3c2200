"""Generic lowering for cells with no native ONNX op: the author writes one time step, seqkit does the rest.

A :class:`ScanCell` subclass implements two methods::

    class MinimalGated(seqkit.ScanCell):
        def init_step(self, input_size):           # parameters of ONE layer and direction
            self.gate = nn.Linear(input_size + self.hidden_size, self.hidden_size)
        def step(self, x_t, state):                 # x_t [batch, input_size], state (h [batch, hidden],)
            h = state[0]
            ...
            return h_new, (h_new,)                  # y_t [batch, hidden], new state tuple

seqkit builds one step instance per layer and direction, and runs the steps over time:

- in PyTorch (training, eager inference): a Python loop over time steps, differentiable;
- while exporting (``torch.compiler.is_exporting()``): ``torch._higher_order_ops.scan``, which
  ``torch.onnx.export`` writes as ONE ONNX ``Scan`` node per layer and direction, with symbolic batch and
  time -- the loop is never unrolled to the trace length.

Lengths are honoured in both paths: at ``t >= lengths[i]`` sample ``i`` keeps its state unchanged and its
output is zero, so a padded batch gives exactly what each sequence gives alone and the final state is the
state at the last valid step. The reverse direction of a bidirectional cell reads each sequence backwards
*within its own length* (a gather index), so padding never enters it either.
"""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch._higher_order_ops.scan import scan as _scan_hop

from seqkit.core.cell import Cell, CellConfig
from seqkit.core.masks import lengths_mask
from seqkit.errors import ExportError, SeqkitError, root_cause


def reverse_index(lengths: torch.Tensor | None, batch: int, time: int, device=None) -> torch.Tensor:
    """``[batch, time]`` int64 index that reverses each sequence within its length and leaves padding in place.

    ``index[b, t] = lengths[b] - 1 - t`` for ``t < lengths[b]``, else ``t``. It is its own inverse.
    """
    steps = torch.arange(time, device=device).unsqueeze(0).expand(batch, time)
    if lengths is None:
        return (time - 1 - steps).contiguous()
    last = lengths.to(torch.int64).unsqueeze(1) - 1
    return torch.where(steps <= last, last - steps, steps)


def reverse_within_lengths(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x`` ``[batch, time, features]`` with each sequence reversed within its length (see :func:`reverse_index`)."""
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class ScanCell(Cell):
    """Base class for a cell defined by one time step; exports as an ONNX ``Scan`` with dynamic batch and time.

    Implement :meth:`init_step` (create the parameters of one layer and direction on ``self``) and
    :meth:`step`. Do not create parameters in ``__init__``: seqkit calls ``init_step`` once per layer and
    direction, on separate instances of your class (held in ``self.steps``). ``STATE_SIZE`` is the number of
    state tensors, each ``[batch, hidden_size]``; ``step`` returns ``y_t`` of shape ``[batch, hidden_size]``.
    ``num_layers`` stacks steps (``dropout`` between layers in training); ``bidirectional`` adds a
    reverse-direction step per layer that reads each sequence backwards within its length.
    """

    STATE_SIZE: ClassVar[int] = 1

    def __init__(self, input_size: int, config: CellConfig):
        super().__init__(input_size, config)
        if type(self).step is ScanCell.step or type(self).init_step is ScanCell.init_step:
            raise SeqkitError(f"{type(self).__name__} subclasses seqkit.ScanCell but does not define both init_step() "
                              f"and step(); see docs/plugins.md")
        self._is_step = False
        self.steps = nn.ModuleList()
        for layer in range(self.num_layers):
            in_size = input_size if layer == 0 else self.output_size
            for _ in range(self.num_directions):
                self.steps.append(self._new_step(in_size))

    def _new_step(self, input_size: int) -> ScanCell:
        """An instance of this class for one layer and direction, set up by ``init_step`` only."""
        single = type(self).__new__(type(self))
        nn.Module.__init__(single)
        single.input_size, single.config, single.hidden_size = input_size, self.config, self.hidden_size
        single.num_layers, single.num_directions, single._is_step = 1, 1, True
        single.init_step(input_size)
        return single

    # -- what the author writes ------------------------------------------------------------------------
    def init_step(self, input_size: int) -> None:
        """Create this step's parameters on ``self`` (``input_size`` is this layer's input width)."""
        raise NotImplementedError

    def step(self, x_t: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """One time step: ``x_t`` ``[batch, input_size]``, ``state`` tuple of ``[batch, hidden]`` ->
        ``(y_t [batch, hidden], new state tuple)``. Pure tensor code: no Python branches on tensor values."""
        raise NotImplementedError

    # -- what seqkit runs ---------------------------------------------------------------------------------
    def forward(self, x, lengths=None, state=None):
        if self._is_step:
            raise SeqkitError(f"{type(self).__name__}: call the cell, not one of its steps")
        batch, time = x.shape[0], x.shape[1]
        if state is None:
            state = self.initial_state(batch, x)
        exporting = torch.compiler.is_exporting()
        mask = lengths_mask(lengths, time) if lengths is not None else None
        index = reverse_index(lengths, batch, time, x.device) if self.num_directions == 2 else None
        finals: list[list[torch.Tensor]] = [[] for _ in range(self.STATE_SIZE)]
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                init = tuple(s[k] for s in state)
                seq = layer_in if d == 0 else reverse_within_lengths(layer_in, index)
                run = _run_scan if exporting else _run_loop
                y, final = run(self.steps[k], seq, mask, init)
                outs.append(y if d == 0 else reverse_within_lengths(y, index))
                for i, f in enumerate(final):
                    finals[i].append(f)
            layer_in = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]
            if self.training and self.config.dropout > 0 and layer < self.num_layers - 1:
                layer_in = nn.functional.dropout(layer_in, self.config.dropout, training=True)
        return layer_in, tuple(torch.stack(f, 0) for f in finals)


def _check_step(cell: ScanCell, x_t: torch.Tensor, state: tuple, y, new) -> None:
    """A clear error when a step breaks its contract (checked once per forward, in PyTorch only)."""
    name = type(cell).__name__
    want = (x_t.shape[0], cell.hidden_size)
    if not isinstance(new, (tuple, list)) or len(new) != len(state):
        raise SeqkitError(f"{name}.step must return (y_t, state) with state a tuple of {len(state)} tensor(s) "
                          f"(STATE_SIZE); it returned {type(new).__name__} for the state")
    for what, value in [("y_t", y)] + [(f"state[{i}]", s) for i, s in enumerate(new)]:
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != want:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise SeqkitError(f"{name}.step returned {what} of shape {shape}; expected [batch, hidden_size] = "
                              f"{list(want)}")


def _run_loop(cell: ScanCell, x: torch.Tensor, mask: torch.Tensor | None, state: tuple):
    """Eager path: a differentiable Python loop over time."""
    ys = []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        y, new = cell.step(x_t, state)
        if t == 0:
            _check_step(cell, x_t, state, y, new)
        if mask is not None:
            m = mask[:, t].unsqueeze(-1)
            new = tuple(torch.where(m, n, o) for n, o in zip(new, state))
            y = torch.where(m, y, torch.zeros_like(y))
        ys.append(y)
        state = tuple(new)
    return torch.stack(ys, dim=1), state


def _run_scan(cell: ScanCell, x: torch.Tensor, mask: torch.Tensor | None, state: tuple):
    """Export path: the scan higher-order op, written by torch.onnx as one ONNX ``Scan`` (dynamic length)."""
    xs = x.transpose(0, 1)  # time-major: scan runs over dim 0
    if mask is None:
        mask = torch.ones(x.shape[0], x.shape[1], dtype=torch.bool, device=x.device)
    ms = mask.transpose(0, 1).unsqueeze(-1)

    def combine(carry, inputs):
        x_t, m = inputs
        y, new = cell.step(x_t, tuple(carry))
        # where() also gives fresh tensors: scan forbids outputs that alias inputs or each other
        new = tuple(torch.where(m, n, o) for n, o in zip(new, carry))
        return new, torch.where(m, y, torch.zeros_like(y))

    try:
        final, ys = _scan_hop(combine, tuple(state), (xs, ms))
    except Exception as exc:  # dynamo's reasons are long; keep the innermost one, in one line
        raise ExportError(f"{type(cell).__name__}.step() {_reason(exc)}; step() must be pure tensor code (no "
                          f"Python if/while on tensor values, no .item() or .numpy(); use torch.where); see "
                          f"docs/plugins.md") from None
    return ys.transpose(0, 1), tuple(final)


def _reason(exc: BaseException) -> str:
    exc = root_cause(exc)
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    explanation = next((ln for ln in lines if ln.startswith("Explanation:")), "")
    first = lines[0] if lines else type(exc).__name__
    return f"failed to trace: {first}" + (f" ({explanation})" if explanation else "")
