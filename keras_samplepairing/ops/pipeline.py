"""One SamplePairing step on a batch: choose partners, mix, make targets.

This is the order of operations that the layers and the tf.data map function
share; it holds no Keras state and compiles with XLA.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from keras_samplepairing.ops.boxes import check_boxes, class_key, mix_boxes
from keras_samplepairing.ops.features import histogram_features, pooled_features
from keras_samplepairing.ops.masks import check_masks, mix_masks
from keras_samplepairing.ops.mixing import label_weights, mix, mixing_weights, sample_lambda
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.pairing import class_candidates, select_partners
from keras_samplepairing.ops.random import split_seed
from keras_samplepairing.ops.similarity import pairwise_similarity, unit_similarity
from keras_samplepairing.ops.targets import class_ids, is_sparse, mix_labels


def _check_label_range(labels: tf.Tensor, num_classes: int) -> tf.Tensor:
    """Class indices must lie in [0, num_classes): an index outside would
    one-hot encode to an all-zero row, a silently wrong label."""
    if tf.executing_eagerly():
        values = labels.numpy()
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(
                f"`labels` must be class indices in [0, {num_classes}) (num_classes), got "
                f"values from {values.min()} to {values.max()}."
            )
        return labels
    # In graphs (tf.data) this runs outside the XLA part, so the check holds.
    message = f"`labels` must be class indices in [0, {num_classes}) (num_classes)"
    checks = [
        tf.debugging.assert_greater_equal(labels, tf.cast(0, labels.dtype), message=message),
        tf.debugging.assert_less(labels, tf.cast(num_classes, labels.dtype), message=message),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(labels)


def check_batch(batch: dict, options: PairingOptions | None = None, min_rank: int = 4) -> dict:
    """Returns the batch as tensors, or raises a clear error if it cannot be paired.

    Args:
        batch: dict with ``"images"`` and optionally ``"labels"``,
            ``"bounding_boxes"`` and ``"segmentation_masks"``.
        options: the transform's options (layout, and the number of classes
            that integer labels are checked against when they will be one-hot
            encoded).
        min_rank: the smallest rank ``"images"`` may have (4 for images,
            2 for hidden features).
    """
    options = options or PairingOptions()
    batch = as_tensors(batch)
    images = batch["images"]
    if isinstance(images, tf.RaggedTensor):
        raise TypeError(
            "`images` must be a dense tensor; got a tf.RaggedTensor. Resize the "
            "images to one size (e.g. keras.layers.Resizing) before pairing."
        )
    if images.dtype == tf.bool or not (images.dtype.is_floating or images.dtype.is_integer):
        raise TypeError(f"`images` must have a numeric dtype, got {images.dtype.name}.")
    rank = images.shape.rank
    if rank is not None and (rank < min_rank or (min_rank == 4 and rank != 4)):
        if min_rank == 4:
            hint = (
                " A single unbatched image (H, W, C) has rank 3: batch first "
                "(ds.batch(n)), or pair over a dataset with pair_with_dataset."
                if rank == 3
                else ""
            )
            raise ValueError(
                f"`images` must be a 4-D batch (B, H, W, C) or (B, C, H, W), got shape "
                f"{images.shape}.{hint}"
            )
        raise ValueError(
            f"`features` must have rank >= {min_rank} (batch first), got {images.shape}."
        )
    if 0 in images.shape[1:]:
        raise ValueError(f"`images` must not be empty per sample, got shape {images.shape}.")
    channels_first = options.data_format == "channels_first"
    if "bounding_boxes" in batch:
        check_boxes(batch["bounding_boxes"], images.shape[0])
    if "segmentation_masks" in batch:
        check_masks(batch["segmentation_masks"], images.shape, channels_first)
    labels = batch.get("labels")
    if labels is None:
        return batch
    if labels.dtype == tf.bool or labels.dtype == tf.string:
        raise TypeError(f"`labels` must be numeric, got {labels.dtype.name}.")
    if labels.shape.rank is not None and labels.shape.rank not in (1, 2):
        raise ValueError(
            f"`labels` must be (B,) class indices or (B, K) one-hot/soft labels, got "
            f"shape {labels.shape}."
        )
    b_images, b_labels = images.shape[0], labels.shape[0]
    if b_images is not None and b_labels is not None and b_images != b_labels:
        raise ValueError(
            f"`images` and `labels` must have the same batch size, got {b_images} and {b_labels}."
        )
    one_hot = options.label_mode == "mix" or options.label_smoothing > 0
    if one_hot and options.num_classes is not None and is_sparse(labels, options.num_classes):
        batch["labels"] = _check_label_range(labels, options.num_classes)
    return batch


def as_tensors(batch: dict) -> dict:
    """The batch with arrays turned into tensors (ragged boxes stay ragged)."""
    batch = dict(batch)
    for key in ("images", "labels", "segmentation_masks"):
        if key in batch and not isinstance(batch[key], tf.RaggedTensor):
            batch[key] = tf.convert_to_tensor(batch[key])
    if isinstance(batch.get("bounding_boxes"), dict):
        boxes = dict(batch["bounding_boxes"])
        for key in ("boxes", class_key(boxes)):
            if not isinstance(boxes[key], tf.RaggedTensor):
                boxes[key] = tf.convert_to_tensor(boxes[key])
        batch["bounding_boxes"] = boxes
    return batch


def compute_features(
    images: tf.Tensor, options: PairingOptions, feature_fn: Callable | None = None
) -> tf.Tensor:
    """The ``(B, D)`` feature vectors used for similarity (channels-last images)."""
    if callable(options.features) or feature_fn is not None:
        features = tf.stop_gradient((feature_fn or options.features)(images))
        features = tf.convert_to_tensor(features)
        rank = features.shape.rank
        if rank is not None and rank < 2:
            raise ValueError(
                "`features` model must return a batch of feature vectors (B, D, ...), "
                f"got shape {features.shape}."
            )
        if (
            None not in (features.shape[0], images.shape[0])
            and features.shape[0] != images.shape[0]
        ):
            raise ValueError(
                f"`features` model returned a batch of {features.shape[0]} for "
                f"{images.shape[0]} images; its first axis must be the batch."
            )
        return features
    if images.shape.rank != 4:
        return images
    if options.features == "histogram":
        return histogram_features(images, value_range=options.value_range)
    return pooled_features(images)


def sample_pairing(
    batch: dict,
    seed: tf.Tensor,
    options: PairingOptions,
    enabled: tf.Tensor | bool = True,
    feature_fn: Callable | None = None,
) -> tuple[dict, dict]:
    """Pairs, mixes and relabels one batch.

    Args:
        batch: dict with ``"images"`` (a batch of images or of hidden
            features, batch first) and optionally ``"labels"``; other keys
            pass through unchanged.
        seed: stateless seed, int ``[2]``.
        options: the transform's options.
        enabled: scalar bool; False returns every sample unpaired (the
            identity on images; labels still take the ``label_mode`` form so
            the output structure does not depend on it).
        feature_fn: optional callable ``images -> (B, D)`` features, overriding
            ``options.features`` (used for Keras models held by a layer).

    Returns:
        ``(outputs, info)``: ``outputs`` has ``batch``'s keys; ``info`` holds
        ``"partners"`` (int32 ``(B,)``), ``"paired"`` (bool ``(B,)``) and
        ``"weights"`` (each sample's label weight λ, float32 ``(B,)``).
    """
    batch = as_tensors(batch)
    images = batch["images"]
    channels_first = options.data_format == "channels_first" and images.shape.rank == 4
    layout = tf.transpose(images, [0, 2, 3, 1]) if channels_first else images
    batch_size = tf.shape(images)[0]
    pair_seed, rate_seed, lam_seed = split_seed(tf.cast(seed, tf.int64), 3)

    similarity = None
    if options.needs_similarity:
        if images.shape[0] == 0:  # an empty batch: no features to compare
            similarity = tf.zeros([0, 0])
        else:
            features = compute_features(layout, options, feature_fn)
            similarity = pairwise_similarity(features, options.similarity)

    candidates = None
    if options.class_constraint != "any":
        if "labels" not in batch:
            raise ValueError(
                f"`class_constraint={options.class_constraint!r}` needs labels: pass "
                "(images, labels) or a dict with 'labels'."
            )
        candidates = class_candidates(class_ids(batch["labels"]), options.class_constraint)

    drawn_partners = select_partners(
        options.pairing, pair_seed, batch_size, similarity, candidates, options.temperature
    )
    paired = tf.fill([batch_size], tf.cast(enabled, tf.bool))
    if options.rate < 1.0:
        # Skipped at rate 1 (every draw would pass): XLA recomputes cheap
        # producers inside the consumer, so the draw would run per pixel.
        drawn = tf.random.stateless_uniform([batch_size], rate_seed) < options.rate
        paired = tf.logical_and(paired, drawn)
    own = tf.range(batch_size, dtype=tf.int32)
    partners = tf.where(paired, drawn_partners, own)

    pair_similarity = None
    if options.lam == "similarity":
        pair_similarity = unit_similarity(
            tf.gather(similarity, partners, batch_dims=1), options.similarity
        )

    def draw(draw_seed, shape):
        return sample_lambda(
            options.lam, draw_seed, shape, options.alpha, pair_similarity, options.lam_range
        )

    layout_weights = mixing_weights(
        options.mixing, lam_seed, layout.shape, tf.shape(layout), draw, options.grid_size
    )
    weights = layout_weights
    if channels_first:
        weights = tf.transpose(layout_weights, [0, 3, 1, 2])

    outputs = dict(batch)
    # Image-sized mixes select unpaired rows themselves, so they take the drawn
    # partners: XLA would otherwise recompute the select above per pixel.
    outputs["images"] = mix(images, drawn_partners, weights, paired)
    sample_weights = label_weights(weights)
    if "labels" in batch:
        outputs["labels"] = mix_labels(
            batch["labels"],
            partners,
            sample_weights,
            paired,
            options.label_mode,
            options.num_classes,
            options.label_smoothing,
        )
    if "bounding_boxes" in batch:
        outputs["bounding_boxes"] = mix_boxes(
            batch["bounding_boxes"], partners, sample_weights, paired
        )
    if "segmentation_masks" in batch:
        # Masks take the pixels' weights, averaged over image channels.
        mask_weights = tf.reduce_mean(layout_weights, axis=-1, keepdims=True)
        if channels_first:
            mask_weights = tf.transpose(mask_weights, [0, 3, 1, 2])
        outputs["segmentation_masks"] = mix_masks(
            batch["segmentation_masks"],
            drawn_partners,
            mask_weights,
            paired,
            options.label_mode,
            options.num_classes,
            channels_first,
        )
    info = {
        "partners": partners,
        "paired": paired,
        "weights": tf.where(paired, sample_weights, 1.0),
    }
    return outputs, info
