"""Shared test helpers: images whose mixes name their partners."""

from __future__ import annotations

import numpy as np


def constant_images(count: int, size: tuple = (4, 4), channels: int = 3, step: float = 10.0):
    """``count`` float32 images ``(count, *size, channels)``; image i is the
    constant ``step * i``, so a λ = 0.5 mix of i and p holds ``step * (i + p) / 2``."""
    return np.stack([np.full((*size, channels), step * i, "float32") for i in range(count)])


def partners_of(mixed, anchors=None, step: float = 10.0) -> np.ndarray:
    """Each row's partner, read from λ = 0.5 mixes of ``constant_images``.

    Args:
        mixed: the mixed batch (any array).
        anchors: each row's own image index (default: row i is image i).
        step: the images' step.
    """
    values = np.asarray(mixed, dtype=np.float64).reshape(len(mixed), -1)[:, 0]
    anchors = np.arange(len(values)) if anchors is None else np.asarray(anchors)
    return np.rint(2.0 * values / step - anchors).astype(int)
