"""Built-in cell ``lstm``: long short-term memory, exported as the native ONNX ``LSTM`` op.

Options: ``forget_bias`` (default 1.0): the forget gate's total bias at initialisation, so that the cell starts
by remembering (Jozefowicz et al. 2015): measured at init (hidden 128), 50 steps back d h_T / d x_t is ~1e6
times larger than with PyTorch's init (docs/gradients.md); ``None`` keeps PyTorch's default init.
``proj_size`` is refused: ONNX's LSTM op has no projection, so such a model could not be exported as promised.
"""
import torch
from torch import nn

from seqkit import hookimpl
from seqkit.errors import ConfigError
from seqkit.onnx.lowering.native import NativeRecurrentCell


class LSTMCell(NativeRecurrentCell):
    """LSTM (Hochreiter & Schmidhuber 1997) with forget-gate bias 1 at init; option forget_bias."""

    MODE = "lstm"
    STATE_SIZE = 2
    OPTIONS = {"forget_bias": 1.0, "proj_size": 0}
    OPTION_TYPES = {"forget_bias": float | None}  # None: PyTorch's own initialisation

    def build_module(self, input_size, config):
        if self.option("proj_size"):
            raise ConfigError("lstm proj_size is not supported: the ONNX LSTM op has no projection, so the model "
                              "could not be exported; leave proj_size at 0 and choose hidden_size instead")
        module = nn.LSTM(input_size, config.hidden_size, num_layers=config.num_layers,
                         bidirectional=config.bidirectional, dropout=config.dropout, batch_first=True)
        forget_bias = self.option("forget_bias")
        if forget_bias is not None:
            h = config.hidden_size
            with torch.no_grad():
                for name, p in module.named_parameters():
                    if name.startswith("bias_ih"):
                        p[h:2 * h].fill_(float(forget_bias))
                    elif name.startswith("bias_hh"):
                        p[h:2 * h].zero_()
        return module


@hookimpl
def seqkit_register_cells(registry):
    registry.register("lstm", LSTMCell)
