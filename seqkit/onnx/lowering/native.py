"""Lowering for cells backed by ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``: one native ONNX op per layer.

Why not let ``torch.onnx.export`` map those modules itself? Measured on torch 2.13: it freezes the time axis
of bidirectional layers, unrolls ``nn.RNN`` to the trace length, and can freeze the time axis on a second
export in one process -- silently. So while exporting, :class:`NativeRecurrentCell` calls the custom op
``seqkit::native_recurrent`` instead, which torch.export keeps as one opaque node, and
:func:`translate` (given to the exporter's ``custom_translation_table``) writes it as native ``RNN`` / ``LSTM``
/ ``GRU`` nodes with symbolic batch and time, per-sample ``sequence_lens``, gate order converted from PyTorch's
and ``linear_before_reset=1`` for GRU.
"""
from __future__ import annotations

from typing import ClassVar

import torch
from onnxscript import opset18 as op
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqkit.core.cell import Cell, CellConfig

INT32 = 6  # onnx.TensorProto.INT32

# PyTorch's gate blocks -> ONNX's gate blocks, as indices into PyTorch's order.
#   LSTM: torch (i, f, g, o) -> onnx (i, o, f, c);  GRU: torch (r, z, n) -> onnx (z, r, h)
GATE_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn_tanh": (0,), "rnn_relu": (0,)}


@torch.library.custom_op("seqkit::native_recurrent", mutates_args=())
def native_recurrent(mode: str, x: torch.Tensor, lengths: torch.Tensor | None, h0: torch.Tensor,
                     c0: torch.Tensor | None, weights: list[torch.Tensor], num_layers: int,
                     bidirectional: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Export-time stand-in for a stacked recurrent layer; eager code runs the nn module instead."""
    raise RuntimeError("seqkit::native_recurrent exists for export only; call the cell module instead")


@native_recurrent.register_fake
def _native_recurrent_fake(mode, x, lengths, h0, c0, weights, num_layers, bidirectional):
    batch, time = x.shape[0], x.shape[1]
    hidden = h0.shape[-1]
    directions = 2 if bidirectional else 1
    return x.new_empty(batch, time, directions * hidden), h0.new_empty(h0.shape), h0.new_empty(h0.shape)


def _reorder(w, mode: str, hidden: int):
    """Rows of a PyTorch weight or bias, gate blocks of ``hidden`` rows, put in ONNX's gate order."""
    order = GATE_ORDER[mode]
    if len(order) == 1:
        return w
    return op.Concat(*[op.Slice(w, [i * hidden], [(i + 1) * hidden], [0]) for i in order], axis=0)


def translate(mode, x, lengths, h0, c0, weights, num_layers, bidirectional):
    """onnxscript lowering of ``seqkit::native_recurrent`` (batch-first in and out, time-major inside)."""
    directions = 2 if bidirectional else 1
    hidden = h0.shape[-1]
    attrs = {"hidden_size": hidden, "direction": "bidirectional" if bidirectional else "forward"}
    if mode == "gru":
        attrs["linear_before_reset"] = 1
    elif mode.startswith("rnn_"):
        attrs["activations"] = ["Tanh" if mode == "rnn_tanh" else "Relu"] * directions
    seq = op.Cast(lengths, to=INT32) if lengths is not None else None
    y = op.Transpose(x, perm=[1, 0, 2])  # ONNX rejects layout=1 on recurrent ops in onnxruntime
    hs, cs = [], []
    for layer in range(num_layers):
        ws, rs, bs = [], [], []
        for d in range(directions):
            w_ih, w_hh, b_ih, b_hh = weights[4 * (layer * directions + d): 4 * (layer * directions + d) + 4]
            ws.append(op.Unsqueeze(_reorder(w_ih, mode, hidden), [0]))
            rs.append(op.Unsqueeze(_reorder(w_hh, mode, hidden), [0]))
            bs.append(op.Unsqueeze(op.Concat(_reorder(b_ih, mode, hidden), _reorder(b_hh, mode, hidden), axis=0), [0]))
        cat = (lambda t: op.Concat(*t, axis=0)) if directions == 2 else (lambda t: t[0])
        lo, hi = [layer * directions], [(layer + 1) * directions]
        h_init = op.Slice(h0, lo, hi, [0])
        if mode == "lstm":
            c_init = op.Slice(c0, lo, hi, [0])
            out, h_n, c_n = op.LSTM(y, cat(ws), cat(rs), cat(bs), seq, h_init, c_init, **attrs)
            cs.append(c_n)
        elif mode == "gru":
            out, h_n = op.GRU(y, cat(ws), cat(rs), cat(bs), seq, h_init, **attrs)
        else:
            out, h_n = op.RNN(y, cat(ws), cat(rs), cat(bs), seq, h_init, **attrs)
        hs.append(h_n)
        # Y is [time, directions, batch, hidden] -> [time, batch, directions * hidden]
        y = op.Reshape(op.Transpose(out, perm=[0, 2, 1, 3]), [0, 0, -1])
    h_all = op.Concat(*hs, axis=0) if len(hs) > 1 else op.Identity(hs[0])
    c_all = (op.Concat(*cs, axis=0) if len(cs) > 1 else op.Identity(cs[0])) if cs else op.Identity(h_all)
    return op.Transpose(y, perm=[1, 0, 2]), h_all, c_all


class NativeRecurrentCell(Cell):
    """A cell that wraps ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` and exports as native ONNX recurrent ops."""

    #: one of "rnn_tanh", "rnn_relu", "lstm", "gru" (``mode()`` may pick per config)
    MODE: ClassVar[str] = ""

    def __init__(self, input_size: int, config: CellConfig):
        super().__init__(input_size, config)
        self.rnn = self.build_module(input_size, config)

    def mode(self) -> str:
        return self.MODE

    def build_module(self, input_size: int, config: CellConfig) -> nn.RNNBase:
        raise NotImplementedError

    def forward(self, x, lengths=None, state=None):
        batch, time = x.shape[0], x.shape[1]
        if state is None:
            state = self.initial_state(batch, x)
        lstm = self.STATE_SIZE == 2
        if torch.compiler.is_exporting():
            weights = [w for layer in self.rnn.all_weights for w in layer]
            y, h, c = native_recurrent(self.mode(), x, lengths, state[0], state[1] if lstm else None, weights,
                                       self.num_layers, self.num_directions == 2)
            return y, ((h, c) if lstm else (h,))
        hx = tuple(state) if lstm else state[0]
        if lengths is None:
            y, hn = self.rnn(x, hx)
        else:
            packed = pack_padded_sequence(x, lengths.to("cpu", torch.int64), batch_first=True, enforce_sorted=False)
            y, hn = self.rnn(packed, hx)
            y, _ = pad_packed_sequence(y, batch_first=True, total_length=time)
        return y, (tuple(hn) if lstm else (hn,))

    @classmethod
    def onnx_translations(cls) -> dict:
        return {torch.ops.seqkit.native_recurrent.default: translate}
