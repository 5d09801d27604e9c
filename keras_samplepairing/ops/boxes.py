"""Bounding boxes for the mixed images (detection).

A mix shows both images' objects, so the mixed image's boxes are the first
image's boxes followed by its partner's, each with a weight for the detection
loss: λ for the first image's boxes, 1 - λ for the partner's (mixup for
detection, Zhang et al. 2019, "Bag of Freebies"). Pixels are not moved and
both images of a batch have the same size, so box coordinates stay valid for
the mix in every format; nothing is converted or clipped.
"""

from __future__ import annotations

from typing import Any

from keras_samplepairing.ops.namespace import namespace

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
    key = class_key(bounding_boxes)
    boxes, classes = bounding_boxes["boxes"], bounding_boxes[key]
    xp = namespace(boxes)
    if len(boxes.shape) != 3 or boxes.shape[-1] != 4:
        raise ValueError(
            f"`bounding_boxes['boxes']` must be (B, N, 4), got shape {tuple(boxes.shape)}."
        )
    if len(classes.shape) != 2:
        raise ValueError(
            f"`bounding_boxes['{key}']` must be (B, N), got shape {tuple(classes.shape)}."
        )
    if xp.is_ragged(boxes) != xp.is_ragged(classes):
        raise TypeError("`bounding_boxes` boxes and labels must both be dense or both ragged.")
    if not xp.is_ragged(boxes):
        n_boxes, n_classes = boxes.shape[1], classes.shape[1]
        if None not in (n_boxes, n_classes) and n_boxes != n_classes:
            raise ValueError(
                f"`bounding_boxes` has {n_boxes} boxes but {n_classes} labels per image."
            )
    if None not in (batch_size, boxes.shape[0]) and boxes.shape[0] != batch_size:
        raise ValueError(f"`bounding_boxes` has a batch of {boxes.shape[0]}, images {batch_size}.")


def _dense_mix(boxes, classes, partner_boxes, partner_classes, weights, paired):
    xp = namespace(boxes)
    keep = paired[:, None]
    partner_classes = xp.where(keep, partner_classes, xp.cast(-1, xp.dtype_name(classes)))
    partner_boxes = xp.where(keep[..., None], partner_boxes, xp.cast(-1, xp.dtype_name(boxes)))
    own_valid = xp.cast(xp.not_equal(classes, -1), "float32")
    partner_valid = xp.cast(xp.not_equal(partner_classes, -1), "float32")
    box_weights = xp.concatenate(
        [weights[:, None] * own_valid, (1.0 - weights[:, None]) * partner_valid], axis=1
    )
    return (
        xp.concatenate([boxes, partner_boxes], axis=1),
        xp.concatenate([classes, partner_classes], axis=1),
        box_weights,
    )


def _ragged_mix(boxes, classes, partner_boxes, partner_classes, weights, paired):
    import tensorflow as tf  # ragged tensors exist only in TensorFlow

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


def mix_boxes(bounding_boxes: dict, partner_boxes: dict, weights: Any, paired: Any) -> dict:
    """Boxes, classes and per-box weights for the mixed batch.

    Args:
        bounding_boxes: ``{"boxes": (B, N, 4), "labels" or "classes": (B, N)}``,
            dense (padding rows have class -1) or ``tf.RaggedTensor``.
        partner_boxes: the partners' boxes in the same form, row ``i`` for
            row ``i``.
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
    xp = namespace(weights)
    weights = xp.where(paired, xp.cast(weights, "float32"), 1.0)
    mixer = _ragged_mix if namespace(boxes).is_ragged(boxes) else _dense_mix
    boxes, classes, box_weights = mixer(
        boxes,
        classes,
        partner_boxes["boxes"],
        partner_boxes[class_key(partner_boxes)],
        weights,
        paired,
    )
    out = dict(bounding_boxes)
    out.update({"boxes": boxes, key: classes, "box_weights": box_weights})
    return out
