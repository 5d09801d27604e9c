"""One SamplePairing draw and its application to every target of a batch.

As Keras splits ``get_random_transformation`` from ``transform_images`` and
its siblings, SamplePairing is two steps:

1. **Draw** a ``Pairing``: a small value that says, for each row of the
   batch, which partner it is mixed with, whether it is mixed at all, and
   with what weights. ``choose_partners`` finds partners within the batch;
   a partner index over the whole training set is another way to choose
   them (``keras_samplepairing.data``), and ``draw_pairing`` turns either
   choice into the same ``Pairing``.
2. **Apply** it to images, labels, sample weights, boxes and masks. The
   partners' values come as a batch of their own: by default the batch
   gathered by the drawn indices, or any batch aligned row by row (partners
   drawn from the whole training set).

Nothing here holds Keras state; every function compiles with XLA.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from keras_samplepairing.ops.boxes import class_key, mix_boxes
from keras_samplepairing.ops.features import histogram_features, pooled_features
from keras_samplepairing.ops.masks import mix_masks
from keras_samplepairing.ops.mixing import label_weights, mix, mixing_weights, sample_lambda
from keras_samplepairing.ops.namespace import namespace
from keras_samplepairing.ops.pairing import class_candidates, select_partners
from keras_samplepairing.ops.similarity import pairwise_similarity, unit_similarity
from keras_samplepairing.ops.targets import class_ids, mix_labels, mix_sample_weights

if TYPE_CHECKING:
    from keras_samplepairing.frontend.options import PairingOptions


class PartnerChoice(NamedTuple):
    """Partners chosen for each row, before λ is drawn.

    Attributes:
        partners: int32 ``(B,)``, each row's partner: an index into the
            batch, or into the partner batch that is applied with it.
        has_partner: bool ``(B,)``, rows that have an allowed partner; the
            others stay unpaired.
        similarity: float32 ``(B,)`` similarity of each pair mapped to
            [0, 1], or None when λ does not need it.
    """

    partners: Any
    has_partner: Any
    similarity: Any = None


class Pairing(NamedTuple):
    """One draw of SamplePairing for a batch: what ``apply_pairing`` applies.

    Attributes:
        partners: int32 ``(B,)``, each row's partner (an index into the
            batch, or into the partner batch it is applied with). Rows that
            are not paired hold their own index.
        paired: bool ``(B,)``, rows that are mixed; the others pass through
            unchanged with their labels, boxes and masks.
        weights: float32 mixing weights ``w`` (the first image's share),
            broadcastable to the images in their own layout: ``(B, 1, 1, 1)``
            for one λ per sample, per channel, or a per-pixel field.
        label_weights: float32 ``(B,)``, each row's label weight λ (the mean
            of its ``w``).
    """

    partners: Any
    paired: Any
    weights: Any
    label_weights: Any


def _channels_last(images: Any, options: PairingOptions) -> Any:
    if options.data_format == "channels_first" and len(images.shape) == 4:
        return namespace(images).transpose(images, [0, 2, 3, 1])
    return images


def batch_features(images: Any, options: PairingOptions, feature_fn: Callable | None = None) -> Any:
    """The ``(B, D)`` features that similarity compares.

    A Keras model given as ``features`` (or ``feature_fn``, e.g. hidden
    features taken as they are) sees the images exactly as the caller gave
    them; ``"pooled"`` and ``"histogram"`` are computed on channels-last
    pixels.
    """
    xp = namespace(images)
    function = feature_fn or (options.features if callable(options.features) else None)
    if function is not None:
        features = xp.stop_gradient(xp.asarray(function(images)))
        shape = tuple(features.shape)
        if len(shape) < 2:
            raise ValueError(
                "`features` model must return a batch of feature vectors (B, D, ...), "
                f"got shape {shape}."
            )
        if None not in (shape[0], images.shape[0]) and shape[0] != images.shape[0]:
            raise ValueError(
                f"`features` model returned a batch of {shape[0]} for {images.shape[0]} "
                "images; its first axis must be the batch."
            )
        return features
    pixels = _channels_last(images, options)
    if len(pixels.shape) != 4:
        return pixels
    if options.features == "histogram":
        return histogram_features(pixels, value_range=options.value_range)
    return pooled_features(pixels)


def choose_partners(
    seed: Any,
    images: Any,
    options: PairingOptions,
    labels: Any = None,
    feature_fn: Callable | None = None,
) -> PartnerChoice:
    """Partners within the batch by ``options.pairing``, ``similarity`` and
    ``class_constraint``.

    Args:
        seed: stateless seed, shape ``[2]``.
        images: the batch (images or hidden features, batch first).
        options: the transform's options.
        labels: the batch's labels; needed by a class constraint.
        feature_fn: optional ``images -> features``, overriding
            ``options.features``.

    Returns:
        The ``PartnerChoice``.
    """
    xp = namespace(images)
    batch_size = xp.shape(images)[0]
    similarity = None
    if options.needs_similarity:
        similarity = pairwise_similarity(
            batch_features(images, options, feature_fn), options.similarity
        )
    candidates = None
    if options.class_constraint != "any":
        if labels is None:
            raise ValueError(
                f"`class_constraint={options.class_constraint!r}` needs labels: pass "
                "(images, labels) or a dict with 'labels'."
            )
        candidates = class_candidates(class_ids(labels), options.class_constraint)
    partners, has_partner = select_partners(
        options.pairing,
        xp.seed_tensor(seed),
        batch_size,
        similarity,
        candidates,
        options.temperature,
    )
    pair_similarity = None
    if options.lam == "similarity":
        pair_similarity = unit_similarity(
            xp.take_along_rows(similarity, partners), options.similarity
        )
    return PartnerChoice(partners, has_partner, pair_similarity)


def draw_pairing(
    seed: Any, images: Any, choice: PartnerChoice, options: PairingOptions, enabled: Any = True
) -> Pairing:
    """Which rows are paired and with what weights, for chosen partners.

    Args:
        seed: stateless seed, shape ``[2]``.
        images: the batch (its shape is read, not its values).
        choice: the partners (within the batch or from the whole set).
        options: the transform's options.
        enabled: scalar bool; False leaves every row unpaired.

    Returns:
        The ``Pairing``.
    """
    xp = namespace(images)
    # One seed dtype: TensorFlow's split draws in the seed's dtype, so int32
    # and int64 seeds of the same value would give different pairings.
    rate_seed, lam_seed = xp.split_seed(xp.seed_tensor(seed), 2)
    batch_size = xp.shape(images)[0]
    paired = xp.logical_and(choice.has_partner, xp.asarray(enabled, "bool"))
    if options.rate < 1.0:
        drawn = xp.uniform(rate_seed, [batch_size]) < options.rate
        paired = xp.logical_and(paired, drawn)

    def draw(draw_seed: Any, shape: list) -> Any:
        return sample_lambda(
            options.lam, draw_seed, shape, options.alpha, choice.similarity, options.lam_range
        )

    layout = _channels_last(images, options)
    weights = mixing_weights(options.mixing, lam_seed, layout, draw, options.grid_size)
    if layout is not images:
        weights = xp.transpose(weights, [0, 3, 1, 2])
    partners = xp.where(paired, choice.partners, xp.arange(batch_size))
    return Pairing(partners, paired, weights, label_weights(weights))


def draw_batch_pairing(
    seed: Any,
    images: Any,
    options: PairingOptions,
    labels: Any = None,
    enabled: Any = True,
    feature_fn: Callable | None = None,
) -> Pairing:
    """``choose_partners`` within the batch, then ``draw_pairing``."""
    xp = namespace(images)
    partner_seed, draw_seed = xp.split_seed(xp.seed_tensor(seed), 2)  # one seed dtype
    choice = choose_partners(partner_seed, images, options, labels, feature_fn)
    return draw_pairing(draw_seed, images, choice, options, enabled)


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
        batch: dict with ``"images"`` and optionally ``"labels"``,
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
