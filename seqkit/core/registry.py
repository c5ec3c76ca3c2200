"""Registries of cells and tasks, filled by plugins through the hooks in :mod:`seqkit.core.hookspecs`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from seqkit.errors import PluginError, SeqkitError

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class Source:
    """Where a registered name comes from: the plugin (entry-point name) and its distribution."""

    plugin: str
    distribution: str = "?"
    version: str = "?"

    def __str__(self) -> str:
        return f"plugin '{self.plugin}' ({self.distribution} {self.version})"


@dataclass
class Entry:
    name: str
    obj: Any
    source: Source
    description: str = ""


@dataclass
class Registry:
    """Names of one kind ("cell" or "task") mapped to the class a plugin registered.

    A hook implementation calls :meth:`register`; seqkit records which plugin made each call.
    """

    kind: str
    entries: dict[str, Entry] = field(default_factory=dict)
    conflicts: dict[str, list[Entry]] = field(default_factory=dict)
    _current: Source | None = None

    def register(self, name: str, obj: Any, *, description: str = "") -> None:
        """Register ``obj`` (a Cell or Task subclass) under ``name`` (lower case, digits, ``-`` and ``_``)."""
        source = self._current or Source("<direct>")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise PluginError(
                f"{source} registered {self.kind} name {name!r}: names are lower case letters, digits, '-' or '_'"
            )
        if not description:
            description = (getattr(obj, "__doc__", None) or "").strip().splitlines()[0:1]
            description = description[0] if description else ""
        entry = Entry(name, obj, source, description)
        if name in self.conflicts:
            self.conflicts[name].append(entry)
        elif name in self.entries:
            self.conflicts[name] = [self.entries.pop(name), entry]
        else:
            self.entries[name] = entry

    def names(self) -> list[str]:
        return sorted(self.entries)

    def get(self, name: str) -> Entry:
        """The entry for ``name``; a clear :class:`SeqkitError` if it is unknown or claimed twice."""
        if name in self.conflicts:
            owners = " and ".join(str(e.source) for e in self.conflicts[name])
            plugins = ",".join(e.source.plugin for e in self.conflicts[name])
            raise PluginError(
                f"{self.kind} '{name}' is registered by both {owners}; uninstall one, or disable one with "
                f"SEQKIT_DISABLE_PLUGINS (one of: {plugins})"
            )
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise SeqkitError(f"unknown {self.kind} '{name}'; known {self.kind}s: {known}") from None
