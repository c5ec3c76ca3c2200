"""``seqkit plugin new cell|task NAME``: a pip-installable plugin package from the templates in seqkit/templates/
(pyproject with the ``seqkit`` entry point, the module, a README, tests using seqkit.testing), written whole or
not at all."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from string import Template

import click

from seqkit._version import PLUGIN_API_VERSION, __version__
from seqkit.errors import SeqkitError

#: a plugin name: what registry.register() accepts, starting with a letter (it also names a Python module)
NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
SUMMARY = {"cell": "A recurrent cell for seqkit, written as one time step (exported as an ONNX Scan).",
           "task": "A sequence -> number task for seqkit, on generated data: a start to make your own."}
EXAMPLE = {"cell": "seqkit export --cell {name}        # exported and verified against PyTorch",
           "task": "seqkit train --task {name} --data {name}-demo --epochs 3 --run-dir runs/demo"}


def _values(kind: str, name: str) -> dict[str, str]:
    module = "seqkit_" + name.replace("-", "_")
    release = ".".join(__version__.split(".")[:2])
    return {"kind": kind, "name": name, "module": module, "dist": "seqkit-" + name.replace("_", "-"),
            "cls": "".join(part.capitalize() for part in re.split(r"[-_]", name)).removesuffix(kind.capitalize())
            + kind.capitalize(),
            "api": str(PLUGIN_API_VERSION), "seqkit": release, "summary": SUMMARY[kind],
            "example": EXAMPLE[kind].format(name=name)}


def _templates(kind: str):
    """(relative path, template text) of every file a ``kind`` package gets."""
    root = resources.files("seqkit") / "templates"
    stack = [(root / "common", ""), (root / kind, "")]
    while stack:
        folder, prefix = stack.pop()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir():
                stack.append((entry, f"{prefix}{entry.name}/"))
            elif entry.name.endswith(".tmpl"):
                yield prefix + entry.name.removesuffix(".tmpl"), entry.read_text()


def new_plugin(kind: str, name: str, directory: str | os.PathLike = ".") -> Path:
    """Write the ``kind`` ("cell" or "task") plugin package ``seqkit-NAME`` into ``directory``; its path.

    Raises SeqkitError for a bad name or an existing folder; nothing is left behind on failure.
    """
    if kind not in SUMMARY:
        raise SeqkitError(f"a plugin is a cell or a task, not {kind!r}")
    if not NAME.match(name):
        raise SeqkitError(f"plugin name {name!r}: use lower-case letters, digits, '-' and '_', starting with a "
                          f"letter (e.g. my-cell)")
    values = _values(kind, name)
    parent = Path(directory)
    target = parent / values["dist"]
    if target.exists():
        raise SeqkitError(f"{target} already exists; choose another NAME or -o DIR, or remove it")
    if not parent.is_dir():
        raise SeqkitError(f"{parent} is not a folder; create it first or choose another -o DIR")
    work = Path(tempfile.mkdtemp(prefix=f".{values['dist']}-", dir=parent))
    try:
        for relative, text in _templates(kind):
            path = work / relative.replace("__module__", values["module"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(Template(text).substitute(values))
        os.rename(work, target)  # the package appears whole, or not at all
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


@click.group()
def plugin():
    """Write your own cell or task plugin (see docs/plugins.md)."""


@plugin.command()
@click.argument("kind", type=click.Choice(["cell", "task"]))
@click.argument("name")
@click.option("-o", "--output", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write the package folder seqkit-NAME into.")
def new(kind, name, directory):
    """Write a pip-installable plugin package seqkit-NAME: pyproject.toml with the seqkit entry point, the
    module, a README and tests using seqkit.testing; it installs, registers and passes its tests as written.

    \b
    Examples:
      seqkit plugin new cell my-cell
      seqkit plugin new task my-task -o ~/src
      cd seqkit-my-cell && pip install -e '.[test]' && pytest tests
    """
    target = new_plugin(kind, name, directory)
    click.echo(f"wrote {target}/ ({kind} '{name}'): pip install -e '{target}[test]', then pytest {target}/tests")
