"""The ``tf.data`` pipeline of a ``WholeSetPairing``: batches of anchors and
their partners from the whole set, augmented, stamped with the step they are
trained at, and mixed by the engine.

Stages, in order: an epoch's order and random cycle, then the partners'
choice and the rows' gather (parallel); or a second, shuffled pass of a
stream, then a new partner for an image handed itself (parallel); the basic
augmentation (in order, so a seeded layer repeats itself); the schedule's
stamp (the clock's state read once a pass where the length is known, as in
memory or repeated; once a batch where not); the mix (parallel).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_samplepairing.data.augment import batch_augmenter
from keras_samplepairing.engine.autograph import graph_features, without_autograph
from keras_samplepairing.engine.sources import partners_other_than_themselves, stream_similarity
from keras_samplepairing.engine.structure import as_dict, from_dict
from keras_samplepairing.ops.draw import PartnerChoice, draw_pairing
from keras_samplepairing.ops.options import positive_int
from keras_samplepairing.ops.set_partners import epoch_order
from keras_samplepairing.ops.similarity import paired_similarity

if TYPE_CHECKING:
    import tensorflow as tf

# The functions here take a WholeSetPairing (typed loosely: it imports them).
WholeSetPairing = Any


def whole_set_dataset(
    pairing: WholeSetPairing,
    batch_size: int,
    augment: Any = None,
    repeat: bool = False,
    drop_remainder: bool = False,
    partner_dataset: Any = None,
    shuffle_buffer: int | None = None,
) -> tf.data.Dataset:
    """The batched, paired training dataset (see ``WholeSetPairing.dataset``)."""
    import tensorflow as tf

    batch_size = positive_int("batch_size", batch_size)
    if pairing.in_memory:
        if partner_dataset is not None or shuffle_buffer is not None:
            raise ValueError(
                "`partner_dataset` and `shuffle_buffer` are for streaming; in memory, "
                "partners come from the whole set."
            )
        pairs = _indexed_pairs(pairing, batch_size, repeat, drop_remainder)
    else:
        pairs = _streamed_pairs(
            pairing, batch_size, repeat, drop_remainder, partner_dataset, shuffle_buffer
        )
    if augment is not None:
        call = batch_augmenter(augment, pairing.structure)

        def augmented(anchors: dict, partners: dict, meta: dict) -> tuple:
            return call(anchors), call(partners), meta

        pairs = pairs.map(augmented)  # in order: a seeded layer repeats itself
    if pairing.in_memory:
        # Keras reads an epoch's length from the cardinality, and the stamp
        # works out a pass of known length from its start.
        batches = pairing.size // batch_size if drop_remainder else -(-pairing.size // batch_size)
        known = tf.data.INFINITE_CARDINALITY if repeat else batches
        pairs = pairs.apply(tf.data.experimental.assert_cardinality(known))
    # Streaming λ calls the features here: one of the user's, rewritten alone.
    mix = functools.partial(_mix, pairing, graph_features(pairing.options.features))
    return pairing.clock.stamp(pairs).map(
        without_autograph(mix), num_parallel_calls=tf.data.AUTOTUNE
    )


def _epoch_seeds(pairing: WholeSetPairing, repeat: bool) -> tf.data.Dataset:
    import tensorflow as tf

    seeds = tf.data.Dataset.random(seed=pairing.seed, rerandomize_each_iteration=True).batch(2)
    return seeds if repeat else seeds.take(1)


def _indexed_pairs(
    pairing: WholeSetPairing, batch_size: int, repeat: bool, drop_remainder: bool
) -> tf.data.Dataset:
    """``(anchors, partners, meta)`` batches: the set's rows by index."""
    import tensorflow as tf

    size, options = pairing.size, pairing.options
    chosen_per_batch = options.pairing != "random" or options.class_constraint != "any"

    def epoch(seed: Any) -> tf.data.Dataset:
        order, cycle = epoch_order(seed, size)
        return (
            tf.data.Dataset.from_tensor_slices((order, cycle))
            .batch(batch_size, drop_remainder)
            .map(lambda a, p: (a, p, seed))
        )

    def gather(anchors: Any, cycle: Any, seed: Any) -> tuple:
        meta = {"has": tf.ones_like(anchors, tf.bool), "seed": seed}
        partners = cycle
        if chosen_per_batch or options.lam == "similarity":
            choice_seed = tf.random.experimental.stateless_fold_in(
                seed, tf.cast(anchors[0], tf.int64), alg="philox"
            )
            choice = pairing._source.choose(anchors, cycle, choice_seed)
            partners, meta["has"] = choice.partners, choice.has_partner
            if choice.similarity is not None:
                meta["similarity"] = choice.similarity
        return pairing.storage.gather(anchors), pairing.storage.gather(partners), meta

    return (
        _epoch_seeds(pairing, repeat)
        .flat_map(without_autograph(epoch))
        .map(without_autograph(gather), num_parallel_calls=tf.data.AUTOTUNE)
    )


