"""Refusing models that would not fit: their size counted on PyTorch's ``meta`` device (no memory) against the
memory available, before ``compose()`` allocates anything."""
from __future__ import annotations

import os

import torch
from torch import nn

from seqkit.errors import ConfigError, SeqkitError

#: share of the available memory a model's parameters may take: export holds several copies (the model, the ONNX
#: graph, its serialised bytes, onnxruntime's session)
MEMORY_SHARE = 0.25
def available_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable; elsewhere physical pages), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_size(build) -> None:
    """Build the model on PyTorch's ``meta`` device (no memory) and refuse it if its parameters would not fit.

    A model that cannot be built on the meta device (some plugin code needs real values) is not checked here.
    """
    try:
        with torch.device("meta"):
            parts = build()
    except SeqkitError:
        raise
    except Exception:  # meta tensors lack some operations; the real build reports real errors
        return
    modules = [part for part in parts if isinstance(part, nn.Module)]
    count = sum(p.numel() for part in modules for p in part.parameters())
    count += sum(b.numel() for part in modules for b in part.buffers())
    need = 4 * count  # float32
    available = available_memory()
    if available and need > available * MEMORY_SHARE:
        raise ConfigError(f"the model would have {count:,} parameters ({_gib(need)}), more than {MEMORY_SHARE:.0%} of "
                          f"the {_gib(available)} of memory available (training and export hold several copies); "
                          f"choose smaller sizes (hidden size, layers, vocabulary, embedding, classes)")


def _gib(n: float) -> str:
    return f"{n / 2 ** 30:.3g} GiB"
