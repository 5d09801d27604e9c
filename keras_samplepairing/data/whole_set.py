"""Partners from the whole training set, as the paper draws them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keras_samplepairing.data.map import SamplePairingMap, samplepairing_map

if TYPE_CHECKING:
    import tensorflow as tf


def _first_of_pair(*element: Any) -> Any:
    import tensorflow as tf

    element = element[0] if len(element) == 1 else element
    return tf.nest.map_structure(lambda t: t[0], element)


def pair_with_dataset(
    dataset: tf.data.Dataset,
    pairing: SamplePairingMap | None = None,
    augment: Any = None,
    partner_dataset: tf.data.Dataset | None = None,
    shuffle_buffer: int | None = None,
    seed: int | None = None,
    **options: Any,
) -> tf.data.Dataset:
    """Pairs each element with a partner drawn from the whole dataset (the paper).

    For an unbatched dataset of ``(image, label)`` tuples or dicts. Partners
    come from a second, independently shuffled pass over the same data (or
    from ``partner_dataset``), repeated as needed. ``augment``, if given, is
    applied to both streams separately, so the image and its partner are
    augmented independently. Each image is then mixed with its partner by
    ``pairing`` (a ``samplepairing_map``; made from ``seed`` and ``options``
    if not given): the λ strategy, ``rate``, label, box and mask rules are the
    layer's. Elements keep their structure and batch normally afterwards.

    Memory: the shuffle buffer holds ``shuffle_buffer`` decoded elements.
    By default it is the dataset's size when that is known and at most
    10,000, so small datasets draw partners uniformly from the whole set.
    For a dataset larger than memory, build ``partner_dataset`` by
    shuffling the file list and interleaving files
    (``Dataset.list_files(shuffle=True).interleave(...)``), then a moderate
    buffer (e.g. 10,000): partners then come from across the dataset, with
    memory for the buffer only.

    Determinism: with a ``seed`` the shuffle and each element's mixing
    (seeded by its position) are fixed from run to run. A random ``augment``
    needs its own seeding.

    Args:
        dataset: unbatched dataset; elements ``(image, label)``, ``image``
            or a dict with ``"images"`` (one image, ``(H, W, C)``).
        pairing: the map function to mix with; its ``enabled`` variable can
            be switched by ``SamplePairingSchedule``.
        augment: optional function on one element, applied to both streams.
        partner_dataset: where partners come from; default ``dataset``.
        shuffle_buffer: shuffle buffer for the partner stream.
        seed: integer seed (used for the shuffle, and for ``pairing`` when it
            is made here).
        **options: ``SamplePairing``'s options, when ``pairing`` is made here.

    Returns:
        A dataset of mixed elements with ``dataset``'s structure.

    Example:

    >>> sp = samplepairing_map(seed=0)
    >>> train = pair_with_dataset(train, sp, augment=flip_and_crop, seed=0).batch(128)
    >>> model.fit(train, callbacks=[SamplePairingSchedule(targets=[sp])])
    """
    import tensorflow as tf

    images_spec = dataset.element_spec
    if isinstance(images_spec, dict):
        images_spec = images_spec.get("images")
    elif isinstance(images_spec, tuple):
        images_spec = images_spec[0]
    if images_spec is None or images_spec.shape.rank != 3:
        shape = None if images_spec is None else images_spec.shape
        raise ValueError(
            "`dataset` must be unbatched, with one (H, W, C) image per element "
            f"(got images of shape {shape}); for batches use samplepairing_map instead."
        )
    if isinstance(pairing, str):  # the layer's option of that name
        options["pairing"], pairing = pairing, None
    if pairing is None:
        pairing = samplepairing_map(seed=seed, **options)
    elif options:
        raise ValueError(f"Pass options to `pairing` or here, not both: got {sorted(options)}.")
    unsupported = {
        "class_constraint": pairing.options.class_constraint != "any",
        "pairing": pairing.options.pairing != "random",
        "lam='similarity'": pairing.options.lam == "similarity",
    }
    for name, used in unsupported.items():
        if used:
            raise ValueError(
                f"pair_with_dataset cannot honour `{name}` yet: it pairs each element with "
                "one random partner, so similarity and class options have nothing to choose "
                "from. Use samplepairing_map (within each batch) for them."
            )
    partners = partner_dataset if partner_dataset is not None else dataset
    if shuffle_buffer is None:
        size = int(partners.cardinality())
        shuffle_buffer = size if 0 < size <= 10_000 else 10_000
    if shuffle_buffer < 1:
        raise ValueError(f"`shuffle_buffer` must be >= 1, got {shuffle_buffer}.")
    partners = partners.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    if augment is not None:
        dataset = dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
        partners = partners.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    # An element and its partner form a batch of two: random pairing of two is
    # always "each with the other", so row 0 is the element mixed by the
    # layer's rules with its partner.
    pairs = tf.data.Dataset.zip(dataset, partners).map(
        lambda first, second: tf.nest.map_structure(lambda a, b: tf.stack([a, b]), first, second)
    )
    # The index seeds each element's mix; it counts elements, not steps, so
    # the schedule reads the state current when the element is made.
    mixed = pairs.enumerate().map(
        lambda index, pair: pairing.pair(pair, seed_index=index),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return mixed.map(_first_of_pair)
