"""The plugin manager: loads every module of the ``seqkit`` entry-point group, built-ins included.

Faults stay local: a plugin that fails to import, needs another plugin API version, implements a hook with a
wrong signature, or whose hook raises is recorded in :attr:`Plugins.problems` (plugin, what went wrong, and
the fix) and the others keep working. A hook that raises keeps none of the names it registered.
``SEQKIT_DISABLE_PLUGINS=a,b`` skips plugins by entry-point name, for debugging a broken install.
The messages are listed in docs/plugins.md.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.metadata as md
import inspect
import os
import re
from dataclasses import dataclass, field

import pluggy

from seqkit.core import hookspecs
from seqkit.core.cell import Cell
from seqkit.core.registry import Registry, Source
from seqkit.core.task import Task
from seqkit.errors import described

GROUP = "seqkit"
DISABLE_ENV = "SEQKIT_DISABLE_PLUGINS"
#: module attribute a plugin sets to the plugin API it needs: ``1``, ``">=1"``, ``">=1,<3"``
API_ATTRIBUTE = "SEQKIT_PLUGIN_API"
#: the hook specifications, {name: spec function}
HOOKS = {name: fn for name, fn in vars(hookspecs).items() if hasattr(fn, f"{hookspecs.PROJECT}_spec")}
_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)?\s*(\d+)\s*$")


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

    def table(self) -> list[dict[str, str]]:
        """One row per registered name: kind, name, plugin, distribution, version, description."""
        return [{"kind": reg.kind, "name": e.name, "plugin": e.source.plugin, "distribution": e.source.distribution,
                 "version": e.source.version, "description": e.description}
                for reg in (self.cells, self.tasks) for e in (reg.entries[n] for n in reg.names())]

    def all_problems(self) -> list[str]:
        """Load problems, names claimed by more than one plugin included, as one-line messages."""
        return [str(p) for p in self.problems]


def _disabled_names() -> list[str]:
    return [n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()]


def _entry_points() -> list[md.EntryPoint]:
    seen: dict[str, md.EntryPoint] = {}
    for ep in md.entry_points(group=GROUP):
        seen.setdefault(ep.name, ep)  # an editable and a regular install can both list the same name
    return sorted(seen.values(), key=lambda ep: ep.name)


def _skip_hint(name: str) -> str:
    return f"or skip it with {DISABLE_ENV}={name}"


def _reinstall_hint(source: Source) -> str:
    if source.distribution in ("?", "<local>"):
        return "fix the plugin module"
    return f"upgrade or reinstall it (pip install -U {source.distribution})"


# -- plugin API version --------------------------------------------------------------------------------------
def api_satisfies(requirement, offered: int) -> bool:
    """Whether plugin API ``offered`` meets ``requirement`` (an int, or clauses like ``">=1,<3"``).

    Raises ValueError for a requirement that is not of that form.
    """
    if isinstance(requirement, bool) or not isinstance(requirement, (int, str)):
        raise ValueError(requirement)
    clauses = [str(requirement)] if isinstance(requirement, int) else str(requirement).split(",")
    ok = True
    for clause in clauses:
        m = _CLAUSE.match(clause)
        if not m:
            raise ValueError(requirement)
        op, value = m.group(1) or "==", int(m.group(2))
        ok &= {">=": offered >= value, "<=": offered <= value, "==": offered == value, "!=": offered != value,
               ">": offered > value, "<": offered < value}[op]
    return ok


def _api_problem(name: str, module, source: Source) -> str | None:
    from seqkit._version import PLUGIN_API_VERSION, __version__

    if not hasattr(module, API_ATTRIBUTE):
        return None
    need = getattr(module, API_ATTRIBUTE)
    try:
        if api_satisfies(need, PLUGIN_API_VERSION):
            return None
    except ValueError:
        return (f"declares {API_ATTRIBUTE} = {need!r}, which is not a plugin API requirement; write an int such "
                f"as {PLUGIN_API_VERSION} or a string such as '>={PLUGIN_API_VERSION}'; it was not loaded")
    newer = [n for n in range(PLUGIN_API_VERSION + 1, PLUGIN_API_VERSION + 100) if api_satisfies(need, n)]
    fix = (f"upgrade seqkit to a release after {__version__} that offers plugin API {newer[0]} "
           f"(pip install -U seqkit)" if newer else
           f"install a release of the plugin made for plugin API {PLUGIN_API_VERSION} "
           f"({_reinstall_hint(source)})")
    return (f"needs seqkit plugin API {need}, but seqkit {__version__} offers plugin API {PLUGIN_API_VERSION}; "
            f"{fix}, {_skip_hint(name)}; it was not loaded")


# -- hook signatures -----------------------------------------------------------------------------------------
def _spec_text(hook: str) -> str:
    return f"{hook}({', '.join(inspect.signature(HOOKS[hook]).parameters)})"


def _hook_problems(name: str, module, pm: pluggy.PluginManager) -> tuple[list[str], list[str]]:
    """(fatal, warnings) about the hook functions a plugin module defines, in plain words."""
    fatal, warnings = [], []
    for attr in sorted(dir(module)):
        value = getattr(module, attr, None)
        marked = pm.parse_hookimpl_opts(module, attr) is not None
        if attr in HOOKS and callable(value) and not marked:
            warnings.append(f"defines {attr}() without the @seqkit.hookimpl decorator, so seqkit never calls it; "
                            f"decorate it with @seqkit.hookimpl")
        if not marked:
            continue
        if attr not in HOOKS:
            close = difflib.get_close_matches(attr, HOOKS, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            warnings.append(f"implements {attr}, which is not a seqkit hook; {hint}the hooks are "
                            f"{', '.join(sorted(HOOKS))}; it was ignored")
            continue
        try:
            named = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                     inspect.Parameter.KEYWORD_ONLY)
            params = [p.name for p in inspect.signature(value).parameters.values()
                      if p.default is p.empty and p.kind in named]  # as pluggy reads a hookimpl
        except (TypeError, ValueError):
            continue
        spec = list(inspect.signature(HOOKS[attr]).parameters)
        extra = [p for p in params if p not in spec]
        if extra:
            fatal.append(f"its hook {attr}({', '.join(params)}) takes argument{'s' if len(extra) > 1 else ''} "
                         f"{', '.join(repr(p) for p in extra)}, which seqkit does not pass; the hook is "
                         f"{_spec_text(attr)}: name the arguments as in the spec; it was not loaded")
    return fatal, warnings


# -- loading -------------------------------------------------------------------------------------------------
def load_plugins(extra: dict[str, object] | None = None) -> Plugins:
    """A fresh plugin manager with every entry point of group ``seqkit`` plus ``extra``.

    ``extra`` maps plugin names to modules (or objects with hook functions) or to dotted module paths, which
    are imported like entry points. Each call builds new registries, so tests get no state from one another.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = Plugins(pm, Registry("cell"), Registry("task"), disabled=_disabled_names())
    candidates: list[tuple[str, object, Source]] = []
    found: list[tuple[str, str, object, Source]] = []
    for ep in _entry_points():
        dist = ep.dist
        source = Source(ep.name, dist.metadata["Name"] if dist else "?", dist.version if dist else "?")
        found.append((ep.name, ep.value, ep.load, source))
    for name, module in (extra or {}).items():
        loader = (lambda m=module: importlib.import_module(m)) if isinstance(module, str) else (lambda m=module: m)
        found.append((name, module if isinstance(module, str) else getattr(module, "__name__", name), loader,
                      Source(name, "<local>", "-")))
    for name, value, loader, source in found:
        if name in plugins.disabled:
            continue
        try:
            module = loader()
        except KeyboardInterrupt:  # Ctrl-C (and seqkit's SIGTERM) stop seqkit, whatever is being imported
            raise
        except BaseException as exc:  # any import failure, even sys.exit(), must not take seqkit down
            plugins.problems.append(Problem(name, f"importing {value} failed: {_exc_text(exc)}; "
                                                  f"{_reinstall_hint(source)}, {_skip_hint(name)}"))
            continue
        candidates.append((name, module, source))
    for name, module, source in candidates:
        reason = _api_problem(name, module, source)
        fatal, warnings = _hook_problems(name, module, pm)
        plugins.problems += [Problem(name, w) for w in warnings]
        if reason or fatal:
            plugins.problems.append(Problem(name, reason or fatal[0]))
            continue
        try:
            pm.register(module, name=name)
        except Exception as exc:  # pluggy's own validation, for cases the checks above do not cover
            first = " ".join(str(exc).split())
            plugins.problems.append(Problem(name, f"rejected by the plugin manager: {first}; compare the hook "
                                                  f"with docs/plugins.md, {_skip_hint(name)}"))
            continue
        plugins.sources[name] = source
    _fill(plugins, "seqkit_register_cells", plugins.cells, Cell)
    _fill(plugins, "seqkit_register_tasks", plugins.tasks, Task)
    for registry in (plugins.cells, plugins.tasks):
        for reg_name, entries in registry.conflicts.items():
            owners = " and ".join(str(e.source) for e in entries)
            names = ",".join(e.source.plugin for e in entries)
            plugins.problems.append(Problem(entries[-1].source.plugin, (
                f"{registry.kind} '{reg_name}' is claimed by {owners}, so using it fails; uninstall one, or disable "
                f"one with SEQKIT_DISABLE_PLUGINS (one of: {names})")))
    return plugins


