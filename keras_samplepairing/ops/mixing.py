"""λ strategies and the mixers that apply them.

The mix is ``x' = w * x1 + (1 - w) * x2``, where ``x1`` is the image whose
label is kept, ``x2`` its partner, and ``w`` the mixing weight: one λ per
sample (``"linear"``), one per sample and channel (``"channel"``), or a smooth
field over the image (``"spatial"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras_samplepairing.ops.namespace import namespace
from keras_samplepairing.ops.random import beta_sample

LAMBDA_STRATEGIES = ("beta", "similarity")
MIXINGS = ("linear", "channel", "spatial")


def lambda_from_similarity(unit_similarity: Any) -> Any:
    """``λ = 1 - s / 2`` for a pair's similarity ``s`` in [0, 1].

    The anchor (whose label is kept) always holds at least half of the mix:
    an identical partner (s = 1) is mixed evenly, λ = 0.5, as in the paper; a
    partner with nothing in common (s = 0) is left out, λ = 1, since it would
    only add noise that contradicts the label. In between λ falls linearly,
    so λ is monotone in similarity across the whole range (unlike the
    ``λ = α·cos`` sketch, which gives λ near 0, the partner dominating, for
    dissimilar pairs).
    """
    return 1.0 - 0.5 * unit_similarity


def sample_lambda(
    lam: float | str,
    seed: Any,
    shape: list,
    alpha: float = 1.0,
    pair_similarity: Any = None,
    lam_range: tuple[float, float] = (0.0, 1.0),
) -> Any:
    """Draws mixing weights of ``shape`` by the strategy ``lam``.

    Args:
        lam: a number in [0, 1] (fixed λ; the paper uses 0.5), ``"beta"``
            (Beta(alpha, alpha) per value) or ``"similarity"`` (see
            ``lambda_from_similarity``; ``pair_similarity`` must be given, in
            [0, 1], broadcastable to ``shape``).
        seed: stateless seed, shape ``[2]``.
        shape: output shape, a list.
        alpha: Beta concentration, > 0.
        pair_similarity: per-sample similarity in [0, 1] for ``"similarity"``.
        lam_range: ``(low, high)``; every λ is clipped into it.

    Returns:
        float32 array of ``shape``.
    """
    xp = namespace(seed)
    if lam == "beta":
        values = beta_sample(seed, shape, alpha)
    elif lam == "similarity":
        if pair_similarity is None:
            raise ValueError("`lam='similarity'` needs the pair similarity.")
        values = xp.broadcast_to(
            xp.reshape(lambda_from_similarity(pair_similarity), [-1] + [1] * (len(shape) - 1)),
            shape,
        )
    elif isinstance(lam, str):
        raise ValueError(
            f"`lam` must be a number in [0, 1] or one of {LAMBDA_STRATEGIES}, got {lam!r}."
        )
    else:
        values = xp.full(shape, float(lam), "float32")
    return xp.clip(values, float(lam_range[0]), float(lam_range[1]))


def spatial_field(
    seed: Any, batch_size: Any, height: Any, width: Any, grid_size: int, draw: Callable
) -> Any:
    """A smooth λ field ``(B, H, W, 1)``: a random ``grid_size`` grid,
    bilinearly upsampled.

    Bilinear interpolation is a convex combination of grid values, so the
    field stays within their range, and neighbouring pixels differ by at most
    ``(max - min) * grid_size / min(H, W)``.

    Args:
        seed: stateless seed, shape ``[2]``.
        batch_size: B.
        height: image height.
        width: image width.
        grid_size: grid points per side, 1 <= grid_size <= min(H, W).
        draw: ``draw(seed, shape)`` returning the grid's λ values.
    """
    grid = draw(seed, [batch_size, grid_size, grid_size, 1])
    return namespace(seed).resize_bilinear(grid, (height, width))


def mixing_weights(mixing: str, seed: Any, images: Any, draw: Callable, grid_size: int = 4) -> Any:
    """Mixing weights ``w`` broadcastable against channels-last ``images``.

    Args:
        mixing: one of ``MIXINGS``. ``"linear"`` gives ``(B, 1, ..., 1)``
            and works for any rank >= 1; ``"channel"`` gives
            ``(B, 1, ..., 1, C)`` for rank >= 2; ``"spatial"`` gives
            ``(B, H, W, 1)`` for 4-D batches.
        seed: stateless seed, shape ``[2]``.
        images: the batch the weights are for (its shape is read, not its
            values).
        draw: ``draw(seed, shape)`` returning λ values of ``shape``.
        grid_size: grid side for ``"spatial"``.

    Returns:
        float32 weights.
    """
    xp = namespace(seed)
    static = images.shape
    rank = len(static)
    dynamic = xp.shape(images)
    batch = dynamic[0]
    if mixing == "linear":
        return xp.reshape(draw(seed, [batch]), [batch] + [1] * (rank - 1))
    if mixing == "channel":
        if rank < 2:
            raise ValueError(f"`mixing='channel'` needs a tensor of rank >= 2, got {static}.")
        channels = dynamic[-1]
        return xp.reshape(draw(seed, [batch, channels]), [batch] + [1] * (rank - 2) + [channels])
    if mixing == "spatial":
        if rank != 4:
            raise ValueError(f"`mixing='spatial'` needs 4-D images, got shape {static}.")
        height, width = static[1], static[2]
        if height is not None and width is not None and grid_size > min(height, width):
            raise ValueError(
                f"`grid_size` ({grid_size}) must not exceed the image's height and width, "
                f"got {height}x{width}."
            )
        height = dynamic[1] if height is None else height
        width = dynamic[2] if width is None else width
        return spatial_field(seed, batch, height, width, grid_size, draw)
    raise ValueError(f"`mixing` must be one of {MIXINGS}, got {mixing!r}.")


def mix(x: Any, partner_x: Any, weights: Any, paired: Any) -> Any:
    """``weights * x + (1 - weights) * partner_x`` where ``paired``, else ``x``.

    Computed in float32 (or ``x``'s own float dtype, e.g. float16 under mixed
    precision); integer tensors are rounded to the nearest value, ties to
    even, and keep their dtype, which is exact for uint8 since a mix of two
    values in [0, 255] stays in [0, 255]. Unpaired rows are returned
    bit-exact, even when they hold Inf or NaN.

    Args:
        x: a batch, any rank >= 1.
        partner_x: the partners, row ``i`` mixed into row ``i`` (same shape).
        weights: broadcastable to ``x``.
        paired: bool ``(B,)``.

    Returns:
        The mixed batch, same shape and dtype as ``x``.
    """
    xp = namespace(x)
    rank = len(x.shape)
    if rank > 2 and _one_per_sample(weights):
        # One weight per sample: mix rows of the flattened batch. XLA's CPU
        # loops then run over one long contiguous row instead of nesting down
        # to the channel axis (3 wide), about 15% faster at 224x224x3.
        batch = xp.shape(x)[0]
        rows = [batch, -1]
        flat = mix(
            xp.reshape(x, rows),
            xp.reshape(partner_x, rows),
            xp.reshape(weights, [batch, 1]),
            paired,
        )
        return xp.reshape(flat, xp.shape(x))
    dtype = xp.dtype_name(x)
    floating = dtype.startswith(("float", "bfloat"))
    compute_dtype = dtype if floating else "float32"
    x1 = xp.cast(x, compute_dtype)
    x2 = xp.cast(partner_x, compute_dtype)
    w = xp.cast(weights, compute_dtype)
    # The textbook form, not x2 + w * (x1 - x2), whose cancellation can leave
    # the interval between the two sources.
    mixed = w * x1 + (1.0 - w) * x2
    if not floating:
        mixed = xp.round(mixed)
    mixed = xp.cast(mixed, dtype)
    keep = xp.reshape(paired, [-1] + [1] * (rank - 1))
    return xp.where(keep, mixed, x)


def _one_per_sample(weights: Any) -> bool:
    shape = weights.shape
    return all(d == 1 for d in tuple(shape)[1:]) and len(shape) > 1


def label_weights(weights: Any) -> Any:
    """Per-sample label weight: the mean of a sample's mixing weights, ``(B,)``."""
    xp = namespace(weights)
    batch = xp.shape(weights)[0]
    return xp.mean(xp.reshape(weights, [batch, -1]), axis=1)
