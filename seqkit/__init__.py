"""seqkit: recurrent sequence models from pluggable cells and tasks, exported to verified ONNX."""
from .hookspecs import hookimpl

__version__ = "0.1.0"
#: version of the plugin API (hooks + Cell/Task contracts); plugins may require it, see docs/plugins.md
PLUGIN_API_VERSION = 1

from .cell import Cell, CellConfig  # noqa: E402
from .lowering.scan import ScanCell  # noqa: E402
from .errors import SeqkitError  # noqa: E402
from .model import Composition, SequenceModel, compose  # noqa: E402
from .plugins import load_plugins  # noqa: E402
from .task import Task, TensorSpec  # noqa: E402

__all__ = ["hookimpl", "Cell", "CellConfig", "ScanCell", "Task", "TensorSpec", "Composition", "SequenceModel", "compose",
           "load_plugins", "SeqkitError", "__version__", "PLUGIN_API_VERSION"]

from .export import export, to_onnx  # noqa: E402
from .verify import verify_against_torch, verify_file  # noqa: E402

__all__ += ["export", "to_onnx", "verify_against_torch", "verify_file"]
