"""The plugin manager: loads every module of the ``seqkit`` entry-point group, built-ins included.

Faults stay local: a plugin that fails to import or to register is recorded in :attr:`Plugins.problems`
(name and reason) and the others keep working. ``SEQKIT_DISABLE_PLUGINS=a,b`` skips plugins by entry-point
name, for debugging a broken install.
"""
from __future__ import annotations

import importlib.metadata as md
import os
from dataclasses import dataclass, field

import pluggy

from . import hookspecs
from .registry import Registry, Source

GROUP = "seqkit"
DISABLE_ENV = "SEQKIT_DISABLE_PLUGINS"


@dataclass
class Problem:
    plugin: str
    reason: str

    def __str__(self) -> str:
        return f"plugin '{self.plugin}': {self.reason}"


@dataclass
class Plugins:
    """A loaded set of plugins and the registries they filled. Build one with :func:`load_plugins`."""

    manager: pluggy.PluginManager
    cells: Registry
    tasks: Registry
    sources: dict[str, Source] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)

    def cell(self, name: str):
        """The registered cell class for ``name``."""
        return self.cells.get(name).obj

    def task(self, name: str):
        """The registered task class for ``name``."""
        return self.tasks.get(name).obj


def _disabled_names() -> list[str]:
    return [n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()]


def _entry_points() -> list[md.EntryPoint]:
    seen: dict[str, md.EntryPoint] = {}
    for ep in md.entry_points(group=GROUP):
        seen.setdefault(ep.name, ep)  # an editable and a regular install can both list the same name
    return sorted(seen.values(), key=lambda ep: ep.name)


def load_plugins(extra: dict[str, object] | None = None) -> Plugins:
    """A fresh plugin manager with every entry point of group ``seqkit`` plus ``extra`` {name: module}.

    Each call builds new registries, so tests get no state from one another.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = Plugins(pm, Registry("cell"), Registry("task"), disabled=_disabled_names())
    candidates: list[tuple[str, object, Source]] = []
    for ep in _entry_points():
        if ep.name in plugins.disabled:
            continue
        dist = ep.dist
        source = Source(ep.name, dist.metadata["Name"] if dist else "?", dist.version if dist else "?")
        try:
            module = ep.load()
        except Exception as exc:  # any import failure of a third-party module must not take seqkit down
            plugins.problems.append(Problem(ep.name, f"failed to import {ep.value}: {type(exc).__name__}: {exc}"))
            continue
        candidates.append((ep.name, module, source))
    for name, module in (extra or {}).items():
        if name not in plugins.disabled:
            candidates.append((name, module, Source(name, "<local>", "-")))
    for name, module, source in candidates:
        try:
            pm.register(module, name=name)
        except Exception as exc:  # pluggy validates hook names and signatures here
            plugins.problems.append(Problem(name, f"rejected by the plugin manager: {exc}"))
            continue
        plugins.sources[name] = source
    _fill(plugins, "seqkit_register_cells", plugins.cells)
    _fill(plugins, "seqkit_register_tasks", plugins.tasks)
    return plugins


def _fill(plugins: Plugins, hook_name: str, registry: Registry) -> None:
    """Call each plugin's hook separately, so that one plugin's failure is its own."""
    for impl in getattr(plugins.manager.hook, hook_name).get_hookimpls():
        registry._current = plugins.sources.get(impl.plugin_name, Source(impl.plugin_name))
        try:
            impl.function(registry=registry)
        except Exception as exc:
            plugins.problems.append(Problem(impl.plugin_name, f"{hook_name} failed: {type(exc).__name__}: {exc}"))
        finally:
            registry._current = None
