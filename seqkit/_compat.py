"""The module paths of seqkit 0.1, kept as deprecated aliases (docs/plugins.md, "Deprecation policy").

0.2 moved 18 modules (``seqkit.task`` -> ``seqkit.core.task``, ``seqkit.features`` -> ``seqkit.kit.labels``, ...).
A plugin written for 0.1 still imports them: :class:`_Finder` (on ``sys.meta_path`` once ``seqkit`` is imported)
answers each old path with a small alias module that warns once, naming the new path and the release that removes
it, and hands on each name the old module offered, looked up lazily at its present home (no torch until a name
that needs it is used). :data:`ALIASES` is the whole table; nothing here copies code.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types
import warnings

#: the release that removes the aliases below
REMOVED_IN = "0.4"

#: old module -> (where to import from now, {present module: "its 0.1 names", "old=new" for a renamed one})
ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "seqkit.task": ("seqkit", {
        "seqkit.core.task": "DTYPES Task TensorSpec sample_inputs", "seqkit.core.masks": "lengths_mask",
        "seqkit.kit.heads": "POOLINGS pool", "seqkit.errors": "ConfigError"}),
    "seqkit.cell": ("seqkit", {"seqkit.core.cell": "Cell", "seqkit.core.config": "CellConfig",
                               "seqkit.errors": "ConfigError"}),
    "seqkit.model": ("seqkit", {
        "seqkit.core.compose": "Composition SequenceModel compose", "seqkit.core.cell": "Cell",
        "seqkit.core.config": "CellConfig", "seqkit.core.plugins": "Plugins load_plugins",
        "seqkit.core.task": "Task", "seqkit.errors": "ConfigError"}),
    "seqkit.hookspecs": ("seqkit", {
        "seqkit.core.hookspecs": "PROJECT hookimpl hookspec seqkit_register_cells seqkit_register_tasks"}),
    "seqkit.plugins": ("seqkit", {
        "seqkit.core.plugins": "API_ATTRIBUTE DISABLE_ENV GROUP HOOKS Plugins Problem api_satisfies load_plugins",
        "seqkit.core.registry": "Registry Source", "seqkit.core.cell": "Cell", "seqkit.core.task": "Task",
        "seqkit.core": "hookspecs"}),
    "seqkit.registry": ("seqkit.core.registry", {
        "seqkit.core.registry": "Entry NAME_RE Registry Source", "seqkit.errors": "PluginError SeqkitError"}),
    "seqkit.features": ("seqkit.kit", {
        "seqkit.kit.labels": "Item LabelledSequenceTask label_order read_npz_items ClassifierTask=LabelledTask",
        "seqkit.kit.heads": "POOLINGS PooledHead pool", "seqkit.kit.scaling": "Standardize mean_std",
        "seqkit.kit.readers": "pad read_arrays", "seqkit.core.task": "Task TensorSpec",
        "seqkit.errors": "ConfigError SeqkitError"}),
    "seqkit.data": ("seqkit.kit", {
        "seqkit.kit.readers": "ARRAY_SUFFIXES TABLE_SUFFIXES pad read_arrays read_table",
        "seqkit.training.data": "batches split_indices stratify_groups subset to_device",
        "seqkit.errors": "SeqkitError"}),
    "seqkit.audio": ("seqkit.runtime.audio", {
        "seqkit.runtime.audio": "FrontEnd log_mel mel_filterbank read_wav wav_features wav_folder",
        "seqkit.errors": "SeqkitError"}),
    "seqkit.video": ("seqkit.kit.video", {"seqkit.kit.video": "MOTIONS pan_clip pan_clips"}),
    "seqkit.export": ("seqkit", {
        "seqkit.onnx.export": "ExportResult dynamic_shapes export metadata to_onnx",
        "seqkit.onnx": "DEFAULT_OPSET TRACE_SHAPE", "seqkit.onnx.verify": "META_PREFIX Report check_file "
        "verify_against_torch", "seqkit.core.compose": "Composition", "seqkit.core.task": "TensorSpec",
        "seqkit.files": "atomic_path", "seqkit.errors": "ExportError SeqkitError VerificationError"}),
    "seqkit.verify": ("seqkit", {
        "seqkit.onnx.verify": "Check META_PREFIX Report check_file read_metadata verification_shapes "
        "verify_against_torch verify_file", "seqkit.core.task": "TensorSpec sample_inputs",
        "seqkit": "runtime", "seqkit.errors": "SeqkitError"}),
    "seqkit.lowering": ("seqkit.onnx.lowering", {"seqkit.onnx.lowering": "native scan"}),
    "seqkit.lowering.native": ("seqkit.onnx.lowering.native", {
        "seqkit.onnx.lowering.native": "GATE_ORDER INT32 NativeRecurrentCell native_recurrent translate",
        "seqkit.core.cell": "Cell", "seqkit.core.config": "CellConfig"}),
    "seqkit.lowering.scan": ("seqkit", {
        "seqkit.onnx.lowering.scan": "ScanCell reverse_index reverse_within_lengths", "seqkit.core.cell": "Cell",
        "seqkit.core.config": "CellConfig", "seqkit.core.masks": "lengths_mask",
        "seqkit.errors": "ExportError SeqkitError"}),
    "seqkit.train": ("seqkit.training", {
        "seqkit.training.trainer": "Prepared TrainResult carve load_run prepare train",
        "seqkit.training.config": "TrainConfig", "seqkit.training.evaluation": "evaluate",
        "seqkit.training.distributed": "resolve_device",
        "seqkit.training.data": "batches split_indices stratify_groups subset to_device",
        "seqkit.training.runs": "CHECKPOINT CONFIG CURVES WEIGHTS default_run_dir read_checkpoint read_json "
        "read_weights to_json write_curves write_epoch write_json write_metrics",
        "seqkit.core.compose": "Composition compose", "seqkit.core.config": "CellConfig",
        "seqkit.core.plugins": "Plugins load_plugins", "seqkit.errors": "ConfigError SeqkitError"}),
    "seqkit.runs": ("seqkit.training.runs", {
        "seqkit.training.runs": "default_run_dir read_checkpoint read_json read_weights to_json write_checkpoint "
        "write_curves write_epoch write_json write_metrics", "seqkit.files": "atomic_write",
        "seqkit.errors": "SeqkitError"}),
    "seqkit.diagnose": ("seqkit.training.diagnose", {
        "seqkit.training.diagnose": "CellSpec GradientReport MAX_REPEAT_BATCH Profile TABLE_DISTANCES combine fmt "
        "jacobian_norms measure_cells measure_composition plot", "seqkit.core.config": "CellConfig",
        "seqkit.core.plugins": "Plugins load_plugins", "seqkit.files": "atomic_path",
        "seqkit.errors": "ConfigError SeqkitError"}),
}


def names(old: str) -> dict[str, tuple[str, str]]:
    """The names ``old`` offered in 0.1: {name: (present module, present name)}."""
    table = {}
    for module, text in ALIASES[old][1].items():
        for item in text.split():
            name, _, new = item.partition("=")
            table[name] = (module, new or name)
    return table


def message(old: str) -> str:
    return f"{old} is deprecated; import from {ALIASES[old][0]} (removed in {REMOVED_IN})"


class _Alias(types.ModuleType):
    """An old module path: its names are looked up at their present home when first used."""

    def __getattr__(self, name: str):
        where = names(self.__name__).get(name)
        if where is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r} (the 0.1 path "
                                 f"{self.__name__} is deprecated: import from {ALIASES[self.__name__][0]})")
        module = importlib.import_module(where[0])
        if not hasattr(module, where[1]):  # a module 0.1 offered as a name (seqkit.verify.runtime)
            importlib.import_module(f"{where[0]}.{where[1]}")
        value = getattr(module, where[1])
        setattr(self, name, value)
        return value

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(names(self.__name__)))

    def __call__(self, *args, **kwargs):  # ``seqkit.export`` is the function again after ``import seqkit.export``
        if self.__name__ != "seqkit.export":
            raise TypeError(f"module {self.__name__!r} is not callable")
        return self.export(*args, **kwargs)


def _caller_level() -> int:
    """warnings.warn's stacklevel for the frame that imported the old path. warnings itself skips importlib's
    bootstrap frames without counting them; importlib.import_module and this file are counted and passed over."""
    here, level, frame = os.path.normcase(__file__), 2, sys._getframe(2)
    importlib_dir = os.path.normcase(os.path.dirname(importlib.__file__))
    while frame is not None:
        name = os.path.normcase(frame.f_code.co_filename)
        if not ("importlib" in name and "_bootstrap" in name):  # what warnings skips
            if name != here and not name.startswith(importlib_dir):
                return level
            level += 1
        frame = frame.f_back
    return 2


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in ALIASES:
            return None
        package = any(other.startswith(fullname + ".") for other in ALIASES)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=package)

    def create_module(self, spec):
        module = _Alias(spec.name, f"Deprecated alias: {message(spec.name)}.")
        module.__all__ = sorted(names(spec.name))
        return module

    def exec_module(self, module):
        warnings.warn(message(module.__name__), DeprecationWarning, stacklevel=_caller_level())


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (``import seqkit`` calls this)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
