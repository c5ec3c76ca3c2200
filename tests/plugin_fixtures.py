"""Throwaway plugins for tests: in-memory plugin modules (for ``seqkit.load_plugins(extra=...)``), and
installed-looking plugin distributions: modules plus a ``.dist-info`` with ``seqkit`` entry points in a folder,
found by importlib.metadata once the folder is on ``sys.path`` (in-process) or ``PYTHONPATH`` (subprocess)."""
from __future__ import annotations

import textwrap
import types
from pathlib import Path


def plugin_module(name: str, **attrs) -> types.ModuleType:
    """A module ``name`` with ``attrs``; callables named ``seqkit_register*`` become hooks (``@seqkit.hookimpl``),
    anything else (e.g. ``SEQKIT_PLUGIN_API``) is set as it is."""
    from seqkit import hookimpl

    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, hookimpl(value) if key.startswith("seqkit_register") and callable(value) else value)
    return module


def write_distribution(root: Path, dist: str, version: str, entry_points: dict[str, str],
                       modules: dict[str, str]) -> Path:
    """Write ``modules`` ({module name: source}) and a dist-info for ``dist`` into ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("[seqkit]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))
    return root
