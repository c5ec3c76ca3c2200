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
    """seqkit/serve (``seqkit serve``) runs where torch is not installed: stdlib, numpy, MLServer and what it
    requires itself (fastapi, starlette, pydantic, orjson), seqkit.runtime and seqkit.errors."""
    for path in (ROOT / "serve").rglob("*.py"):
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top == "seqkit":
                assert module == "seqkit.errors" or module.startswith(("seqkit.runtime", "seqkit.serve")), (
                    path.name, module)
            else:
                assert top in {"numpy", "mlserver", "fastapi", "starlette", "pydantic", "orjson", "__future__"} \
                    or top in sys.stdlib_module_names, (
                    path.name, module)
# -- the import table of docs/architecture.md, and no circles ---------------------------------------------------
BASE = {"errors", "files", "_version"}  # modules every layer may import (runtime: errors only)


def _import_table() -> dict[str, set[str]]:
    """``{layer: allowed targets}`` from the ```imports block of docs/architecture.md."""
    text = (ROOT.parent / "docs" / "architecture.md").read_text()
    block = text.split("```imports\n", 1)[1].split("```", 1)[0]
    table = {}
    for line in block.splitlines():
        layer, _, targets = line.partition("->")
        table[layer.strip()] = {t.strip() for t in targets.split(",") if t.strip()}
    return table


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "seqkit"


def test_every_import_follows_the_table_of_docs_architecture():
    table = _import_table()
    assert {"cli", "training", "onnx", "builtin", "kit", "core", "runtime", "testing"} <= set(table)
    offenders = []
    for module, path in _modules().items():
        layer = _layer(module)
        if layer not in table:
            continue  # the root, __main__ and the base modules themselves
        allowed = table[layer] | {layer} | (BASE if layer != "runtime" else {"errors"})
        for imported in _imported_modules(path):
            if not imported.startswith("seqkit") or imported.startswith("."):
                continue
            target = imported.split(".")[1] if "." in imported else "seqkit"
            dotted = ".".join(imported.split(".")[1:3])
            if target not in allowed and dotted not in allowed:
                offenders.append(f"{module} imports {imported}")
    assert not offenders, "imports outside docs/architecture.md's table: " + "; ".join(offenders)


def test_no_modules_import_each_other_in_a_circle():
    """Every seqkit import (function-level ones too: a lazy import hides a circle, it does not remove it)."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                edges |= {node.module} & set(modules)
                edges |= {f"{node.module}.{a.name}" for a in node.names} & set(modules)
            elif isinstance(node, ast.Import):
                edges |= {a.name for a in node.names} & set(modules)
        graph[module] = edges - {module}
    done, path_stack, circles = set(), [], []

    def visit(module):
        if module in path_stack:
            circles.append(" -> ".join(path_stack[path_stack.index(module):] + [module]))
            return
        if module in done:
            return
        path_stack.append(module)
        for target in sorted(graph[module]):
            visit(target)
        path_stack.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert not circles, f"import circles: {circles}"