def _exc_text(exc: BaseException) -> str:
    """``Type: first line`` of an exception; SystemExit says what it is (a plugin calling sys.exit())."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r}) (SystemExit)"
    return described(exc)


def _snapshot(registry: Registry):
    return dict(registry.entries), {k: list(v) for k, v in registry.conflicts.items()}


def _added(registry: Registry, before, source: Source) -> list:
    """Entries ``source`` registered since ``before`` (a snapshot)."""
    entries, conflicts = before
    now = list(registry.entries.values()) + [e for es in registry.conflicts.values() for e in es]
    old = {id(e) for e in entries.values()} | {id(e) for es in conflicts.values() for e in es}
    return [e for e in now if id(e) not in old and e.source is source]


def _validate(added: list, kind: str, base: type) -> str | None:
    """Why the registrations of one hook call are unusable, or None."""
    seen: dict[str, object] = {}
    for entry in added:
        if entry.name in seen:
            first, second = (getattr(o, "__name__", repr(o)) for o in (seen[entry.name], entry.obj))
            return f"registered {kind} '{entry.name}' twice (first {first}, then {second}); register each name once"
        seen[entry.name] = entry.obj
        if not (isinstance(entry.obj, type) and issubclass(entry.obj, base)):
            return (f"registered {kind} '{entry.name}' as {entry.obj!r}, which is not a subclass of "
                    f"seqkit.{base.__name__}; register the class itself")
    return None


def _fill(plugins: Plugins, hook_name: str, registry: Registry, base: type) -> None:
    """Call each plugin's hook separately, so that one plugin's failure is its own; a failure keeps nothing."""
    for impl in getattr(plugins.manager.hook, hook_name).get_hookimpls():
        source = plugins.sources.get(impl.plugin_name, Source(impl.plugin_name))
        registry._current = source
        before = _snapshot(registry)
        reason = None
        try:
            provided = {"registry": registry}
            impl.function(**{arg: provided[arg] for arg in impl.argnames})
            reason = _validate(_added(registry, before, source), registry.kind, base)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            reason = f"{hook_name} raised {_exc_text(exc)}"
        finally:
            registry._current = None
        if reason:
            dropped = sorted({e.name for e in _added(registry, before, source)})
            registry.entries, registry.conflicts = before
            kept = f"dropped what it registered ({', '.join(dropped)})" if dropped else "it registered nothing"
            fix = f"fix the plugin ({_reinstall_hint(source)}), {_skip_hint(impl.plugin_name)}"
            plugins.problems.append(Problem(impl.plugin_name, f"{reason}; {kept}; {fix}"))
