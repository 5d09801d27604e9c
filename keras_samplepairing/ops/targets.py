"""Targets for the mixed images: class labels (boxes and masks live beside)."""

from __future__ import annotations

import tensorflow as tf

LABEL_MODES = ("first", "mix")


def _index_shaped(labels: tf.Tensor) -> bool:
    """``(B,)`` or ``(B, 1)``: one value per sample."""
    rank = labels.shape.rank
    return rank == 1 or (rank == 2 and labels.shape[-1] == 1)


def is_sparse(labels: tf.Tensor, num_classes: int | None = None) -> bool:
    """Whether ``labels`` hold class indices.

    Integer labels are indices. Float labels of shape ``(B,)``/``(B, 1)`` are
    indices too when ``num_classes`` is given: Keras's augmentation layers
    turn integer labels into float32 inside ``tf.data``. Without
    ``num_classes`` such labels are scalar targets (binary, regression).
    Float ``(B, K)`` labels are one-hot or soft.
    """
    if labels.dtype.is_integer:
        return True
    return num_classes is not None and num_classes > 1 and _index_shaped(labels)


def one_hot_labels(labels: tf.Tensor, num_classes: int | None) -> tf.Tensor:
    """Float labels ready to mix: one-hot ``(B, K)``, or the dense labels as given.

    Class indices (see ``is_sparse``) are one-hot encoded with
    ``num_classes``; dense labels (one-hot/soft ``(B, K)`` or scalar ``(B,)``
    targets) are cast to float32 (float16/bfloat16 labels keep their dtype).
    """
    if not is_sparse(labels, num_classes):
        return labels if labels.dtype in (tf.float16, tf.bfloat16) else tf.cast(labels, tf.float32)
    if num_classes is None:
        raise ValueError(
            "`num_classes` is required to one-hot encode integer (sparse) labels "
            "(for `label_mode='mix'` or `label_smoothing`); got labels of dtype "
            f"{labels.dtype.name}."
        )
    ids = tf.cast(tf.round(tf.reshape(tf.cast(labels, tf.float32), [-1])), tf.int32)
    return tf.one_hot(ids, num_classes, dtype=tf.float32)


def class_ids(labels: tf.Tensor) -> tf.Tensor:
    """int32 class index per sample, from indices or one-hot/soft labels."""
    if labels.dtype.is_integer or _index_shaped(labels):
        return tf.cast(tf.round(tf.reshape(tf.cast(labels, tf.float32), [-1])), tf.int32)
    return tf.argmax(labels, axis=-1, output_type=tf.int32)


def smooth_labels(labels: tf.Tensor, label_smoothing: float) -> tf.Tensor:
    """Keras's label smoothing: ``y·(1 - ε) + ε / K`` for ``(B, K)`` labels,
    ``y·(1 - ε) + ε / 2`` for scalar binary targets ``(B,)``."""
    if not label_smoothing:
        return labels
    if labels.shape.rank == 1:
        return labels * (1.0 - label_smoothing) + label_smoothing / 2.0
    classes = tf.cast(tf.shape(labels)[-1], labels.dtype)
    return labels * (1.0 - label_smoothing) + label_smoothing / classes


def mix_labels(
    labels: tf.Tensor,
    partners: tf.Tensor,
    weights: tf.Tensor,
    paired: tf.Tensor,
    label_mode: str,
    num_classes: int | None = None,
    label_smoothing: float = 0.0,
) -> tf.Tensor:
    """Labels for the mixed batch.

    Args:
        labels: class indices ``(B,)``/``(B, 1)`` (integer, or float with
            ``num_classes``), one-hot/soft ``(B, K)``, or scalar float
            targets ``(B,)`` (binary, regression), which mix as scalars.
        partners: int32 ``(B,)``.
        weights: float ``(B,)``, the first image's share of each mix.
        paired: bool ``(B,)``; unpaired rows keep their own label.
        label_mode: ``"first"``: the labels unchanged, any dtype (the
            paper); ``"mix"``: ``w * y1 + (1 - w) * y2`` as float one-hot/soft
            labels, which sum to 1 per row when the inputs do.
        num_classes: required for ``"mix"`` with integer labels.
        label_smoothing: ε in [0, 1). When > 0 the labels come back as float
            one-hot labels smoothed once, ``y·(1 - ε) + ε/K``, after mixing,
            in both modes (integer labels need ``num_classes``); the loss must
            not smooth them again.

    Returns:
        The labels: the input itself for ``"first"`` without smoothing, else
        float ``(B, K)``.
    """
    if label_mode not in LABEL_MODES:
        raise ValueError(f"`label_mode` must be one of {LABEL_MODES}, got {label_mode!r}.")
    if label_mode == "first":
        if not label_smoothing:
            return labels
        return smooth_labels(
            one_hot_labels(tf.convert_to_tensor(labels), num_classes), label_smoothing
        )
    y1 = one_hot_labels(tf.convert_to_tensor(labels), num_classes)
    y2 = tf.gather(y1, partners)
    w = tf.cast(tf.where(paired, weights, 1.0), y1.dtype)
    w = tf.reshape(w, [-1] + [1] * (y1.shape.rank - 1))
    return smooth_labels(w * y1 + (1.0 - w) * y2, label_smoothing)
