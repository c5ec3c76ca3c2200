"""Errors a user can cause. The CLI prints them as one line, without a traceback (tox's HandledError idea)."""
from __future__ import annotations

from collections.abc import Iterator

#: the error classes a plugin may raise or catch (the declared plugin API); the helpers below are internal
__all__ = ["ConfigError", "ExportError", "InputError", "PluginError", "ProviderError", "SeqkitError",
           "VerificationError"]


class SeqkitError(Exception):
    """A problem the user can fix; the message says what went wrong and what to do."""


class PluginError(SeqkitError):
    """A plugin failed to load, to register, or claimed a name another plugin owns."""


class ConfigError(SeqkitError):
    """A cell or task option is out of range or unknown."""


class ExportError(SeqkitError):
    """torch.onnx.export failed, or the file it wrote does not have the promised form."""


class VerificationError(SeqkitError):
    """The ONNX file's outputs differ from the PyTorch model's beyond the tolerances."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


class ProviderError(SeqkitError):
    """The requested onnxruntime execution provider is not available or did not run."""


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what it was raised from or while handling (``__cause__``, else ``__context__``), in turn."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def first_line(exc: BaseException) -> str:
    """The first non-blank line of ``str(exc)``, stripped; "" when the message is empty (many exceptions carry a
    multi-line text whose first line is the reason, and some carry none)."""
    return next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")


def described(exc: BaseException) -> str:
    """``Type: first line`` of an exception, or only ``Type`` when its message is empty."""
    line = first_line(exc)
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of ``exc``'s chain (torch wraps the real reason in several layers)."""
    *_, last = causes(exc)
    return last


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an exception where seqkit listens for it (the CLI; :func:`seqkit.files.atomic_path`) so
    that cleanup code runs; a KeyboardInterrupt, so code that handles Ctrl-C handles it alike."""

    signal_number = 15


class InputError(SeqkitError):
    """An input given to a model (seqkit.runtime, seqkit predict) is malformed or out of range; the message names
    the input and the sample."""
