"""Built-in cell ``gru``: gated recurrent unit, exported as the native ONNX ``GRU`` op (linear_before_reset=1)."""
from torch import nn

from seqkit import hookimpl
from seqkit.onnx.lowering.native import NativeRecurrentCell


class GRUCell(NativeRecurrentCell):
    """Gated recurrent unit (Cho et al. 2014), PyTorch's formulation."""

    MODE = "gru"

    def build_module(self, input_size, config):
        return nn.GRU(input_size, config.hidden_size, num_layers=config.num_layers,
                      bidirectional=config.bidirectional, dropout=config.dropout, batch_first=True)


@hookimpl
def seqkit_register_cells(registry):
    registry.register("gru", GRUCell)
