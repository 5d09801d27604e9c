"""Bounding boxes for the mixed images (detection).

A mix shows both images' objects, so the mixed image's boxes are the first
image's boxes followed by its partner's, each with a weight for the detection
loss: λ for the first image's boxes, 1 - λ for the partner's (mixup for
detection, Zhang et al. 2019, "Bag of Freebies"). Pixels are not moved and
both images of a batch have the same size, so box coordinates stay valid for
the mix in every format; nothing is converted or clipped.
"""

from __future__ import annotations

import tensorflow as tf

# keras.utils.bounding_boxes's formats.
BOX_FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
)
# Keras 3 calls the box classes "labels"; KerasCV called them "classes".
CLASS_KEYS = ("labels", "classes")


def class_key(bounding_boxes: dict) -> str:
    """The key the caller used for box classes."""
    for key in CLASS_KEYS:
        if key in bounding_boxes:
            return key
    raise ValueError(
        "`bounding_boxes` must be a dict with 'boxes' and 'labels' (or KerasCV's "
        f"'classes'); got keys {sorted(bounding_boxes)}."
    )


def check_boxes(bounding_boxes: dict, batch_size: int | None) -> None:
    """Raises a clear error for malformed ``bounding_boxes``."""
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes:
        raise ValueError(
            "`bounding_boxes` must be a dict with 'boxes' and 'labels'; got "
            f"{type(bounding_boxes).__name__}."
        )
    boxes, classes = bounding_boxes["boxes"], bounding_boxes[class_key(bounding_boxes)]
    if boxes.shape.rank != 3 or boxes.shape[-1] != 4:
        raise ValueError(f"`bounding_boxes['boxes']` must be (B, N, 4), got shape {boxes.shape}.")
    if classes.shape.rank != 2:
        raise ValueError(
            f"`bounding_boxes['{class_key(bounding_boxes)}']` must be (B, N), got "
            f"shape {classes.shape}."
        )
    if isinstance(boxes, tf.RaggedTensor) != isinstance(classes, tf.RaggedTensor):
        raise TypeError("`bounding_boxes` boxes and labels must both be dense or both ragged.")
    if not isinstance(boxes, tf.RaggedTensor):
        n_boxes, n_classes = boxes.shape[1], classes.shape[1]
        if None not in (n_boxes, n_classes) and n_boxes != n_classes:
            raise ValueError(
                f"`bounding_boxes` has {n_boxes} boxes but {n_classes} labels per image."
            )
    if None not in (batch_size, boxes.shape[0]) and boxes.shape[0] != batch_size:
        raise ValueError(f"`bounding_boxes` has a batch of {boxes.shape[0]}, images {batch_size}.")


def _dense_mix(boxes, classes, partners, weights, paired):
    keep = paired[:, None]
    partner_classes = tf.where(keep, tf.gather(classes, partners), tf.cast(-1, classes.dtype))
    partner_boxes = tf.where(keep[..., None], tf.gather(boxes, partners), tf.cast(-1, boxes.dtype))
    own_valid = tf.cast(tf.not_equal(classes, -1), tf.float32)
    partner_valid = tf.cast(tf.not_equal(partner_classes, -1), tf.float32)
    box_weights = tf.concat(
        [weights[:, None] * own_valid, (1.0 - weights[:, None]) * partner_valid], axis=1
    )
    return (
        tf.concat([boxes, partner_boxes], axis=1),
        tf.concat([classes, partner_classes], axis=1),
        box_weights,
    )


def _ragged_mix(boxes, classes, partners, weights, paired):
    partner_classes = tf.gather(classes, partners)
    partner_boxes = tf.gather(boxes, partners)
    # An unpaired image keeps its own boxes once: its partner part is empty.
    keep = partner_classes.with_flat_values(tf.repeat(paired, partner_classes.row_lengths()))
    partner_classes = tf.ragged.boolean_mask(partner_classes, keep)
    partner_boxes = tf.ragged.boolean_mask(partner_boxes, keep)
    own_weights = classes.with_flat_values(tf.repeat(weights, classes.row_lengths()))
    partner_weights = partner_classes.with_flat_values(
        tf.repeat(1.0 - weights, partner_classes.row_lengths())
    )
    return (
        tf.concat([boxes, partner_boxes], axis=1),
        tf.concat([classes, partner_classes], axis=1),
        tf.concat([own_weights, partner_weights], axis=1),
    )


def mix_boxes(
    bounding_boxes: dict, partners: tf.Tensor, weights: tf.Tensor, paired: tf.Tensor
) -> dict:
    """Boxes, classes and per-box weights for the mixed batch.

    Args:
        bounding_boxes: ``{"boxes": (B, N, 4), "labels" or "classes": (B, N)}``,
            dense (padding rows have class -1) or ``tf.RaggedTensor``.
        partners: int32 ``(B,)``.
        weights: float32 ``(B,)``, the first image's share λ.
        paired: bool ``(B,)``.

    Returns:
        The dict with the caller's keys: dense ``(B, 2N, 4)`` boxes and
        ``(B, 2N)`` classes (an unpaired image's second half is padding), or
        ragged rows of the two images' boxes; plus ``"box_weights"`` (same
        form as the classes): λ for the first image's boxes, 1 - λ for the
        partner's, 0 for padding.
    """
    key = class_key(bounding_boxes)
    boxes, classes = bounding_boxes["boxes"], bounding_boxes[key]
    weights = tf.where(paired, tf.cast(weights, tf.float32), 1.0)
    mixer = _ragged_mix if isinstance(boxes, tf.RaggedTensor) else _dense_mix
    boxes, classes, box_weights = mixer(boxes, classes, partners, weights, paired)
    out = dict(bounding_boxes)
    out.update({"boxes": boxes, key: classes, "box_weights": box_weights})
    return out
