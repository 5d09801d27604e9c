"""Applying one SamplePairing draw to every target of a batch: images, labels,
sample weights, boxes and masks.

The partners' values come as a batch of their own: by default the batch
gathered by the drawn indices, or any batch aligned row by row (partners
drawn from the whole training set). Nothing here holds Keras state; every
function compiles with XLA.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras_samplepairing.ops.boxes import class_key, mix_boxes
from keras_samplepairing.ops.draw import Pairing, draw_batch_pairing
from keras_samplepairing.ops.masks import mix_masks
from keras_samplepairing.ops.mixing import mix
from keras_samplepairing.ops.namespace import namespace
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.targets import mix_labels, mix_sample_weights


def _partner_values(value: Any, pairing: Pairing, partner_value: Any) -> Any:
    if partner_value is not None:
        return partner_value
    return namespace(pairing.partners).take(value, pairing.partners, axis=0)


def apply_to_images(images: Any, pairing: Pairing, partner_images: Any = None) -> Any:
    """The mixed images (see ``mix``)."""
    partner = _partner_values(images, pairing, partner_images)
    return mix(images, partner, pairing.weights, pairing.paired)


def apply_to_labels(
    labels: Any, pairing: Pairing, options: PairingOptions, partner_labels: Any = None
) -> Any:
    """The labels for the mix (see ``mix_labels``)."""
    if options.label_mode == "first" and not options.label_smoothing:
        return labels
    partner = _partner_values(labels, pairing, partner_labels)
    return mix_labels(
        labels,
        partner,
        pairing.label_weights,
        pairing.paired,
        options.label_mode,
        options.num_classes,
        options.label_smoothing,
    )


def apply_to_sample_weights(
    sample_weight: Any, pairing: Pairing, options: PairingOptions, partner_weight: Any = None
) -> Any:
    """Sample weights for the mix (see ``mix_sample_weights``)."""
    if options.label_mode == "first":
        return sample_weight
    partner = _partner_values(sample_weight, pairing, partner_weight)
    return mix_sample_weights(
        sample_weight, partner, pairing.label_weights, pairing.paired, options.label_mode
    )


def apply_to_bounding_boxes(
    bounding_boxes: dict, pairing: Pairing, partner_boxes: dict | None = None
) -> dict:
    """Both images' boxes with per-box weights (see ``mix_boxes``)."""
    if partner_boxes is None:
        xp = namespace(pairing.partners)
        keys = ("boxes", class_key(bounding_boxes))
        partner_boxes = {k: xp.take(bounding_boxes[k], pairing.partners, axis=0) for k in keys}
    return mix_boxes(bounding_boxes, partner_boxes, pairing.label_weights, pairing.paired)


def apply_to_segmentation_masks(
    masks: Any, pairing: Pairing, options: PairingOptions, partner_masks: Any = None
) -> Any:
    """The masks for the mix (see ``mix_masks``)."""
    if options.label_mode == "first":
        return masks
    xp = namespace(pairing.weights)
    channels_first = options.data_format == "channels_first"
    # Masks take the pixels' weights, averaged over image channels.
    weights = xp.mean(pairing.weights, axis=1 if channels_first else -1, keepdims=True)
    partner = _partner_values(masks, pairing, partner_masks)
    return mix_masks(
        masks,
        partner,
        weights,
        pairing.paired,
        options.label_mode,
        options.num_classes,
        channels_first,
    )


def apply_pairing(
    batch: dict, pairing: Pairing, options: PairingOptions, partner_batch: dict | None = None
) -> dict:
    """Applies one ``Pairing`` to every target of ``batch``.

    Args:
        batch: dict with any of ``"images"``, ``"labels"``,
            ``"sample_weight"``, ``"bounding_boxes"`` and
            ``"segmentation_masks"``.
        pairing: the draw.
        options: the transform's options.
        partner_batch: the partners' values with the same keys, row ``i``
            for row ``i``; by default ``batch`` gathered by
            ``pairing.partners``.

    Returns:
        The mixed batch, with ``batch``'s keys.
    """
    partner_batch = partner_batch or {}
    outputs = dict(batch)
    if "images" in batch:
        outputs["images"] = apply_to_images(batch["images"], pairing, partner_batch.get("images"))
    if "labels" in batch:
        outputs["labels"] = apply_to_labels(
            batch["labels"], pairing, options, partner_batch.get("labels")
        )
    if "sample_weight" in batch:
        outputs["sample_weight"] = apply_to_sample_weights(
            batch["sample_weight"], pairing, options, partner_batch.get("sample_weight")
        )
    if "bounding_boxes" in batch:
        outputs["bounding_boxes"] = apply_to_bounding_boxes(
            batch["bounding_boxes"], pairing, partner_batch.get("bounding_boxes")
        )
    if "segmentation_masks" in batch:
        outputs["segmentation_masks"] = apply_to_segmentation_masks(
            batch["segmentation_masks"], pairing, options, partner_batch.get("segmentation_masks")
        )
    return outputs


def pairing_info(pairing: Pairing) -> dict:
    """What a pairing did, per row: ``"partners"``, ``"paired"`` and ``"weights"``
    (the label weight λ, 1 for unpaired rows)."""
    xp = namespace(pairing.label_weights)
    return {
        "partners": pairing.partners,
        "paired": pairing.paired,
        "weights": xp.where(pairing.paired, pairing.label_weights, 1.0),
    }


def sample_pairing(
    batch: dict,
    seed: Any,
    options: PairingOptions,
    enabled: Any = True,
    feature_fn: Callable | None = None,
) -> tuple[dict, dict]:
    """Pairs a batch within itself: ``draw_batch_pairing`` then ``apply_pairing``.

    Args:
        batch: dict of tensors with ``"images"`` (a batch of images or of
            hidden features, batch first) and optionally ``"labels"``,
            ``"sample_weight"``, ``"bounding_boxes"``, ``"segmentation_masks"``.
        seed: stateless seed, int ``[2]``.
        options: the transform's options.
        enabled: scalar bool; False returns every sample unpaired.
        feature_fn: optional ``images -> (B, D)`` features, overriding
            ``options.features``.

    Returns:
        ``(outputs, info)``: ``outputs`` has ``batch``'s keys; ``info`` is
        ``pairing_info`` of the draw.
    """
    xp = namespace(batch["images"])
    batch = {k: (v if isinstance(v, dict) else xp.asarray(v)) for k, v in batch.items()}
    seed = xp.seed_tensor(xp.asarray(seed))
    pairing = draw_batch_pairing(
        seed, batch["images"], options, batch.get("labels"), enabled, feature_fn
    )
    return apply_pairing(batch, pairing, options), pairing_info(pairing)
