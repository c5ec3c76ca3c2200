"""The hooks a seqkit plugin implements.

A plugin is a module (listed under the ``seqkit`` entry-point group) with functions decorated by
``seqkit.hookimpl``. Each hook receives a registry and adds to it; it returns nothing::

    from seqkit import hookimpl

    @hookimpl
    def seqkit_register_cells(registry):
        registry.register("mycell", MyCell, description="...")

Built-in cells and tasks use exactly these hooks. A plugin module may declare the plugin API it needs with
``SEQKIT_PLUGIN_API = ">=1"`` (see ``seqkit.PLUGIN_API_VERSION``). docs/plugins.md documents every hook here;
tests/test_hooks_documented.py keeps the two in step.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from seqkit.core.registry import Registry

PROJECT = "seqkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def seqkit_register_cells(registry: Registry) -> None:
    """Add recurrent cells: ``registry.register(name, cell_class, description=...)``.

    ``cell_class`` subclasses :class:`seqkit.Cell`; it is built as ``cell_class(input_size, config)`` with a
    :class:`seqkit.CellConfig`. A cell with no native ONNX op subclasses :class:`seqkit.ScanCell` and writes one
    time step; it exports as an ONNX ``Scan``.
    """


@hookspec
def seqkit_register_tasks(registry: Registry) -> None:
    """Add tasks: ``registry.register(name, task_class, description=...)``.

    ``task_class`` subclasses :class:`seqkit.Task`; it is built as ``task_class(config)`` with an instance of its
    own ``Config`` dataclass.
    """