def _streamed_pairs(
    pairing: WholeSetPairing,
    batch_size: int,
    repeat: bool,
    drop_remainder: bool,
    partner_dataset: Any,
    shuffle_buffer: int | None,
) -> tf.data.Dataset:
    """``(anchors, partners, meta)`` batches: a second shuffled pass."""
    import tensorflow as tf

    data = pairing._stream_data
    own = partner_dataset is None
    partners = data if own else partner_dataset
    if shuffle_buffer is None:
        size = int(partners.cardinality())
        shuffle_buffer = size if 0 < size <= 10_000 else 10_000
    shuffle_buffer = positive_int("shuffle_buffer", shuffle_buffer)
    partners = partners.shuffle(shuffle_buffer, seed=pairing.seed, reshuffle_each_iteration=True)
    anchors = data.repeat() if repeat else data
    pairs = tf.data.Dataset.zip(anchors, partners.repeat()).batch(batch_size, drop_remainder)
    structure = pairing.structure

    def triple(pair: tuple, seed: Any) -> tuple:
        anchors, partners = as_dict(pair[0], structure), as_dict(pair[1], structure)
        if own:
            partners, has = partners_other_than_themselves(anchors, partners)
        else:
            has = tf.ones([tf.shape(anchors["images"])[0]], tf.bool)
        return anchors, partners, {"has": has, "seed": seed}

    # A seed per batch, drawn anew on each pass over a finite stream.
    return tf.data.Dataset.zip(pairs, _epoch_seeds(pairing, repeat=True)).map(
        without_autograph(triple), num_parallel_calls=tf.data.AUTOTUNE
    )


def _mix(
    pairing: WholeSetPairing, feature_fn: Callable | None, position: Any, element: tuple
) -> Any:
    """Mixes one batch with its partners, by the schedule's state at its step
    (``feature_fn``: a features function of the user's, see ``graph_features``)."""
    import tensorflow as tf

    anchors, partners, meta = element
    if pairing.in_memory:
        similarity = meta.get("similarity")  # the set's source said, when λ needs it
    else:
        similarity = stream_similarity(anchors, partners, pairing.options, feature_fn)
    rows = tf.range(tf.shape(anchors["images"])[0])
    choice = PartnerChoice(rows, meta["has"], similarity)
    seed = tf.random.experimental.stateless_fold_in(meta["seed"], position[2], alg="philox")
    return pairing._engine.pair(
        from_dict(anchors, pairing.structure),
        seed=seed,
        position=position,
        partners=(choice, partners),
    )


def preview_draw(
    pairing: WholeSetPairing, anchors: Any = None, count: int = 8, seed: int | None = None
) -> dict:
    """What ``pairing`` draws for some anchors (see ``WholeSetPairing.preview``)."""
    import tensorflow as tf

    if not pairing.in_memory:
        raise ValueError("preview needs the set in memory; a stream has no fixed anchors.")
    if anchors is None:
        count = positive_int("count", count)
        anchors = np.linspace(0, pairing.size - 1, min(count, pairing.size)).round()
    anchors = np.asarray(anchors)
    if anchors.ndim != 1 or not np.issubdtype(anchors.dtype, np.number) or not len(anchors):
        raise ValueError(f"`anchors` must be a non-empty list of indices, got {anchors!r}.")
    if np.any(anchors < 0) or np.any(anchors >= pairing.size) or np.any(anchors % 1):
        raise ValueError(f"`anchors` must be indices in [0, {pairing.size}), got {anchors!r}.")
    anchors = anchors.astype(np.int32)
    seed = pairing.seed if seed is None else int(seed)
    epoch_seed, choice_seed, draw_seed = tf.unstack(
        tf.random.experimental.stateless_split(tf.constant([seed, 0], tf.int64), 3)
    )
    order, cycle = epoch_order(epoch_seed, pairing.size)
    partner_of = np.empty(pairing.size, np.int32)
    partner_of[order.numpy()] = cycle.numpy()
    ids = tf.constant(anchors)
    choice = pairing._source.choose(ids, tf.constant(partner_of[anchors]), choice_seed)
    images = pairing.storage.gather(ids)["images"]
    rows = PartnerChoice(tf.range(len(anchors)), choice.has_partner, choice.similarity)
    drawn = draw_pairing(draw_seed, images, rows, pairing.options, True)
    partners = tf.where(drawn.paired, choice.partners, ids).numpy().astype(np.int64)
    similarity = np.full(len(anchors), np.nan, np.float32)
    features = pairing.index.features if pairing.index is not None else pairing.features
    if features is not None:
        nonnegative = bool(np.min(features) >= 0.0)
        similarity = paired_similarity(
            tf.constant(features[anchors]),
            tf.constant(features[partners]),
            pairing.options.similarity,
            nonnegative,
        ).numpy()
    paired = drawn.paired.numpy()
    return {
        "anchors": anchors.astype(np.int64),
        "partners": partners,
        "paired": paired,
        "lam": np.where(paired, drawn.label_weights.numpy(), 1.0).astype(np.float32),
        "similarity": np.where(paired, similarity, np.nan).astype(np.float32),
    }
