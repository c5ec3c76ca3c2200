"""Atomic writes: a file appears complete under its name, or not at all -- also when the process is stopped by
Ctrl-C (KeyboardInterrupt) or SIGTERM while it writes (the temporary file is removed first)."""
from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from seqkit.errors import SeqkitError, Terminated


def raise_terminated(signum, frame):
    """A SIGTERM handler: raise :class:`Terminated` in the main thread, so ``finally`` blocks run."""
    raise Terminated()


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` instead of ending the process on the spot.

    Only where SIGTERM still has its default action (a program's own handler is left alone) and in the main
    thread. After cleanup the process is terminated by SIGTERM as it would have been.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not \
            signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, raise_terminated)
    terminated = False
    try:
        yield
    except Terminated:
        terminated = True
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if terminated:
            os.kill(os.getpid(), signal.SIGTERM)  # the default action, now that the temporary file is gone


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``, on error removed.

    The file gets the usual permissions (0666 less the umask), not mkstemp's private 0600.
    """
    path = Path(path)
    with sigterm_raises():
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
        except OSError as exc:
            raise SeqkitError(f"cannot write {path}: {exc.strerror}; choose another path") from None
        try:
            yield tmp
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
