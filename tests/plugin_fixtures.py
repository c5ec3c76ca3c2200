"""Installed-looking plugin distributions for tests: modules plus a ``.dist-info`` with ``seqkit`` entry points in a
folder, found by importlib.metadata once the folder is on ``sys.path`` (in-process) or ``PYTHONPATH`` (subprocess)."""
from __future__ import annotations

import textwrap
from pathlib import Path


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
