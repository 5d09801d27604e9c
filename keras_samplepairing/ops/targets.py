"""Targets for the mixed images: class labels (boxes and masks live beside)."""

from __future__ import annotations

import tensorflow as tf

LABEL_MODES = ("first", "mix")


def is_sparse(labels: tf.Tensor) -> bool:
    """Integer labels are class indices; float labels are one-hot or soft."""
    return labels.dtype.is_integer


def one_hot_labels(labels: tf.Tensor, num_classes: int | None) -> tf.Tensor:
    """Float32 one-hot/soft labels ``(B, K)`` from sparse or dense labels.

    Sparse labels of shape ``(B,)`` or ``(B, 1)`` are one-hot encoded with
    ``num_classes``; dense labels are cast to float32 (float16/bfloat16 labels
    keep their dtype).
    """
    if not is_sparse(labels):
        return labels if labels.dtype in (tf.float16, tf.bfloat16) else tf.cast(labels, tf.float32)
    if num_classes is None:
        raise ValueError(
            "`num_classes` is required when `label_mode='mix'` gets integer (sparse) "
            f"labels; got labels of dtype {labels.dtype.name}."
        )
    ids = tf.reshape(labels, [-1])
    return tf.one_hot(ids, num_classes, dtype=tf.float32)


def class_ids(labels: tf.Tensor) -> tf.Tensor:
    """int32 class index per sample, from sparse or one-hot/soft labels."""
    if is_sparse(labels):
        return tf.cast(tf.reshape(labels, [-1]), tf.int32)
    return tf.argmax(labels, axis=-1, output_type=tf.int32)


def mix_labels(
    labels: tf.Tensor,
    partners: tf.Tensor,
    weights: tf.Tensor,
    paired: tf.Tensor,
    label_mode: str,
    num_classes: int | None = None,
) -> tf.Tensor:
    """Labels for the mixed batch.

    Args:
        labels: ``(B,)``/``(B, 1)`` integer or ``(B, K)`` float labels.
        partners: int32 ``(B,)``.
        weights: float ``(B,)``, the first image's share of each mix.
        paired: bool ``(B,)``; unpaired rows keep their own label.
        label_mode: ``"first"``: the labels unchanged, any dtype (the
            paper); ``"mix"``: ``w * y1 + (1 - w) * y2`` as float one-hot/soft
            labels, which sum to 1 per row when the inputs do.
        num_classes: required for ``"mix"`` with integer labels.

    Returns:
        The labels: the input itself for ``"first"``, float ``(B, K)`` for
        ``"mix"``.
    """
    if label_mode not in LABEL_MODES:
        raise ValueError(f"`label_mode` must be one of {LABEL_MODES}, got {label_mode!r}.")
    if label_mode == "first":
        return labels
    y1 = one_hot_labels(tf.convert_to_tensor(labels), num_classes)
    y2 = tf.gather(y1, partners)
    w = tf.cast(tf.where(paired, weights, 1.0), y1.dtype)[:, None]
    return w * y1 + (1.0 - w) * y2
