"""Third-party plugins: the two packages in plugins/ (installed for real), and every fault a plugin can cause.

Faults use in-memory modules (``load_plugins(extra=...)``) or a real entry point of a throwaway distribution
put on ``sys.path``; each must give one clear problem naming the plugin and the fix, and leave the others working.
"""
import importlib.metadata as md
import json
import os
import subprocess
import sys
import textwrap
import types

import pytest
import torch
from click.testing import CliRunner
from plugin_fixtures import plugin_module, write_distribution
from torch import nn

import seqkit
from seqkit import hookimpl
from seqkit.cli import cli
from seqkit.core.cell import Cell
from seqkit.errors import ExportError, PluginError


class Tiny(seqkit.ScanCell):
    """A one-line step cell for registry tests."""

    def init_step(self, input_size):
        self.lin = nn.Linear(input_size + self.hidden_size, self.hidden_size)

    def step(self, x_t, state):
        h = torch.tanh(self.lin(torch.cat([x_t, state[0]], -1)))
        return h, (h,)


def _problems(loaded, plugin):
    return [p.reason for p in loaded.problems if p.plugin == plugin]


# -- the installed packages --------------------------------------------------------------------------------
def test_entry_point_discovery_lists_both_packages_with_distribution_and_version():
    result = CliRunner().invoke(cli, ["plugins", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.output)["plugins"]}
    for key, dist in [(("cell", "indrnn"), "seqkit-indrnn"), (("task", "tagging"), "seqkit-tagging")]:
        assert rows[key]["distribution"] == dist
        assert rows[key]["version"] == md.version(dist)
    problems = json.loads(result.output)["problems"]
    assert not [p for p in problems if "indrnn" in p or "tagging" in p]


@pytest.mark.slow
def test_cli_exports_the_new_cell_and_the_new_task(tmp_path):
    runner = CliRunner()
    cell = runner.invoke(cli, ["export", "--cell", "indrnn", "--num-layers", "2", "-o", str(tmp_path / "c.onnx"),
                               "--json"], catch_exceptions=False)
    assert cell.exit_code == 0, cell.output
    assert json.loads(cell.output)["verification"]["ok"]
    both = runner.invoke(cli, ["export", "--cell", "indrnn", "--task", "tagging", "--bidirectional",
                               "-T", "num_tags=3", "-o", str(tmp_path / "t.onnx"), "--json"], catch_exceptions=False)
    assert both.exit_code == 0, both.output
    report = json.loads(both.output)["verification"]
    assert report["ok"] and report["metadata"]["task"] == "tagging" and report["metadata"]["cell"] == "indrnn"
    assert report["metadata"]["outputs"][0]["shape"] == ["batch", "time", 3]


UNINSTALLED = textwrap.dedent("""
    # Runs with site-packages replaced by a view of it without one distribution's files: what
    # 'pip uninstall' removes (its package directory and its .dist-info) is absent; nothing else changes.
    import importlib, importlib.metadata as md, importlib.util, json, sys
    real, view, package = sys.argv[1:4]
    sys.path[:] = [view if p == real else p for p in sys.path]
    importlib.invalidate_caches()
    from click.testing import CliRunner
    from seqkit.cli import cli
    try:
        md.distribution(package.replace("_", "-"))
        dist_found = True
    except md.PackageNotFoundError:
        dist_found = False
    runner = CliRunner()
    out = {"importable": importlib.util.find_spec(package) is not None, "dist_found": dist_found}
    listed = runner.invoke(cli, ["plugins", "--json"])
    out["plugins"] = json.loads(listed.output)
    cell = runner.invoke(cli, ["export", "--cell", "indrnn", "-o", sys.argv[4], "--json"])
    out["cell_export"] = [cell.exit_code, cell.output[-400:]]
    task = runner.invoke(cli, ["export", "--task", "tagging", "-o", sys.argv[4] + ".2"])
    out["task_export"] = [task.exit_code, task.output]
    print("RESULT" + json.dumps(out))
""")


