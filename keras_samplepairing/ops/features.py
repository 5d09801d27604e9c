"""Cheap feature vectors for similarity pairing, computed from the images.

Images here are channels-last ``(B, H, W, C)``; the layers transpose
channels-first input before calling in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_samplepairing.ops.namespace import namespace


def _area_matrix(source: int, target: int) -> np.ndarray:
    """``(target, source)`` matrix whose row ``t`` averages the source cells
    that output cell ``t`` covers, with fractional overlap at the borders."""
    matrix = np.zeros((target, source), np.float32)
    scale = source / target
    for t in range(target):
        start, stop = t * scale, (t + 1) * scale
        for s in range(int(np.floor(start)), int(np.ceil(stop))):
            matrix[t, s] = min(stop, s + 1) - max(start, s)
    return matrix / scale


def flat_features(features: Any) -> Any:
    """Hidden features as they are, flattened to ``(B, D)``: similarity on the
    activations themselves (feature-level pairing)."""
    xp = namespace(features)
    return xp.reshape(features, [xp.shape(features)[0], -1])


def pooled_features(images: Any, size: int = 8) -> Any:
    """Area-averages the images down to ``size x size`` and flattens them.

    When ``size`` divides H and W, rows are summed first (a reduction whose
    output is contiguous, which XLA's CPU backend vectorises) and then the
    columns of each cell, as strided slices of that ``H / size`` times
    smaller result; a single reduction over both axes of a
    ``(B, size, H/size, size, W/size, C)`` view runs about 2.5x slower on
    XLA's CPU backend, since its innermost kept axis is the channels.
    Otherwise (or with an unknown channel count) two small matrix products
    with fixed area weights give exact area averaging for any H and W.
    Images smaller than ``size`` keep their own size.

    Args:
        images: ``(B, H, W, C)`` tensor with static H and W.
        size: output side length.

    Returns:
        ``(B, min(size, H) * min(size, W) * C)`` float32 features.
    """
    xp = namespace(images)
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    if height is None or width is None:
        raise ValueError(
            f"`features='pooled'` needs a static image height and width, got shape {images.shape}."
        )
    out_h, out_w = min(size, height), min(size, width)
    batch = xp.shape(images)[0]
    x = xp.cast(images, "float32")
    if channels is not None and height % out_h == 0 and width % out_w == 0:
        cell_h, cell_w = height // out_h, width // out_w
        rows = xp.sum(xp.reshape(x, [batch, out_h, cell_h, width * channels]), axis=2)
        cells = xp.reshape(rows, [batch, out_h, out_w, cell_w * channels])
        total = cells[..., :channels]
        for column in range(1, cell_w):
            total += cells[..., column * channels : (column + 1) * channels]
        return xp.reshape(total / float(cell_h * cell_w), [batch, -1])
    rows = xp.constant(_area_matrix(height, out_h))
    cols = xp.constant(_area_matrix(width, out_w))
    pooled = xp.einsum("bhwc,ph,qw->bpqc", x, rows, cols)
    return xp.reshape(pooled, [batch, -1])


def histogram_features(
    images: Any, bins: int = 16, value_range: tuple[float, float] = (0.0, 255.0)
) -> Any:
    """Per-channel intensity histograms, each normalised to sum 1.

    Pixels outside ``value_range`` count in the first or last bin. One
    comparison pass per bin keeps memory at one image's size (a one-hot of
    every pixel would be ``bins`` times the batch).

    Args:
        images: ``(B, H, W, C)`` tensor.
        bins: number of bins per channel.
        value_range: ``(low, high)`` of the pixel values.

    Returns:
        ``(B, C * bins)`` float32 features, channel-major.
    """
    xp = namespace(images)
    low, high = value_range
    x = xp.cast(images, "float32")
    index = xp.floor((x - low) / (high - low) * bins)
    index = xp.clip(index, 0.0, bins - 1.0)
    counts = [xp.sum(xp.cast(xp.equal(index, b), "float32"), axis=(1, 2)) for b in range(bins)]
    hist = xp.stack(counts, axis=-1)  # (B, C, bins)
    hist = hist / xp.maximum(xp.sum(hist, axis=-1, keepdims=True), 1.0)
    return xp.reshape(hist, [xp.shape(images)[0], -1])
