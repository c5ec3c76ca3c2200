"""Clips with a known camera motion, made from still grayscale frames: labels anyone can check.

A clip is a ``size x size`` window moving over one still image by ``speed`` pixels per frame in one direction
(``left``: the window moves left, so the content drifts right on screen), or standing still (``static``).
Before panning, the still is rotated by a multiple of 90 degrees and maybe mirrored (a camera motion label does
not depend on the picture), and each frame gets Gaussian pixel noise, so ``static`` is not "no change at all".
"""
from __future__ import annotations

import numpy as np

MOTIONS = ("static", "left", "right", "up", "down")
_STEP = {"static": (0, 0), "left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}  # (dy, dx) per speed


def pan_clip(image: np.ndarray, motion: str, length: int, speed: int, size: int, rng: np.random.Generator,
             noise: float = 0.02) -> np.ndarray:
    """``[length, 1, size, size]`` float32 in about [0, 1]: the window over ``image`` (uint8 or [0, 1] floats)
    moving ``speed`` pixels per frame in direction ``motion``."""
    img = np.asarray(image, dtype=np.float32)
    img = img / 255.0 if img.max() > 1.0 else img
    img = np.rot90(img, int(rng.integers(4)))
    if rng.integers(2):
        img = img[:, ::-1]
    dy, dx = _STEP[motion]
    travel = (length - 1) * speed
    if max(img.shape) - size < travel or min(img.shape) < size:
        raise ValueError(f"a {img.shape} image cannot hold a {size}-pixel window moving {travel} pixels")

    def start(d: int, extent: int) -> int:  # the path must stay inside the image
        lo, hi = (travel, extent - size) if d < 0 else (0, extent - size - (travel if d > 0 else 0))
        return int(rng.integers(lo, hi + 1))

    y0, x0 = start(dy, img.shape[0]), start(dx, img.shape[1])
    frames = [img[y0 + dy * speed * t: y0 + dy * speed * t + size, x0 + dx * speed * t: x0 + dx * speed * t + size]
              for t in range(length)]
    clip = np.stack(frames)[:, None] + rng.normal(0.0, noise, (length, 1, size, size))
    return clip.astype(np.float32)


def pan_clips(bank: np.ndarray, count: int, seed: int, size: int = 24, lengths: tuple = (6, 12),
              speeds: tuple = (1, 2), noise: float = 0.02) -> list[tuple[np.ndarray, int]]:
    """``count`` clips ``(clip [time, 1, size, size], motion index into MOTIONS)`` from random stills of
    ``bank`` [N, H, W], motions balanced, lengths uniform in ``lengths`` (inclusive), speed from ``speeds``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        label = i % len(MOTIONS)
        length = int(rng.integers(lengths[0], lengths[1] + 1))
        speed = int(rng.choice(speeds))
        out.append((pan_clip(bank[int(rng.integers(len(bank)))], MOTIONS[label], length, speed, size, rng, noise),
                    label))
    order = rng.permutation(count)
    return [out[i] for i in order]


def motion_features(clip: np.ndarray) -> np.ndarray:
    """``[time, channels, H, W]`` -> ``[time, 6]``: for each frame and the one before it (the first frame is
    paired with itself), the means over the inner pixels of ``It*Ix``, ``It*Iy``, ``Ix*Ix``, ``Iy*Iy``, ``Ix*Iy``
    and ``It*It`` (``It`` the frame difference, ``Ix``/``Iy`` central differences of the pair's mean, channels
    averaged): the terms a Lucas-Kanade optical-flow estimate is solved from. A hand-made, non-learnt motion
    descriptor: the video baseline pools it, and ``-T motion_features=true`` feeds it to the cell."""
    f = np.asarray(clip, np.float64).mean(axis=1)  # [time, H, W]
    prev = np.concatenate([f[:1], f[:-1]])
    it, m = (f - prev)[:, 1:-1, 1:-1], (f + prev) / 2
    ix = (m[:, 1:-1, 2:] - m[:, 1:-1, :-2]) / 2
    iy = (m[:, 2:, 1:-1] - m[:, :-2, 1:-1]) / 2
    terms = (it * ix, it * iy, ix * ix, iy * iy, ix * iy, it * it)
    return np.stack([t.mean(axis=(1, 2)) for t in terms], axis=1)
