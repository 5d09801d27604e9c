"""Segmentation masks for the mixed images."""

from __future__ import annotations

import tensorflow as tf


def check_masks(masks: tf.Tensor, images_shape: tf.TensorShape, channels_first: bool) -> None:
    """Raises a clear error when masks do not match the images' batch and size."""
    if masks.shape.rank != 4:
        raise ValueError(f"`segmentation_masks` must be 4-D (B, H, W, C), got shape {masks.shape}.")
    spatial = slice(2, 4) if channels_first else slice(1, 3)
    pairs = [(masks.shape[0], images_shape[0])]
    pairs += list(zip(masks.shape[spatial], images_shape[spatial], strict=True))
    for mask_dim, image_dim in pairs:
        if None not in (mask_dim, image_dim) and mask_dim != image_dim:
            raise ValueError(
                f"`segmentation_masks` must match the images' batch and spatial size: "
                f"masks {masks.shape}, images {images_shape}."
            )


def mix_masks(
    masks: tf.Tensor,
    partners: tf.Tensor,
    weights: tf.Tensor,
    paired: tf.Tensor,
    label_mode: str,
    num_classes: int | None = None,
    channels_first: bool = False,
) -> tf.Tensor:
    """Masks for the mixed batch.

    Args:
        masks: ``(B, H, W, 1)`` integer class maps or ``(B, H, W, K)``
            one-hot/soft masks (channels-first: ``(B, 1 or K, H, W)``).
        partners: int32 ``(B,)``.
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
    masks = tf.convert_to_tensor(masks)
    if masks.dtype.is_integer:
        if num_classes is None:
            raise ValueError(
                "`num_classes` is required when `label_mode='mix'` gets integer "
                "`segmentation_masks`."
            )
        axis = 1 if channels_first else -1
        if masks.shape[axis] not in (1, None):
            raise ValueError(
                "Integer `segmentation_masks` must be class maps with one channel, got "
                f"shape {masks.shape}."
            )
        masks = tf.one_hot(tf.squeeze(masks, axis=axis), num_classes, axis=axis)
    masks = tf.cast(masks, tf.float32) if masks.dtype not in (tf.float16, tf.bfloat16) else masks
    partner = tf.gather(masks, partners)
    w = tf.cast(weights, masks.dtype)
    mixed = w * masks + (1.0 - w) * partner
    return tf.where(tf.reshape(paired, [-1, 1, 1, 1]), mixed, masks)
