"""Option values parsed by the type they are declared with: a task Config field, a cell's ``OPTIONS`` default.

Two sources give values, and both end here:

- text typed on the command line (``-T num_classes=3``, ``-O forget_bias=none``): :class:`TextOptions` keeps the
  raw text of each value, and :func:`parse_text` reads it by the declared type, so ``labels=abc`` is the list
  ``["abc"]`` (never letters), ``num_classes=2.5`` is refused for an int, ``text_column=123`` stays the string
  ``"123"``;
- Python values (the API, config.json of a run, metadata): :func:`coerce` checks them against the type (an int
  is accepted where a float is declared; nothing else is converted).

Types understood: ``int``, ``float``, ``bool``, ``str``, ``X | None``, ``list`` / ``list[X]`` (of those), and
anything else as "any value". Errors are :class:`ConfigError` with one line naming the option and an example.
Torch-free: the CLI uses it.
"""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from seqkit.errors import ConfigError

_INT = re.compile(r"^[+-]?\d+$")
_TRUE, _FALSE, _NONE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}, {"none", "null"}


class TextOptions(dict):
    """``{name: value}`` from ``KEY=VALUE`` text, with the raw text of each value in :attr:`raw`.

    The values are the text read as JSON where it is JSON (for display and for code that wants a guess); the
    typed parse happens where the declared type is known (:meth:`seqkit.Task.make_config`, the Cell).
    """

    def __init__(self, values: dict | None = None, raw: dict[str, str] | None = None):
        super().__init__(values or {})
        self.raw: dict[str, str] = dict(raw or {})


def parse_pairs(pairs, what: str) -> TextOptions:
    """``("a=1", "b=relu")`` -> :class:`TextOptions` ``{"a": 1, "b": "relu"}`` with the raw text kept."""
    values, raw = {}, {}
    for pair in pairs:
        key, sep, text = str(pair).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{what} option {pair!r} is not KEY=VALUE, e.g. nonlinearity=relu")
        try:
            values[key] = json.loads(text)
        except ValueError:
            values[key] = text
        raw[key] = text
    return TextOptions(values, raw)


@dataclass(frozen=True)
class Kind:
    """A declared type, reduced to what option parsing needs."""

    base: type | None          # int, float, bool, str, list; None: any value
    nullable: bool = False
    item: Kind | None = None   # the item kind of a list (None: any scalar)

    def describe(self) -> str:
        names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
        plural = {int: "integers", float: "numbers", bool: "booleans", str: "strings"}
        if self.base is list:
            item = self.item.base if self.item is not None else None
            text = f"a list of {plural[item]} such as [x, y]" if item in plural else "a list such as [x, y]"
        else:
            text = names.get(self.base, "a value")
        return text + (" or none" if self.nullable else "")


ANY = Kind(None)


