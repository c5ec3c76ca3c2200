"""Built-in cell ``rnn``: Elman RNN (tanh or relu), exported as the native ONNX ``RNN`` op."""
from torch import nn

from seqkit import hookimpl
from seqkit.errors import ConfigError
from seqkit.onnx.lowering.native import NativeRecurrentCell


class RNNCell(NativeRecurrentCell):
    """Elman RNN, h_t = act(W x_t + R h_{t-1} + b); option nonlinearity: tanh | relu."""

    OPTIONS = {"nonlinearity": "tanh"}

    def mode(self) -> str:
        return "rnn_" + self.option("nonlinearity")

    def build_module(self, input_size, config):
        if self.option("nonlinearity") not in ("tanh", "relu"):
            raise ConfigError(f"rnn nonlinearity must be tanh or relu, got {self.option('nonlinearity')!r}")
        return nn.RNN(input_size, config.hidden_size, num_layers=config.num_layers,
                      nonlinearity=self.option("nonlinearity"), bidirectional=config.bidirectional,
                      dropout=config.dropout, batch_first=True)


@hookimpl
def seqkit_register_cells(registry):
    registry.register("rnn", RNNCell)
