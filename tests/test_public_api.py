"""The declared plugin API holds (tests/public_api.txt pins it), and every module path of seqkit 0.1 still imports,
hands on its names and warns once (seqkit/_compat.py)."""
import importlib
import inspect
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import seqkit
from seqkit import _compat

HERE = Path(__file__).parent
DOCS = (HERE.parent / "docs" / "plugins.md").read_text()
PINNED = [tuple(line.split()) for line in (HERE / "public_api.txt").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
#: modules whose __all__ is the declared set (seqkit.testing: the pinned names)
DECLARING = ("seqkit", "seqkit.kit", "seqkit.errors")

#: every module of the 0.1 release (git ls-tree -r --name-only 19ff133^ seqkit) and what moved or stayed
OLD_MODULES = ["seqkit.audio", "seqkit.cell", "seqkit.data", "seqkit.diagnose", "seqkit.export", "seqkit.features",
               "seqkit.hookspecs", "seqkit.lowering", "seqkit.lowering.native", "seqkit.lowering.scan",
               "seqkit.model", "seqkit.plugins", "seqkit.registry", "seqkit.runs", "seqkit.task", "seqkit.train",
               "seqkit.verify", "seqkit.video"]
#: 0.1 modules still at their path: the names they offered then
KEPT = {"seqkit.runtime": "PROVIDERS PROVIDER_OPTIONS TOLERANCES Session open_session",
        "seqkit.errors": "SeqkitError PluginError ConfigError ExportError VerificationError ProviderError",
        "seqkit.files": "atomic_path atomic_write",
        "seqkit.testing": "assert_exports onnx_ops assert_cell_contract seqkit_plugins",
        "seqkit": "hookimpl Cell CellConfig ScanCell Task TensorSpec Composition SequenceModel compose load_plugins "
                  "SeqkitError __version__ PLUGIN_API_VERSION export to_onnx verify_against_torch verify_file"}


def test_every_declared_name_imports_from_its_declared_path_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for module, name in PINNED:
            assert getattr(importlib.import_module(module), name) is not None, (module, name)


def test_pinned_names_stay_declared():
    """Removing a name from the API, or moving it to another module, fails here (adding one is fine)."""
    for module, name in PINNED:
        if module in DECLARING:
            assert name in importlib.import_module(module).__all__, f"{module}.{name} left the declared API"


def test_one_import_path_per_public_name():
    seen: dict[str, str] = {}
    declared = [(m, n) for m in DECLARING for n in importlib.import_module(m).__all__] + PINNED
    for module, name in declared:
        if (module, name) in (("seqkit", "SeqkitError"), ("seqkit", "__version__"), ("seqkit", "PLUGIN_API_VERSION")):
            continue  # SeqkitError also at the root, as in 0.1; the errors' declared home is seqkit.errors
        assert seen.setdefault(name, module) == module, f"{name} is declared in {seen[name]} and {module}"


def _signature(obj) -> str:
    """``name(a, b=1)``: the parameters without annotations (a class: its constructor's)."""
    sig = inspect.signature(obj)
    params = [p.replace(annotation=p.empty) for p in sig.parameters.values()]
    return f"{obj.__name__}{sig.replace(parameters=params, return_annotation=sig.empty)}"


def test_docs_list_every_declared_name_and_the_kit_signatures():
    contract = DOCS[DOCS.index("## The public API"):]
    for module, name in {*PINNED, *((m, n) for m in DECLARING for n in importlib.import_module(m).__all__)}:
        assert f"`{name}" in contract, f"docs/plugins.md does not list {module}.{name} in its contract"
    import seqkit.kit

    for name in seqkit.kit.__all__:
        obj = getattr(seqkit.kit, name)
        if callable(obj):
            assert _signature(obj) in contract, f"docs/plugins.md lacks the signature {_signature(obj)}"


_PROBE = """
import importlib, json, sys, warnings
old, kept = json.loads(sys.argv[1]), json.loads(sys.argv[2])
import seqkit
from seqkit import _compat
out = {}
for module in old:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = importlib.import_module(module)
        missing = [n for n in m.__all__ if getattr(m, n, None) is None]
    out[module] = {"warnings": [(w.category.__name__, str(w.message), w.filename) for w in caught],
                   "missing": missing, "all": m.__all__}
out["kept"] = {m: [n for n in names.split() if not hasattr(importlib.import_module(m), n)] for m, names in kept.items()}
import seqkit.export
out["export"] = [callable(seqkit.export), callable(seqkit.export.export)]
print(json.dumps(out))
"""


def test_every_0_1_module_path_imports_warns_once_and_hands_on_its_names(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(_PROBE)
    run = subprocess.run([sys.executable, str(script), json.dumps(OLD_MODULES), json.dumps(KEPT)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.splitlines()[-1])
    for module in OLD_MODULES:
        got = out[module]
        assert not got["missing"], f"{module}: {got['missing']} do not resolve"
        assert got["all"] == sorted(_compat.names(module)) and len(got["all"]) >= 2, module
        mine = [w for w in got["warnings"] if module + " is" in w[1]]
        assert len(mine) == 1, (module, got["warnings"])
        category, text, filename = mine[0]
        assert category == "DeprecationWarning" and text == _compat.message(module), text
        assert f"removed in {_compat.REMOVED_IN}" in text and filename == str(script), (text, filename)
    assert out["kept"] == {m: [] for m in KEPT}, out["kept"]
    assert out["export"] == [True, True]  # `import seqkit.export` leaves seqkit.export(...) callable, as in 0.1


def test_renamed_and_moved_again_names_resolve_at_their_present_home():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from seqkit.features import ClassifierTask, mean_std
        from seqkit.task import lengths_mask, pool
        from seqkit.train import TrainConfig
    import seqkit.kit
    import seqkit.training

    assert ClassifierTask is seqkit.kit.LabelledTask and mean_std is seqkit.kit.mean_std
    assert lengths_mask is seqkit.lengths_mask and pool is seqkit.kit.pool
    assert TrainConfig is seqkit.training.TrainConfig
    with pytest.raises(AttributeError, match="deprecated: import from seqkit.kit"):
        importlib.import_module("seqkit.data").check_finite  # noqa: B018 (gone in 0.2: said so)


def test_the_0_1_runtime_names_import_without_torch():
    code = ("import sys; from seqkit.runtime import PROVIDERS, PROVIDER_OPTIONS, TOLERANCES, Session, open_session; "
            "import seqkit.audio; seqkit.audio.log_mel; print(sorted({m.split('.')[0] for m in sys.modules}))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(run.stdout.splitlines()[-1].replace("'", '"')))
    assert not loaded & {"torch", "onnx"}, loaded & {"torch", "onnx"}


def test_the_alias_table_names_only_modules_that_exist():
    for old in _compat.ALIASES:
        assert old.startswith("seqkit.") and importlib.util.find_spec(old) is not None
        for module, _ in _compat.names(old).values():
            assert importlib.util.find_spec(module) is not None, (old, module)
    assert seqkit.__name__ == "seqkit"
