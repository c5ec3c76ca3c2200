"""docs/plugins.md runs as written: its snippets build a package that pip installs and whose tests pass, and each
row of its fault table is the message seqkit really gives for that fault."""
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from plugin_fixtures import write_distribution

import seqkit
from seqkit.errors import SeqkitError

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def snippets(language: str) -> dict[str, str]:
    """Fenced ``language`` blocks of docs/plugins.md whose first line is a ``# file name`` comment, by name."""
    found = {}
    for block in re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S):
        first = block.splitlines()[0]
        if first.startswith("# "):
            found[first[2:].split()[0]] = block
    return found


PY, TOML = snippets("python"), snippets("toml")


def test_the_snippets_are_there():
    assert {"my_cells.py", "my_tasks.py", "test_my_cells.py"} <= set(PY) and "pyproject.toml" in TOML


def _module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    try:
        exec(compile(source, f"{name}.py", "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    return module


@pytest.mark.slow
def test_the_cell_package_installs_and_its_documented_tests_pass(tmp_path):
    """pyproject.toml + my_cells.py from the docs, pip-installed (into a folder, not the shared venv), then the
    docs' test file run by pytest in a fresh interpreter that sees that folder."""
    package, site, tests = tmp_path / "my-cells", tmp_path / "site", tmp_path / "tests"
    package.mkdir()
    tests.mkdir()
    (package / "pyproject.toml").write_text(TOML["pyproject.toml"])
    (package / "my_cells.py").write_text(PY["my_cells.py"])
    (tests / "test_my_cells.py").write_text(PY["test_my_cells.py"])
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--target", str(site), str(package)], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "3 passed" in run.stdout


def test_the_task_snippet_composes_exports_and_verifies(tmp_path):
    loaded = seqkit.load_plugins(extra={"my-tagging": _module("my_tasks", PY["my_tasks.py"])})
    assert not [p for p in loaded.problems if p.plugin == "my-tagging"]
    composition = seqkit.compose("gru", "my-tagging", seqkit.CellConfig(hidden_size=4), plugins=loaded)
    assert seqkit.export(composition, tmp_path / "t.onnx").report.ok


# -- the fault table ---------------------------------------------------------------------------------------------
def _installed(tmp_path, monkeypatch, modules: dict, entry_points: dict | None = None, dist="my-cells",
               version="1.0"):
    """Modules (my_cells, ...) installed as distribution ``dist`` with entry points (default ``x = my_cells``)."""
    root = write_distribution(tmp_path / dist, dist, version, entry_points or {"x": "my_cells"}, modules)
    monkeypatch.syspath_prepend(str(root))
    for name in modules:
        monkeypatch.delitem(sys.modules, name, raising=False)
    return seqkit.load_plugins()


def _problem(loaded, plugin="x") -> str:
    found = [str(p) for p in loaded.problems if p.plugin == plugin]
    assert found, [str(p) for p in loaded.problems]
    return found[-1]


def _raised(fn) -> str:
    with pytest.raises(SeqkitError) as info:
        fn()
    return str(info.value)


def _cell(source: str) -> str:
    """my_cells.py from the docs with one change: ``source`` replaces the step body's first line."""
    return PY["my_cells.py"].replace("        h = state[0]\n", source, 1)


def _task(old: str, new: str) -> types.ModuleType:
    source = PY["my_tasks.py"]
    assert old in source
    return _module("my_tasks", source.replace(old, new, 1))


def _compose_task(module, cell="gru"):
    loaded = seqkit.load_plugins(extra={"my-tagging": module})
    return _raised(lambda: seqkit.compose(cell, "my-tagging", plugins=loaded))


HOOK = "import seqkit\n\n@seqkit.hookimpl\ndef seqkit_register_cells(registry):\n    {}\n"


def fault_messages(tmp_path, monkeypatch) -> dict:
    """{fault as named in the table: a function giving the real message}."""
    def installed(source, **kw):
        return _installed(tmp_path, monkeypatch, {"my_cells": source}, **kw)

    def clash(tmp_path=tmp_path):
        write_distribution(tmp_path / "a", "dist-a", "1.0", {"a": "cells_a"},
                           {"cells_a": PY["my_cells.py"].replace("my_cells", "cells_a")})
        write_distribution(tmp_path / "b", "dist-b", "2.0", {"b": "cells_b"},
                           {"cells_b": PY["my_cells.py"].replace("my_cells", "cells_b")})
        for name in "ab":
            monkeypatch.syspath_prepend(str(tmp_path / name))
        loaded = seqkit.load_plugins()
        return _problem(loaded, "b") + " || " + _raised(lambda: seqkit.compose("mgu", plugins=loaded))

    return {
        "module raises on import": lambda: _problem(installed("raise ImportError('No module named scipy')\n")),
        "module calls sys.exit() on import": lambda: _problem(installed("import sys\nsys.exit(3)\n")),
        "API version mismatch": lambda: _problem(installed(PY["my_cells.py"].replace(
            'SEQKIT_PLUGIN_API = ">=1"', 'SEQKIT_PLUGIN_API = ">=2"'))),
        "wrong hook signature": lambda: _problem(installed(
            "import seqkit\n\n@seqkit.hookimpl\ndef seqkit_register_cells(reg):\n    pass\n")),
        "misspelled hook": lambda: _problem(installed(
            "import seqkit\n\n@seqkit.hookimpl\ndef seqkit_register_cell(registry):\n    pass\n")),
        "hook without decorator": lambda: _problem(installed("def seqkit_register_tasks(registry):\n    pass\n")),
        "hook raises": lambda: _problem(installed(PY["my_cells.py"].replace(
            '    registry.register("mgu", MinimalGated)',
            '    registry.register("mgu", MinimalGated)\n    raise RuntimeError("no GPU here")'))),
        "a name twice in one plugin": lambda: _problem(installed(PY["my_cells.py"].replace(
            '    registry.register("mgu", MinimalGated)',
            '    registry.register("mgu", MinimalGated)\n    registry.register("mgu", seqkit.ScanCell)'))),
        "not a Cell/Task class": lambda: _problem(installed(HOOK.format('registry.register("mgu", 42)'))),
        "a name claimed by two plugins": clash,
        "a name a built-in has": lambda: _problem(installed(PY["my_cells.py"].replace(
            'registry.register("mgu"', 'registry.register("gru"'))),
        "-O value of the wrong type": lambda: _raised(lambda: seqkit.compose(
            "mgu", cell_config=seqkit.CellConfig(options={"gate_bias": "high"}), plugins=installed(PY["my_cells.py"]))),
        "cell's __init__ raises": lambda: _raised(lambda: seqkit.compose("mgu", plugins=installed(
            PY["my_cells.py"].replace("    def init_step(self, input_size):", "    def init_step(self, input_size):"
                                      "\n        raise RuntimeError('needs CUDA')")))),
        "step returns a wrong shape": lambda: _raised(lambda: seqkit.compose("mgu", plugins=installed(_cell(
            "        h = state[0][:, :-1]\n        return h, (h,)\n")))),
        "step is not traceable": lambda: _raised(lambda: seqkit.export(seqkit.compose("mgu", plugins=installed(
            _cell("        h = state[0] if x_t.sum() > 0 else -state[0]\n"))), tmp_path / "m.onnx")),
        "cell fails export": lambda: _raised(lambda: seqkit.export(seqkit.compose("mgu", plugins=installed(
            HOOK.format('registry.register("mgu", NotExportable)') + NOT_EXPORTABLE)), tmp_path / "m.onnx")),
        "head returns a tensor": lambda: _compose_task(_task("        return (self.proj(outputs) * mask,)",
                                                             "        return self.proj(outputs) * mask")),
        "axis named other than batch/time": lambda: _compose_task(_task('("tokens", ("batch", "time")',
                                                                        '("tokens", ("batch", "seq")')),
        "wrong feature_size": lambda: _compose_task(_task("        return self.config.embedding_dim",
                                                          "        return self.config.embedding_dim - 4")),
    }


NOT_EXPORTABLE = """

class NotExportable(seqkit.Cell):
    def forward(self, x, lengths=None, state=None):
        y = x.new_zeros(x.shape[0], x.shape[1], self.hidden_size)
        if int(x.sum()) > 0:                         # a Python branch on a value: torch.export cannot trace it
            y = y + 1
        return y, (y[:, -1].unsqueeze(0),)
"""


def fault_table() -> dict[str, list[str]]:
    """{fault: [documented messages]} from the table under "## Fault messages"."""
    text = DOC.read_text().split("## Fault messages", 1)[1]
    rows = re.findall(r"^\| ([^|`]+?) \| (`.+) \|$", text, re.M)
    return {fault: re.findall(r"`([^`]+)`", cell) for fault, cell in rows}


def pattern(message: str) -> str:
    """A documented message as a regex: ``...`` and ``<placeholders>`` match anything."""
    parts = re.split(r"\.\.\.|<[^>]*>", message)
    return ".*".join(re.escape(p) for p in parts)


TABLE = fault_table()


def test_the_table_lists_every_fault_this_file_can_make(tmp_path, monkeypatch):
    assert set(TABLE) == set(fault_messages(tmp_path, monkeypatch))


@pytest.mark.parametrize("fault", sorted(TABLE))
def test_each_documented_message_is_the_real_one(tmp_path, monkeypatch, fault):
    real = fault_messages(tmp_path, monkeypatch)[fault]()
    for documented in TABLE[fault]:
        assert re.search(pattern(documented), real, re.S), f"docs: {documented}\nreal: {real}"