@pytest.mark.slow
def test_uninstalling_one_plugin_leaves_seqkit_and_the_other_working(tmp_path):
    """A subprocess sees site-packages as symlinks to everything except seqkit_tagging's package directory and
    .dist-info -- the files ``pip uninstall seqkit-tagging`` removes -- without touching the shared venv.

    It proves that seqkit then starts, lists the remaining plugins without problems, exports with the other
    third-party plugin, and answers the missing task with one clear line. It does not run pip itself.
    """
    import seqkit_tagging

    package_dir = os.path.dirname(seqkit_tagging.__file__)
    site_packages = os.path.dirname(package_dir)
    view = tmp_path / "site-packages"
    view.mkdir()
    for name in os.listdir(site_packages):
        if not name.startswith("seqkit_tagging"):  # the package and seqkit_tagging-<version>.dist-info
            os.symlink(os.path.join(site_packages, name), view / name)
    proc = subprocess.run([sys.executable, "-c", UNINSTALLED, site_packages, str(view), "seqkit_tagging",
                           str(tmp_path / "i.onnx")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert not out["importable"] and not out["dist_found"]
    names = {(r["kind"], r["name"]) for r in out["plugins"]["plugins"]}
    assert ("cell", "indrnn") in names and ("cell", "gru") in names and ("task", "tagging") not in names
    assert not [p for p in out["plugins"]["problems"] if "tagging" in p]
    assert out["cell_export"][0] == 0, out["cell_export"]
    assert out["task_export"][0] == 1 and "unknown task 'tagging'" in out["task_export"][1]
    assert "Traceback" not in out["task_export"][1]


# -- the hooks, one test each (tests/test_hooks_documented.py checks that every hook has one) --------------
def test_hook_seqkit_register_cells():
    loaded = seqkit.load_plugins(extra={"tiny": plugin_module("tiny", seqkit_register_cells=lambda registry:
                                                          registry.register("tiny", Tiny))})
    entry = loaded.cells.get("tiny")
    assert entry.obj is Tiny and entry.source.plugin == "tiny" and entry.description.startswith("A one-line")
    seqkit.compose("tiny", plugins=loaded)


def test_hook_seqkit_register_tasks():
    task_cls = seqkit.load_plugins().task("classification")

    class Renamed(task_cls):
        """Classification under another name."""

    loaded = seqkit.load_plugins(extra={"t": plugin_module("t", seqkit_register_tasks=lambda registry:
                                                     registry.register("renamed", Renamed))})
    assert loaded.task("renamed") is Renamed and loaded.tasks.get("renamed").source.plugin == "t"
    seqkit.compose("gru", "renamed", plugins=loaded)


# -- faults ------------------------------------------------------------------------------------------------
def test_a_plugin_that_raises_on_import_is_reported_with_the_fix(tmp_path, monkeypatch):
    write_distribution(tmp_path, "seqkit-broken", "0.3", {"broken": "seqkit_broken_mod"},
                       {"seqkit_broken_mod": "raise ImportError('seqkit_broken needs scipy')\n"})
    (tmp_path / "local_broken.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = seqkit.load_plugins(extra={"local": "local_broken"})
    [reason] = _problems(loaded, "broken")
    assert "importing seqkit_broken_mod failed: ImportError: seqkit_broken needs scipy" in reason
    assert "pip install -U seqkit-broken" in reason and "SEQKIT_DISABLE_PLUGINS=broken" in reason
    [local] = _problems(loaded, "local")
    assert "ModuleNotFoundError" in local and "no_such_module_anywhere" in local
    assert "gru" in loaded.cells.names() and "classification" in loaded.tasks.names()
    monkeypatch.setenv("SEQKIT_DISABLE_PLUGINS", "broken")
    assert not _problems(seqkit.load_plugins(), "broken")


@pytest.mark.parametrize("need,ok", [(1, True), (">=1", True), (">=1,<3", True), (">=2", False), ("==0", False)])
def test_plugin_api_version_is_checked(need, ok):
    loaded = seqkit.load_plugins(extra={"v": plugin_module("v", SEQKIT_PLUGIN_API=need, seqkit_register_cells=lambda
                                                     registry: registry.register("vcell", Tiny))})
    assert ("vcell" in loaded.cells.names()) is ok
    if not ok:
        [reason] = _problems(loaded, "v")
        assert f"needs seqkit plugin API {need}, but seqkit {seqkit.__version__} offers plugin API 1" in reason
        assert ("upgrade seqkit" in reason) is (need == ">=2")
    assert "gru" in loaded.cells.names()


def test_an_unreadable_api_requirement_is_reported():
    loaded = seqkit.load_plugins(extra={"v": plugin_module("v", SEQKIT_PLUGIN_API="latest")})
    [reason] = _problems(loaded, "v")
    assert "SEQKIT_PLUGIN_API = 'latest', which is not a plugin API requirement" in reason


def test_a_real_entry_point_that_needs_a_newer_api_names_its_distribution(tmp_path, monkeypatch):
    write_distribution(tmp_path, "seqkit-future", "0.3", {"future": "seqkit_future_mod"},
                       {"seqkit_future_mod": "SEQKIT_PLUGIN_API = '>=7'\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    [reason] = _problems(seqkit.load_plugins(), "future")
    assert "needs seqkit plugin API >=7" in reason and "upgrade seqkit" in reason
    assert "SEQKIT_DISABLE_PLUGINS=future" in reason


def test_a_name_registered_twice_by_one_plugin_is_its_problem_and_nothing_is_kept():
    class Other(Tiny):
        pass

    def twice(registry):
        registry.register("keep", Tiny)
        registry.register("dup", Tiny)
        registry.register("dup", Other)

    loaded = seqkit.load_plugins(extra={"twice": plugin_module("twice", seqkit_register_cells=twice)})
    [reason] = _problems(loaded, "twice")
    assert "registered cell 'dup' twice (first Tiny, then Other); register each name once" in reason
    assert "dropped what it registered (dup, keep)" in reason
    assert "dup" not in loaded.cells.names() and "keep" not in loaded.cells.names() and not loaded.cells.conflicts


def test_a_name_claimed_by_two_plugins_names_both_and_the_fix():
    loaded = seqkit.load_plugins(extra={"a": plugin_module("a", seqkit_register_cells=lambda registry:
                                                     registry.register("gru", Tiny))})
    with pytest.raises(PluginError, match=r"'gru' is registered by both plugin 'gru' \(seqkit .*\) and plugin "
                                          r"'a'.*SEQKIT_DISABLE_PLUGINS \(one of: gru,a\)"):
        loaded.cell("gru")
    assert loaded.cell("lstm").__name__ == "LSTMCell"


def test_a_hook_with_a_wrong_signature_is_explained_in_plain_words():
    def seqkit_register_cells(reg):
        reg.register("never", Tiny)

    loaded = seqkit.load_plugins(extra={"sig": plugin_module("sig", seqkit_register_cells=seqkit_register_cells),
                                        "good": plugin_module("good", seqkit_register_cells=lambda registry:
                                                        registry.register("good", Tiny))})
    [reason] = _problems(loaded, "sig")
    assert "its hook seqkit_register_cells(reg) takes argument 'reg', which seqkit does not pass" in reason
    assert "the hook is seqkit_register_cells(registry)" in reason
    assert "never" not in loaded.cells.names() and "good" in loaded.cells.names()


def test_a_misspelled_or_undecorated_hook_is_pointed_out():
    mod = types.ModuleType("typo")
    mod.seqkit_register_cell = hookimpl(lambda registry: None)

    def seqkit_register_tasks(registry):
        pass

    mod.seqkit_register_tasks = seqkit_register_tasks  # no @hookimpl
    reasons = _problems(seqkit.load_plugins(extra={"typo": mod}), "typo")
    assert any("seqkit_register_cell, which is not a seqkit hook; did you mean seqkit_register_cells?" in r
               for r in reasons)
    assert any("seqkit_register_tasks() without the @seqkit.hookimpl decorator" in r for r in reasons)


def test_a_hook_that_raises_keeps_none_of_its_registrations():
    def half(registry):
        registry.register("half_done", Tiny)
        registry.register("gru", Tiny)  # would clash with the built-in
        raise RuntimeError("lost my config file")

    loaded = seqkit.load_plugins(extra={"half": plugin_module("half", seqkit_register_cells=half)})
    [reason] = _problems(loaded, "half")
    assert "seqkit_register_cells raised RuntimeError: lost my config file" in reason
    assert "dropped what it registered (gru, half_done)" in reason and "SEQKIT_DISABLE_PLUGINS=half" in reason
    assert "half_done" not in loaded.cells.names()
    assert loaded.cell("gru").__name__ == "GRUCell" and not loaded.cells.conflicts  # the built-in is intact


def test_registering_something_that_is_not_a_cell_class_is_refused():
    loaded = seqkit.load_plugins(extra={"obj": plugin_module("obj", seqkit_register_cells=lambda registry:
                                                       registry.register("inst", Tiny(3, seqkit.CellConfig())))})
    [reason] = _problems(loaded, "obj")
    assert "which is not a subclass of seqkit.Cell; register the class itself" in reason


class NotExportable(Cell):
    """Branches in Python on a tensor value: fine in PyTorch, impossible to trace into a graph."""

    def __init__(self, input_size, config):
        super().__init__(input_size, config)
        self.lin = nn.Linear(input_size, self.hidden_size)

    def forward(self, x, lengths=None, state=None):
        y = self.lin(x)
        if y.sum() > 0:
            y = -y
        return y, (y[:, -1].unsqueeze(0),)


def test_a_cell_that_fails_export_is_named_with_its_plugin_module(tmp_path):
    loaded = seqkit.load_plugins(extra={"nx": plugin_module("nx", seqkit_register_cells=lambda registry:
                                                      registry.register("nx", NotExportable))})
    composition = seqkit.compose("nx", plugins=loaded)
    with pytest.raises(ExportError, match=r"for cell 'nx' \(class NotExportable from test_plugins_thirdparty\) "
                                          r"/ task 'classification': \w+"):
        seqkit.export(composition, tmp_path / "nx.onnx")
    assert not list(tmp_path.iterdir())
