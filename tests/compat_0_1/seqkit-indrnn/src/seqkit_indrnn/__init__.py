"""seqkit cell ``indrnn``: the independently recurrent neural network (Li et al., CVPR 2018).

    h_t = act(W x_t + b + u * h_{t-1})

``u`` is a *vector*: each unit recurs only on itself, so a long memory needs no gates. PyTorch has no such
module and ONNX has no such op; the cell is written as one time step on :class:`seqkit.ScanCell`, which runs it
as a loop in PyTorch and exports it as an ONNX ``Scan`` with dynamic batch and time.

Options (``-O key=value`` on the CLI):

- ``nonlinearity``: ``relu`` (default, as in the paper) or ``tanh``;
- ``recurrent_max``: if set, ``u`` is clipped to ``[-recurrent_max, recurrent_max]`` in every step (the paper
  keeps ``|u| <= 2 ** (1 / T)`` to avoid exploding activations over ``T`` steps); default None: no clipping.
"""
from __future__ import annotations

import torch
from torch import nn

import seqkit
from seqkit.errors import ConfigError

__version__ = "0.1.0"
#: the seqkit plugin API this package is written for (see seqkit's docs/plugins.md)
SEQKIT_PLUGIN_API = ">=1"


class IndRNN(seqkit.ScanCell):
    """IndRNN (Li et al. 2018): h_t = act(W x_t + b + u * h_{t-1}), element-wise recurrence; exported as ONNX Scan."""

    OPTIONS = {"nonlinearity": "relu", "recurrent_max": None}

    def init_step(self, input_size: int) -> None:
        if self.option("nonlinearity") not in ("relu", "tanh"):
            raise ConfigError(f"indrnn nonlinearity must be relu or tanh, got {self.option('nonlinearity')!r}")
        limit = self.option("recurrent_max")
        if limit is not None and not (isinstance(limit, (int, float)) and limit > 0):
            raise ConfigError(f"indrnn recurrent_max must be a positive number or None, got {limit!r}")
        self.input = nn.Linear(input_size, self.hidden_size)
        # the paper's initialisation for long-memory tasks: recurrent weights uniform in [0, 1]
        self.recurrent = nn.Parameter(torch.rand(self.hidden_size))

    def step(self, x_t, state):
        u = self.recurrent
        limit = self.option("recurrent_max")
        if limit is not None:
            u = u.clamp(-float(limit), float(limit))
        pre = self.input(x_t) + u * state[0]
        h = torch.relu(pre) if self.option("nonlinearity") == "relu" else torch.tanh(pre)
        return h, (h,)


@seqkit.hookimpl
def seqkit_register_cells(registry):
    registry.register("indrnn", IndRNN)
