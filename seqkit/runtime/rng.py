"""The sampling random numbers, defined so that Python and JavaScript (``js/rng.mjs``) draw the same ones.

mulberry32: a 32-bit generator (state += 0x6D2B79F5 each draw, then an xorshift-multiply mix), seeded with
``seed mod 2**32``; :meth:`Mulberry32.random` is the 32-bit output / 2**32, in [0, 1). :func:`sample` draws an
id from ``softmax(logits / temperature)`` by inverse CDF over ``exp(z - max z)`` summed left to right in float64
-- the same operations in the same order on both sides, so the same file, prompt, temperature and seed give the
same text in ``seqkit generate``, onnxruntime-node and a browser.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

MASK = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    """The low 32 bits of a * b (JavaScript's Math.imul, unsigned)."""
    return (a * b) & MASK


class Mulberry32:
    """mulberry32 seeded with ``seed mod 2**32``."""

    def __init__(self, seed: int = 0):
        self.state = int(seed) & MASK

    def next_uint32(self) -> int:
        self.state = (self.state + 0x6D2B79F5) & MASK
        t = self.state
        t = _imul(t ^ (t >> 15), t | 1)
        t = t ^ ((t + _imul(t ^ (t >> 7), t | 61)) & MASK)
        return (t ^ (t >> 14)) & MASK

    def random(self) -> float:
        """A float in [0, 1): the next 32-bit output / 2**32."""
        return self.next_uint32() / 4294967296.0


def sample(logits: Sequence[float], temperature: float, rng: Mulberry32, banned: int | None = None) -> int:
    """An id drawn from ``softmax(logits / temperature)``; the first argmax at temperature 0. ``banned`` is never
    drawn. Plain Python floats, summed left to right: JavaScript's ``sample`` does the same operations."""
    z = [float(v) for v in logits]
    if banned is not None:
        z[banned] = -math.inf
    if temperature <= 0:
        return max(range(len(z)), key=lambda i: (z[i], -i))
    scaled = [v / temperature for v in z]
    top = max(scaled)
    weights = [math.exp(v - top) for v in scaled]
    total = 0.0
    for w in weights:
        total += w
    u = rng.random() * total
    acc, last = 0.0, 0
    for i, w in enumerate(weights):
        if w > 0:
            last = i
        acc += w
        if u < acc:
            return i
    return last