def kind_of(annotation: Any, default: Any = dataclasses.MISSING) -> Kind:
    """The :class:`Kind` of a type annotation; ``default`` fills in what a bare ``list`` holds."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = kind_of(args[0], default) if len(args) == 1 else ANY
        return dataclasses.replace(inner, nullable=True) if len(args) < len(typing.get_args(annotation)) else inner
    if annotation in (int, float, bool, str):
        return Kind(annotation)
    if annotation is list or origin is list:
        args = typing.get_args(annotation)
        if args:
            return Kind(list, item=kind_of(args[0]))
        items = default if isinstance(default, list) else []
        types_seen = {type(v) for v in items}
        item = Kind(types_seen.pop()) if len(types_seen) == 1 and next(iter(types_seen)) in (int, float, str) \
            else None
        return Kind(list, item=item)
    return ANY


def kind_of_default(default: Any) -> Kind:
    """The :class:`Kind` of a value used as a default (a cell's ``OPTIONS``): its own type; None: any value."""
    if default is None:
        return ANY
    if isinstance(default, list):
        return kind_of(list, default)
    for t in (bool, int, float, str):
        if isinstance(default, t):
            return Kind(t)
    return ANY


def field_kinds(config_cls: type) -> dict[str, Kind]:
    """``{field name: Kind}`` of a dataclass, from its annotations (resolved where possible) and defaults."""
    try:
        hints = typing.get_type_hints(config_cls)
    except Exception:  # a plugin's annotation that does not resolve: fall back to the defaults' types
        hints = {}
    kinds = {}
    for f in dataclasses.fields(config_cls):
        default = f.default
        if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
            try:
                default = f.default_factory()
            except Exception:
                default = dataclasses.MISSING
        if f.name in hints:
            kinds[f.name] = kind_of(hints[f.name], default)
        else:
            kinds[f.name] = kind_of_default(default) if default is not dataclasses.MISSING else ANY
    return kinds


class _Bad(ValueError):
    pass


def _scalar_text(text: str, kind: Kind) -> Any:
    stripped = text.strip()
    if kind.nullable and stripped.lower() in _NONE:
        return None
    if kind.base is int:
        if not _INT.match(stripped):
            raise _Bad
        return int(stripped)
    if kind.base is float:
        try:
            value = float(stripped)
        except ValueError:
            raise _Bad from None
        if not math.isfinite(value):
            raise _Bad
        return value
    if kind.base is bool:
        if stripped.lower() in _TRUE:
            return True
        if stripped.lower() in _FALSE:
            return False
        raise _Bad
    if kind.base is str:
        return text
    try:  # any value: JSON where it is JSON, else the text itself
        return json.loads(stripped)
    except ValueError:
        return text


def _list_items(text: str) -> list[str]:
    stripped = text.strip()
    if not stripped:
        return []  # labels= : no labels
    if not stripped.startswith("["):
        return [text]  # one item: labels=abc is ["abc"], never ["a", "b", "c"]
    try:
        value = json.loads(stripped)
    except ValueError:
        value = None
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v) for v in value]
    if not stripped.endswith("]"):
        raise _Bad
    inner = stripped[1:-1].strip()
    if not inner:
        return []
    return [part.strip().strip("'\"") for part in inner.split(",")]


def parse_text(text: str, kind: Kind) -> Any:
    """``text`` read as ``kind``; ValueError (message: what was expected) if it is not one."""
    try:
        if kind.base is list:
            if kind.nullable and text.strip().lower() in _NONE:
                return None
            return [_scalar_text(item, kind.item or ANY) for item in _list_items(text)]
        return _scalar_text(text, kind)
    except _Bad:
        raise ValueError(kind.describe()) from None


def _scalar_value(value: Any, kind: Kind) -> Any:
    if value is None:
        if kind.nullable or kind.base is None:
            return None
        raise _Bad
    if kind.base is bool:
        if isinstance(value, bool) or type(value).__name__ == "bool_":
            return bool(value)
        raise _Bad
    if isinstance(value, bool) and kind.base in (int, float, str):
        raise _Bad
    if kind.base is int:
        if isinstance(value, numbers.Integral):
            return int(value)
        raise _Bad
    if kind.base is float:
        if isinstance(value, numbers.Real) and math.isfinite(float(value)):
            return float(value)
        raise _Bad
    if kind.base is str:
        if isinstance(value, str):
            return str(value)
        raise _Bad
    return value


def coerce(value: Any, kind: Kind) -> Any:
    """``value`` checked against ``kind`` (an int is taken for a float); ValueError if it does not fit."""
    try:
        if kind.base is list:
            if value is None and kind.nullable:
                return None
            if not isinstance(value, (list, tuple)):
                raise _Bad
            return [_scalar_value(v, kind.item or ANY) for v in value]
        return _scalar_value(value, kind)
    except _Bad:
        raise ValueError(kind.describe()) from None


def _example(default: Any) -> str:
    if default is None:
        return "none"
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, list):
        return "[" + ", ".join(str(v) for v in default) + "]"
    return str(default)


def typed(values: dict, kinds: dict[str, Kind], defaults: dict[str, Any], owner: str) -> dict:
    """``values`` with each entry parsed (raw text of a :class:`TextOptions`) or checked against ``kinds``.

    Unknown names are left to the caller (it knows how to list the known ones).
    """
    raw = getattr(values, "raw", {})
    out = {}
    for name, value in values.items():
        kind = kinds.get(name, ANY)
        try:
            out[name] = parse_text(raw[name], kind) if name in raw else coerce(value, kind)
        except ValueError as exc:
            shown = raw[name] if name in raw else json.dumps(value, default=repr)
            example = _example(defaults.get(name))
            raise ConfigError(f"{owner} option {name}={shown}: expected {exc}, e.g. {name}={example}") from None
    return out
