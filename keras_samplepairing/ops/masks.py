"""Segmentation masks for the mixed images."""

from __future__ import annotations

from typing import Any

from keras_samplepairing.ops.namespace import namespace


def check_masks(masks: Any, images_shape: tuple, channels_first: bool) -> None:
    """Raises a clear error when masks do not match the images' batch and size."""
    shape = tuple(masks.shape)
    if len(shape) != 4:
        raise ValueError(f"`segmentation_masks` must be 4-D (B, H, W, C), got shape {shape}.")
    spatial = slice(2, 4) if channels_first else slice(1, 3)
    pairs = [(shape[0], images_shape[0])]
    pairs += list(zip(shape[spatial], images_shape[spatial], strict=True))
    for mask_dim, image_dim in pairs:
        if None not in (mask_dim, image_dim) and mask_dim != image_dim:
            raise ValueError(
                f"`segmentation_masks` must match the images' batch and spatial size: "
                f"masks {shape}, images {tuple(images_shape)}."
            )


def _float_masks(masks: Any, num_classes: int | None, channels_first: bool) -> Any:
    """Masks as float one-hot/soft maps (integer class maps one-hot encoded)."""
    xp = namespace(masks)
    dtype = xp.dtype_name(masks)
    if dtype.startswith(("float", "bfloat")):
        return masks if dtype in ("float16", "bfloat16") else xp.cast(masks, "float32")
    if num_classes is None:
        raise ValueError(
            "`num_classes` is required when `label_mode='mix'` gets integer `segmentation_masks`."
        )
    axis = 1 if channels_first else -1
    if masks.shape[axis] not in (1, None):
        raise ValueError(
            "Integer `segmentation_masks` must be class maps with one channel, got "
            f"shape {tuple(masks.shape)}."
        )
    return xp.one_hot(xp.squeeze(masks, axis=axis), num_classes, axis=axis, dtype="float32")


def mix_masks(
    masks: Any,
    partner_masks: Any,
    weights: Any,
    paired: Any,
    label_mode: str,
    num_classes: int | None = None,
    channels_first: bool = False,
) -> Any:
    """Masks for the mixed batch.

    Args:
        masks: ``(B, H, W, 1)`` integer class maps or ``(B, H, W, K)``
            one-hot/soft masks (channels-first: ``(B, 1 or K, H, W)``).
        partner_masks: the partners' masks, row ``i`` for row ``i``.
        weights: the pixels' mixing weights, ``(B, 1, 1, 1)`` or per pixel
            ``(B, H, W, 1)`` (in the masks' layout). Per-channel image weights
            are averaged over channels before they get here.
        paired: bool ``(B,)``.
        label_mode: ``"first"``: the first image's mask unchanged (dtype and
            values); ``"mix"``: float ``w·m1 + (1 - w)·m2``, per pixel where
            ``w`` varies per pixel, with integer masks one-hot encoded to
            ``num_classes`` channels first.
        num_classes: required for ``"mix"`` with integer masks.
        channels_first: the masks' layout.

    Returns:
        The masks, keeping the 4-D ``(B, H, W, C)`` shape (``C = num_classes``
        for one-hot encoded integer masks).
    """
    if label_mode == "first":
        return masks
    xp = namespace(masks)
    m1 = _float_masks(masks, num_classes, channels_first)
    m2 = _float_masks(partner_masks, num_classes, channels_first)
    w = xp.cast(weights, xp.dtype_name(m1))
    mixed = w * m1 + (1.0 - w) * m2
    return xp.where(xp.reshape(paired, [-1, 1, 1, 1]), mixed, m1)
