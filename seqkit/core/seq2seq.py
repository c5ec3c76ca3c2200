"""Tasks that need more than one cell (sequence to sequence): the cell factory and the two-part export contract.

``compose()`` builds ONE cell from the chosen plugin (the encoder side). A task that needs a second recurrent
network -- the decoder of a translation model, of a transliterator -- asks for it through the plugin contract
instead of naming a cell: before :meth:`Task.bind_cell`, ``compose()`` calls ``task.bind_cell_factory(factory)``
when the task defines that method. ``factory(input_size, **changes)`` builds a new cell of the *same plugin* with
the same :class:`CellConfig`, ``changes`` replacing fields (``bidirectional=False`` for a decoder that reads left
to right, another ``hidden_size``...). The task owns the cells it builds (they live in its head, so they are
trained, saved and exported with the model). Cells stay task-agnostic: a decoder is just a cell called one step
at a time with its state carried, which every cell supports (``forward(x [B, 1, F], None, state)``).

A task whose deployment is "encoder once, then a decoder step per output token" (Optimum's seq2seq layout) also
defines ``seq2seq_parts() -> Seq2SeqParts``: :func:`seqkit.export` then writes two files (the encoder and the
decoder step, metadata linking them) and proves them with :mod:`seqkit.onnx.seq2seq`. Nothing else in the core
changes; the composed model (the teacher-forced training graph) is what training and evaluation use.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from torch import nn

from seqkit.core.config import CellConfig
from seqkit.errors import ConfigError

#: ``factory(input_size, **changes) -> Cell`` of the composition's cell plugin
CellFactory = Callable[..., nn.Module]


def cell_factory(cell_cls: type, config: CellConfig) -> CellFactory:
    """The factory ``compose()`` hands to ``task.bind_cell_factory``: cells of ``cell_cls`` with ``config``, some
    fields replaced (``options`` are the cell's own and kept)."""
    known = {f.name for f in fields(CellConfig)}

    def factory(input_size: int, **changes: Any) -> nn.Module:
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"a cell factory takes changes to {', '.join(sorted(known))}, not {', '.join(unknown)}")
        changed = replace(config, **changes)
        changed.validate()
        return cell_cls(input_size, changed)

    return factory


@dataclass
class Seq2SeqParts:
    """What a two-part export needs from a task (see the module docstring).

    ``encoder``: ``forward(*encoder inputs) -> encoder outputs`` (specs ``encoder_inputs`` / ``encoder_outputs``);
    ``decoder``: one step, ``forward(*decoder inputs) -> decoder outputs``; the decoder's inputs are named so that
    the runtime feeds them: ``token`` (previous token ids [batch]), the state tensors (``[layers, batch, ...]``:
    batch second, as ONNX RNN state, since decoders drop finished rows and beams along it; names in ``state_inputs``,
    started from the encoder output of the same index in ``state_from_encoder``), ``encoder_outputs`` and
    ``encoder_mask`` (from the encoder's outputs of the same names); its outputs are ``logits`` [batch, vocab] and
    the new state (``state_outputs``, in the order of ``state_inputs``).
    ``greedy(sources, lengths, max_length) -> list of token id lists``: the task's own PyTorch greedy decode, which
    the exported pair must reproduce token for token on ``examples`` (source id arrays).
    ``metadata``: vocabularies, special token ids, maximum length (JSON), stored in both files.
    """

    encoder: nn.Module
    encoder_inputs: list
    encoder_outputs: list
    decoder: nn.Module
    decoder_inputs: list
    decoder_outputs: list
    state_inputs: list[str]
    state_outputs: list[str]
    state_from_encoder: list[str]
    greedy: Callable[..., list[list[int]]]
    examples: list = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
