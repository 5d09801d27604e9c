"""Where partners come from: the whole training set's tables, or a second
stream of it. (Partners within the batch are the compiled draw's own.)

A source chooses each anchor's partner by the options' rules (the pure
functions of ``ops.set_partners``) and says how alike the two are when λ
needs it; the engine then draws which rows pair and their λ, and applies it,
exactly as for partners within a batch. Sources run as TensorFlow ops inside
``tf.data``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras_samplepairing.ops.draw import PartnerChoice, batch_features
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.set_partners import class_partners, index_partners
from keras_samplepairing.ops.similarity import paired_similarity, unit_similarity

CLASS_TABLES = ("order", "start", "count", "rank")
# How many rows along a streamed batch a row looks for a partner that is not
# itself: a second coincidence in a row is ~1/N as likely as the first.
_STREAM_TRIES = 4
# How many values of each image the check for an image paired with itself
# compares before it compares them all.
_PROBE_VALUES = 64


class SetPartners:
    """Partners from the whole set held in memory.

    Args:
        options: the transform's options.
        storage: the set (``data.set_storage.SetStorage`` or alike:
            ``gather(ids)``, ``table(name)``, ``size``).
        index: a ``PartnerIndex`` for similarity pairing (its ``tables()``),
            or None.
    """

    def __init__(self, options: PairingOptions, storage: Any, index: Any = None) -> None:
        self.options = options
        self.storage = storage
        self.index = index

    def choose(self, anchors: Any, cycle_partners: Any, seed: Any) -> PartnerChoice:
        """Each anchor's partner, as set indices.

        Args:
            anchors: int32 ``(B,)`` set indices.
            cycle_partners: int32 ``(B,)``, the anchors' partners under the
                epoch's random cycle (used by random pairing).
            seed: stateless seed, shape ``[2]``.
        """
        import tensorflow as tf

        options = self.options
        if self.index is not None:
            tables = self.index.tables()
            partners, has_partner = index_partners(
                seed,
                anchors,
                tf.gather(tables["neighbours"], anchors),
                tf.gather(tables["counts"], anchors),
                tf.gather(tables["similarities"], anchors),
                options.pairing,
                options.temperature,
            )
        elif options.class_constraint != "any":
            tables = {name: self.storage.table(f"class/{name}") for name in CLASS_TABLES}
            partners, has_partner = class_partners(
                seed, anchors, tables, options.class_constraint, self.storage.size
            )
        else:
            partners, has_partner = cycle_partners, tf.ones_like(anchors, tf.bool)
        similarity = None
        if options.lam == "similarity":
            features, nonnegative = self._features()
            raw = paired_similarity(
                tf.gather(features, anchors),
                tf.gather(features, partners),
                options.similarity,
                nonnegative,
            )
            similarity = unit_similarity(raw, options.similarity)
        return PartnerChoice(partners, has_partner, similarity)

    def _features(self) -> tuple[Any, Any]:
        """The set's features and how KL reads them, read at run time (a
        refresh assigns both)."""
        if self.index is not None:
            tables = self.index.tables()
            return tables["features"], tables["nonnegative"]
        return self.storage.table("features"), self.storage.table("nonnegative")

    def gather(self, ids: Any) -> dict:
        """The set's rows ``ids`` (the partners' images and targets)."""
        return self.storage.gather(ids)


def partners_other_than_themselves(batch: dict, partner_batch: dict) -> tuple[dict, Any]:
    """A second, independently shuffled pass of a stream can hand an image
    itself (about once per N images): ``(partner_batch, has_partner)`` where
    a row whose partner is the same image (equal values: the image itself,
    or an exact copy, which mixes to nothing just the same) takes the partner
    of a following row of the batch that is not. A row with none within
    ``_STREAM_TRIES`` rows (a batch of one) stays unpaired. Run before the
    basic augmentation, which would hide the copy."""
    import tensorflow as tf

    images, partner_images = batch["images"], partner_batch["images"]
    size = tf.shape(images)[0]
    rows = tf.range(size)

    def other_rows() -> tuple:
        found = tf.zeros([size], tf.bool)
        take = rows
        for offset in range(_STREAM_TRIES):
            candidate = tf.math.floormod(rows + offset, size)
            same = identical_rows(images, tf.gather(partner_images, candidate))
            ok = tf.logical_and(tf.logical_not(found), tf.logical_not(same))
            take = tf.where(ok, candidate, take)
            found = tf.logical_or(found, ok)
        return tf.nest.map_structure(lambda value: tf.gather(value, take), partner_batch), found

    # Most batches hold no image paired with itself: those skip the search.
    return tf.cond(
        tf.reduce_any(identical_rows(images, partner_images)),
        other_rows,
        lambda: (partner_batch, tf.ones([size], tf.bool)),
    )


def stream_similarity(
    batch: dict, partner_batch: dict, options: PairingOptions, feature_fn: Callable | None = None
) -> Any:
    """How alike each row is to its partner from a second stream of the set,
    when λ needs it (else None): the two batches' own features compared row
    by row (see ``partners_other_than_themselves`` for the partners).
    ``feature_fn`` overrides ``options.features`` (see ``batch_features``)."""
    if options.lam != "similarity":
        return None
    raw = paired_similarity(
        batch_features(batch["images"], options, feature_fn),
        batch_features(partner_batch["images"], options, feature_fn),
        options.similarity,
    )
    return unit_similarity(raw, options.similarity)


def identical_rows(first: Any, second: Any) -> Any:
    """Which rows of two batches of images hold the same image (equal bits):
    ``(B,)`` bool. A probe of about ``_PROBE_VALUES`` evenly spaced values a
    row first; every value only where a probe matches, which most batches
    never do."""
    import tensorflow as tf

    if first.dtype.is_floating:  # bit for bit: an image with NaNs is its own copy too
        bits = {16: tf.int16, 32: tf.int32, 64: tf.int64}[first.dtype.size * 8]
        first, second = tf.bitcast(first, bits), tf.bitcast(second, bits)
    first = tf.reshape(first, [tf.shape(first)[0], -1])
    second = tf.reshape(second, [tf.shape(second)[0], -1])
    width = tf.shape(first)[1]
    probe = tf.range(0, width, tf.maximum(width // _PROBE_VALUES, 1))

    def equal(a: Any, b: Any) -> Any:
        return tf.reduce_all(tf.equal(a, b), axis=1)

    maybe = equal(tf.gather(first, probe, axis=1), tf.gather(second, probe, axis=1))
    return tf.cond(
        tf.reduce_any(maybe), lambda: tf.logical_and(maybe, equal(first, second)), lambda: maybe
    )
