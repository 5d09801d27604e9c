"""One SamplePairing draw: partners, which rows are paired, and the weights.

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
from typing import Any, NamedTuple

from keras_samplepairing.ops.features import histogram_features, pooled_features
from keras_samplepairing.ops.mixing import label_weights, mixing_weights, sample_lambda
from keras_samplepairing.ops.namespace import namespace
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.partners import class_candidates, select_partners
from keras_samplepairing.ops.similarity import pairwise_similarity, unit_similarity
from keras_samplepairing.ops.targets import class_ids


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


def _channels_first(images: Any, options: PairingOptions) -> bool:
    return options.data_format == "channels_first" and len(images.shape) == 4


def _channels_last(images: Any, options: PairingOptions) -> Any:
    if _channels_first(images, options):
        return namespace(images).transpose(images, [0, 2, 3, 1])
    return images


def draw_input(images: Any, options: PairingOptions) -> Any:
    """What a draw reads of ``images``: all of them where similarity compares
    their features; else a zero-size float32 view that keeps the dimensions
    ``mixing_weights`` reads (the batch size and rank; the channels for
    ``mixing="channel"``, height and width for ``"spatial"``). Batches that
    differ in nothing else, dtype included, give one input signature: one
    compiled draw serves them all."""
    if options.needs_similarity:
        return images
    rank = len(images.shape)
    channels = 1 if _channels_first(images, options) else rank - 1
    kept = {0}
    if options.mixing == "channel":
        kept.add(channels)
    elif options.mixing == "spatial":
        kept |= {1, 2, 3} - {channels}
    view = images[tuple(slice(None) if axis in kept else slice(0, 0) for axis in range(rank))]
    return namespace(images).cast(view, "float32")


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
