"""Targets for the mixed images: class labels and sample weights (boxes and
masks live beside).

How labels are read is decided by their shape, not their dtype:

- ``(B,)`` or ``(B, 1)`` integer labels are class indices, as Keras's sparse
  losses take them;
- ``(B, K)`` labels with ``K >= 2`` are one-hot or soft, whatever the dtype;
- ``(B,)`` or ``(B, 1)`` float labels are class indices when ``num_classes``
  is given (Keras's augmentation layers turn integer labels into float32
  inside ``tf.data``), and scalar targets (binary, regression) otherwise.
"""

from __future__ import annotations

from typing import Any

from keras_samplepairing.ops.namespace import namespace

LABEL_MODES = ("first", "mix")


def _is_float(xp: Any, x: Any) -> bool:
    return xp.dtype_name(x).startswith(("float", "bfloat"))


def index_shaped(labels: Any) -> bool:
    """``(B,)`` or ``(B, 1)``: one value per sample."""
    shape = tuple(labels.shape)
    return len(shape) == 1 or (len(shape) == 2 and shape[-1] == 1)


def is_class_index(labels: Any, num_classes: int | None = None) -> bool:
    """Whether ``labels`` hold class indices (see the module's rules)."""
    if not index_shaped(labels):
        return False
    if not _is_float(namespace(labels), labels):
        return True
    return num_classes is not None and num_classes > 1


def one_hot_labels(labels: Any, num_classes: int | None) -> Any:
    """Float labels ready to mix: one-hot ``(B, K)``, or the dense labels as given.

    Class indices are one-hot encoded with ``num_classes``; dense labels
    (one-hot/soft ``(B, K)`` of any dtype, or scalar ``(B,)`` targets) are
    cast to float32 (float16/bfloat16 labels keep their dtype).
    """
    xp = namespace(labels)
    if not is_class_index(labels, num_classes):
        dtype = xp.dtype_name(labels)
        return labels if dtype in ("float16", "bfloat16") else xp.cast(labels, "float32")
    if num_classes is None:
        raise ValueError(
            "`num_classes` is required to one-hot encode integer class indices "
            "(for `label_mode='mix'` or `label_smoothing`); got labels of dtype "
            f"{xp.dtype_name(labels)} and shape {tuple(labels.shape)}."
        )
    return xp.one_hot(class_ids(labels), num_classes, dtype="float32")


def class_ids(labels: Any) -> Any:
    """int32 class index per sample, from indices or one-hot/soft labels."""
    xp = namespace(labels)
    if index_shaped(labels):
        values = xp.reshape(labels, [-1])
        if _is_float(xp, values):
            values = xp.round(values)
        return xp.cast(values, "int32")
    return xp.argmax(labels, axis=-1)


def one_class_per_row(labels: Any) -> Any:
    """bool ``(B,)``: rows of ``(B, K)`` labels whose largest entry is unique.

    Multi-hot rows (several ones) or evenly mixed rows do not say which class
    a sample is, so no class constraint can be read from them.
    """
    xp = namespace(labels)
    values = xp.cast(labels, "float32")
    top = xp.max(values, axis=-1, keepdims=True)
    return xp.equal(xp.sum(xp.cast(xp.equal(values, top), "int32"), axis=-1), 1)


def smooth_labels(labels: Any, label_smoothing: float) -> Any:
    """Keras's label smoothing: ``y·(1 - ε) + ε / K`` for ``(B, K)`` labels with
    ``K >= 2``; ``y·(1 - ε) + ε / 2`` for binary targets ``(B,)`` or ``(B, 1)``,
    which hold two classes in one column (as binary cross-entropy smooths them)."""
    if not label_smoothing:
        return labels
    if index_shaped(labels):
        return labels * (1.0 - label_smoothing) + label_smoothing / 2.0
    xp = namespace(labels)
    classes = labels.shape[-1]
    if classes is None:
        classes = xp.cast(xp.shape(labels)[-1], xp.dtype_name(labels))
    return labels * (1.0 - label_smoothing) + label_smoothing / classes


def _row_weights(xp: Any, weights: Any, paired: Any, like: Any) -> Any:
    w = xp.cast(xp.where(paired, weights, 1.0), xp.dtype_name(like))
    return xp.reshape(w, [-1] + [1] * (len(like.shape) - 1))


def mix_labels(
    labels: Any,
    partner_labels: Any,
    weights: Any,
    paired: Any,
    label_mode: str,
    num_classes: int | None = None,
    label_smoothing: float = 0.0,
) -> Any:
    """Labels for the mixed batch.

    Args:
        labels: class indices ``(B,)``/``(B, 1)``, one-hot/soft ``(B, K)``, or
            scalar float targets ``(B,)`` (binary, regression), which mix as
            scalars (see the module's rules).
        partner_labels: the partners' labels, row ``i`` for row ``i``.
        weights: float ``(B,)``, the first image's share of each mix.
        paired: bool ``(B,)``; unpaired rows keep their own label.
        label_mode: ``"first"``: the labels unchanged, any dtype (the
            paper); ``"mix"``: ``w * y1 + (1 - w) * y2`` as float one-hot/soft
            labels, which sum to 1 per row when the inputs do.
        num_classes: required for ``"mix"`` with class indices.
        label_smoothing: ε in [0, 1). When > 0 the labels come back as float
            one-hot labels smoothed once, ``y·(1 - ε) + ε/K``, after mixing,
            in both modes (class indices need ``num_classes``); the loss must
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
        return smooth_labels(one_hot_labels(labels, num_classes), label_smoothing)
    xp = namespace(labels)
    y1 = one_hot_labels(labels, num_classes)
    y2 = one_hot_labels(partner_labels, num_classes)
    w = _row_weights(xp, weights, paired, y1)
    return smooth_labels(w * y1 + (1.0 - w) * y2, label_smoothing)


def mix_sample_weights(
    sample_weight: Any, partner_weight: Any, weights: Any, paired: Any, label_mode: str
) -> Any:
    """Sample weights follow the labels: the first image's for ``"first"``,
    ``w·s1 + (1 - w)·s2`` (float) for ``"mix"``."""
    if label_mode == "first":
        return sample_weight
    xp = namespace(sample_weight)
    s1 = xp.cast(sample_weight, "float32")
    s2 = xp.cast(partner_weight, "float32")
    w = _row_weights(xp, weights, paired, s1)
    return w * s1 + (1.0 - w) * s2
