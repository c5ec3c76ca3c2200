"""Plugin discovery and registry errors (built-ins come through the same entry points as third parties)."""
import pytest
from plugin_fixtures import plugin_module

import seqkit
from seqkit.core.cell import Cell
from seqkit.errors import PluginError, SeqkitError


class _DummyCell(Cell):
    """A dummy cell for registry tests."""


def test_builtins_come_from_the_seqkit_distribution(plugins):
    for name in ("rnn", "lstm", "gru"):
        entry = plugins.cells.get(name)
        assert entry.source.plugin == name
        assert entry.source.distribution == "seqkit"
        assert entry.source.version == seqkit.__version__
    assert plugins.tasks.get("classification").source.distribution == "seqkit"


def test_unknown_name_lists_the_known_ones(plugins):
    with pytest.raises(SeqkitError, match=r"unknown cell 'nope'; known cells: .*gru.*lstm.*rnn"):
        plugins.cell("nope")


def test_a_name_claimed_twice_names_both_plugins_and_others_keep_working():
    def register(registry):
        registry.register("twin", _DummyCell)

    loaded = seqkit.load_plugins(extra={"first": plugin_module("first", seqkit_register_cells=register),
                                        "second": plugin_module("second", seqkit_register_cells=register)})
    with pytest.raises(PluginError, match=r"'twin' is registered by both plugin 'first'.*and plugin 'second'"):
        loaded.cell("twin")
    assert loaded.cell("gru").__name__ == "GRUCell"


def test_a_plugin_whose_hook_raises_is_reported_and_the_rest_works():
    def broken(registry):
        raise RuntimeError("boom")

    loaded = seqkit.load_plugins(extra={"broken": plugin_module("broken", seqkit_register_cells=broken)})
    assert any(p.plugin == "broken" and "boom" in p.reason for p in loaded.problems)
    seqkit.compose("gru", plugins=loaded)  # still usable


def test_bad_names_are_refused(plugins):
    def bad(registry):
        registry.register("Bad Name", _DummyCell)

    loaded = seqkit.load_plugins(extra={"bad": plugin_module("bad", seqkit_register_cells=bad)})
    assert any(p.plugin == "bad" and "names are lower case" in p.reason for p in loaded.problems)


def test_disable_plugins_by_name(monkeypatch):
    monkeypatch.setenv("SEQKIT_DISABLE_PLUGINS", "rnn, lstm")
    loaded = seqkit.load_plugins()
    assert "rnn" not in loaded.cells.names() and "lstm" not in loaded.cells.names()
    assert "gru" in loaded.cells.names()
    assert loaded.disabled == ["rnn", "lstm"]


def test_each_load_is_fresh():
    def register(registry):
        registry.register("ephemeral", _DummyCell)

    with_extra = seqkit.load_plugins(extra={"tmp": plugin_module("tmp", seqkit_register_cells=register)})
    assert "ephemeral" in with_extra.cells.names()
    assert "ephemeral" not in seqkit.load_plugins().cells.names()
