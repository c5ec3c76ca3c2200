"""The architecture holds: a light package root, no torch for --help, boundaries between layers."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

import seqkit

ROOT = Path(seqkit.__file__).parent


def _imports_after(code: str) -> set[str]:
    """Top-level module names imported by running ``code`` in a fresh interpreter."""
    probe = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.splitlines()[-1].split())  # the last line: --help text before it may name modules


@pytest.mark.parametrize("code", [
    "import seqkit",
    "import seqkit; seqkit.__version__; seqkit.SeqkitError",
    "from seqkit.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
    "from seqkit.cli import main\ntry:\n    main(['plugins', '--help'])\nexcept SystemExit:\n    pass",
    "from seqkit.cli import main\ntry:\n    main(['predict', '--help'])\nexcept SystemExit:\n    pass",
    "from seqkit.cli import main\ntry:\n    main(['serve', '--help'])\nexcept SystemExit:\n    pass",
])
def test_light_entry_points_import_no_torch_or_onnx(code):
    loaded = _imports_after(code)
    assert not loaded & {"torch", "onnx", "onnxscript", "onnxruntime"}, loaded & {"torch", "onnx", "onnxruntime"}


def test_lazy_root_still_offers_the_api():
    for name in ("compose", "export", "hookimpl", "Cell", "CellConfig", "ScanCell", "Task", "TensorSpec",
                 "load_plugins", "verify_file", "lengths_mask"):
        assert getattr(seqkit, name) is not None
    with pytest.raises(AttributeError):
        seqkit.no_such_name  # noqa: B018


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module if node.level == 0 else "." * node.level + node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_no_module_imports_back_from_the_package_root():
    offenders = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT
                 if {"seqkit", "."} & _imported_modules(p) and "builtin" not in p.parts]
    assert not offenders, f"import from seqkit's root inside the package: {offenders}"


def test_cells_and_lowerings_know_nothing_of_tasks():
    cell_code = [ROOT / "core" / "cell.py", *(ROOT / "onnx" / "lowering").glob("*.py"),
                 *(ROOT / "builtin" / "cells").glob("*.py")]
    for path in cell_code:
        task_code = ("seqkit.core.task", "seqkit.kit", "seqkit.builtin.tasks")
        bad = {m for m in _imported_modules(path) if m.startswith(task_code)}
        assert not bad, f"{path.relative_to(ROOT)} imports task code: {bad}"


def test_export_and_verification_know_nothing_of_cli_or_training():
    for path in (ROOT / "onnx").rglob("*.py"):
        bad = {m for m in _imported_modules(path) if m.startswith(("seqkit.cli", "seqkit.training"))}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_one_version_source():
    pyproject = (ROOT.parent / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and "seqkit._version.__version__" in pyproject
    from importlib.metadata import version
    assert version("seqkit") == seqkit.__version__


def test_runtime_imports_only_numpy_onnxruntime_and_itself():
    """seqkit/runtime is what a torch-free server installs: stdlib, numpy, onnxruntime, seqkit.errors, itself."""
    for path in (ROOT / "runtime").rglob("*.py"):
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top == "seqkit":
                assert module == "seqkit.errors" or module.startswith("seqkit.runtime"), (path.name, module)
            else:
                assert top in {"numpy", "onnxruntime", "__future__"} or top in sys.stdlib_module_names, (path.name,
                                                                                                       module)


def test_serve_imports_only_the_runtime_and_mlserver():
    """seqkit/serve (``seqkit serve``) runs where torch is not installed: stdlib, numpy, MLServer and what it brings
    (fastapi), seqkit.runtime and seqkit.errors."""
    for path in (ROOT / "serve").rglob("*.py"):
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top == "seqkit":
                assert module == "seqkit.errors" or module.startswith(("seqkit.runtime", "seqkit.serve")), (
                    path.name, module)
            else:
                assert top in {"numpy", "mlserver", "fastapi", "__future__"} or top in sys.stdlib_module_names, (
                    path.name, module)
