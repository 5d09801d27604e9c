"""Checks a batch before it is paired: a clear error instead of a wrong result.

Shapes and dtypes are checked when the graph is built; values (class
indices in range, one class per row for a class constraint) are checked
where a check can run: at once for eager tensors, as an op in a TensorFlow
graph (outside XLA, which drops assertions).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from keras_samplepairing.ops.boxes import check_boxes
from keras_samplepairing.ops.masks import check_masks
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.targets import index_shaped, is_class_index, one_class_per_row


def check_features_run_here(options: PairingOptions, xp: ModuleType) -> None:
    """A Keras model computes in the backend's own arrays: under JAX or
    PyTorch it cannot run on the TensorFlow tensors of a ``tf.data`` map."""
    import keras

    backend = keras.config.backend()
    uses_features = options.pairing != "random" or options.lam == "similarity"
    if (
        uses_features
        and xp.name == "tensorflow"
        and backend != "tensorflow"
        and isinstance(options.features, keras.layers.Layer)
    ):
        raise ValueError(
            f"`features=<a Keras model>` cannot run inside tf.data under the {backend!r} "
            "backend (the model computes in that backend's arrays, the pipeline in TensorFlow "
            "tensors). Pair inside the model (the layer in the model, PairingModel), use "
            "features='pooled' or 'histogram', or give WholeSetPairing features computed "
            "beforehand (an (N, D) array)."
        )


def _numeric(xp: ModuleType, x: Any) -> bool:
    name = xp.dtype_name(x)
    return name != "bool" and name.startswith(("float", "bfloat", "int", "uint"))


def check_images(xp: ModuleType, images: Any, min_rank: int) -> None:
    """Rank, dtype and size of the images (or hidden features)."""
    if xp.is_ragged(images):
        raise TypeError(
            "`images` must be a dense tensor; got a tf.RaggedTensor. Resize the "
            "images to one size (e.g. keras.layers.Resizing) before pairing."
        )
    if not _numeric(xp, images):
        raise TypeError(f"`images` must have a numeric dtype, got {xp.dtype_name(images)}.")
    shape = xp.static_shape(images)
    if shape is None:
        raise ValueError("`images` must have a known rank (batch first).")
    rank = len(shape)
    if min_rank == 4 and rank != 4:
        hint = (
            " A single unbatched image (H, W, C) has rank 3: batch first "
            "(ds.batch(n)), or pair over a dataset with pair_with_dataset."
            if rank == 3
            else ""
        )
        raise ValueError(
            f"`images` must be a 4-D batch (B, H, W, C) or (B, C, H, W), got shape {shape}.{hint}"
        )
    if rank < min_rank:
        raise ValueError(f"`features` must have rank >= {min_rank} (batch first), got {shape}.")
    if 0 in shape[1:]:
        raise ValueError(f"`images` must not be empty per sample, got shape {shape}.")


def check_labels(xp: ModuleType, labels: Any, options: PairingOptions) -> Any:
    """Shape and dtype of the labels; their values where the options read them."""
    name = xp.dtype_name(labels)
    if not _numeric(xp, labels):
        raise TypeError(f"`labels` must be numeric, got {name}.")
    shape = xp.static_shape(labels)
    if shape is None or len(shape) not in (1, 2):
        raise ValueError(
            f"`labels` must be (B,) class indices or (B, K) one-hot/soft labels, got shape {shape}."
        )
    one_hot = options.label_mode == "mix" or options.label_smoothing > 0
    num_classes = options.num_classes
    if one_hot and num_classes is not None and is_class_index(labels, num_classes):
        # An index outside would one-hot encode to an all-zero row.
        values = xp.reshape(labels, [-1])
        in_range = xp.logical_and(values >= 0, values < num_classes)
        labels = xp.assert_all(
            in_range,
            f"`labels` must be class indices in [0, {num_classes}) (num_classes).",
            labels,
        )
    if options.class_constraint != "any" and not index_shaped(labels):
        labels = xp.assert_all(
            one_class_per_row(labels),
            f"`class_constraint={options.class_constraint!r}` needs one class per sample, "
            "but a row of the (B, K) labels has no single largest entry (multi-hot or "
            "evenly mixed labels); pass class indices or one-hot/soft labels.",
            labels,
        )
    return labels


SCALAR_TARGETS_WARNING = (
    "SamplePairing got float labels of shape (B,) or (B, 1) and no `num_classes`, so it "
    "mixes them as scalar targets (binary or regression): class ids 3 and 8 would mix "
    "into 5.5. If these labels are class ids (Keras's augmentation layers turn integer "
    "labels into float32 inside tf.data), pass `num_classes` to one-hot encode them."
)


def scalar_targets_look_like_classes(labels: Any, options: PairingOptions, xp: ModuleType) -> bool:
    """Whether float ``(B,)``/``(B, 1)`` labels about to be mixed as scalars may be
    class ids: whole numbers outside [0, 1], where values can be read (eager), or
    always inside a graph, where they cannot (the warning then says "if")."""
    if labels is None or options.num_classes is not None or options.label_mode != "mix":
        return False
    if not xp.dtype_name(labels).startswith(("float", "bfloat")) or not index_shaped(labels):
        return False
    if not xp.is_tensor(labels) or _symbolic(labels):
        return True
    values = np.asarray(labels, dtype=np.float64)
    whole = np.all(np.isfinite(values)) and np.all(values == np.round(values))
    return bool(whole and values.size and (values.min() < 0 or values.max() > 1))


def _symbolic(value: Any) -> bool:
    """A value known only when a graph runs (a TensorFlow graph or a JAX trace)."""
    try:
        np.asarray(value)
    except Exception:
        return True
    return False


def _same_batch(name: str, first: Any, second: Any) -> None:
    if None not in (first, second) and first != second:
        raise ValueError(
            f"`images` and `{name}` must have the same batch size, got {first} and {second}."
        )


def check_batch(batch: dict, options: PairingOptions, xp: ModuleType, min_rank: int = 4) -> dict:
    """Returns the batch (labels with their value checks attached), or raises.

    Args:
        batch: dict of tensors with ``"images"`` and optionally
            ``"labels"``, ``"sample_weight"``, ``"bounding_boxes"`` and
            ``"segmentation_masks"``.
        options: the transform's options.
        xp: the batch's namespace.
        min_rank: the smallest rank ``"images"`` may have (4 for images,
            2 for hidden features).
    """
    images = batch["images"]
    check_images(xp, images, min_rank)
    shape = xp.static_shape(images)
    batch = dict(batch)
    if "bounding_boxes" in batch:
        check_boxes(batch["bounding_boxes"], shape[0])
    if "segmentation_masks" in batch:
        check_masks(batch["segmentation_masks"], shape, options.data_format == "channels_first")
    if "labels" in batch:
        batch["labels"] = check_labels(xp, batch["labels"], options)
        _same_batch("labels", shape[0], batch["labels"].shape[0])
    elif options.class_constraint != "any":
        raise ValueError(
            f"`class_constraint={options.class_constraint!r}` needs labels: pass "
            "(images, labels) or a dict with 'labels'."
        )
    if "sample_weight" in batch:
        weights = batch["sample_weight"]
        if not _numeric(xp, weights) or not index_shaped(weights):
            raise ValueError(
                "`sample_weight` must be numeric (B,) or (B, 1), got "
                f"{xp.dtype_name(weights)} {xp.static_shape(weights)}."
            )
        _same_batch("sample_weight", shape[0], weights.shape[0])
    return batch
