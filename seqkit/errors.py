"""Errors a user can cause. The CLI prints them as one line, without a traceback (tox's HandledError idea)."""


class SeqkitError(Exception):
    """A problem the user can fix; the message says what went wrong and what to do."""


class PluginError(SeqkitError):
    """A plugin failed to load, to register, or claimed a name another plugin owns."""


class ConfigError(SeqkitError):
    """A cell or task option is out of range or unknown."""


class ExportError(SeqkitError):
    """torch.onnx.export failed, or the file it wrote does not have the promised form."""


class VerificationError(SeqkitError):
    """The ONNX file's outputs differ from the PyTorch model's beyond the tolerances."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


class ProviderError(SeqkitError):
    """The requested onnxruntime execution provider is not available or did not run."""


class InputError(SeqkitError):
    """An input given to a model (seqkit.runtime, seqkit predict) is malformed or out of range; the message names
    the input and the sample."""
