"""SamplePairing in ``tf.data`` pipelines."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from keras_samplepairing.ops.compiled import shared_compiled_pairing
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.pipeline import check_batch
from keras_samplepairing.structure import unpack


def _is_index(value: Any) -> bool:
    return isinstance(value, tf.Tensor) and value.shape.rank == 0 and value.dtype.is_integer


class SamplePairingMap:
    """A ``Dataset.map`` function that applies SamplePairing to batches.

    Made by ``samplepairing_map``; see there. Attributes:

    - ``options``: the validated ``PairingOptions``.
    - ``enabled``: a boolean ``tf.Variable``; set it False to pass batches
      through unpaired (read at run time, so no retracing).
    """

    def __init__(self, seed: int | None = None, jit_compile: bool = True, **options: Any) -> None:
        options.setdefault("data_format", keras.config.image_data_format())
        self.options = PairingOptions(**options)
        if seed is None:
            seed = int(tf.random.uniform([], 0, 2**31 - 1, dtype=tf.int64))
        self.seed = seed
        self._base_seed = tf.constant([seed, 0], tf.int64)
        self._generator = tf.random.Generator.from_seed(seed)
        self.enabled = tf.Variable(True, trainable=False, name="samplepairing_enabled")
        self.jit_compile = jit_compile
        self._pair = shared_compiled_pairing(self.options, jit_compile)

    def __call__(self, *element: Any) -> Any:
        """Pairs one batch.

        Takes the dataset element as ``Dataset.map`` passes it: ``images``,
        ``images, labels``, or a dict. An element from ``Dataset.enumerate()``
        (``index, batch``) seeds the batch from ``seed`` and its index, so the
        output does not depend on ``num_parallel_calls`` or timing; the index
        is dropped from the output.
        """
        if len(element) == 2 and _is_index(element[0]):
            index, element = element
            seed = tf.random.experimental.stateless_fold_in(self._base_seed, index)
        else:
            element = element[0] if len(element) == 1 else element
            seed = self._generator.make_seeds(1)[:, 0]
        batch, repack = unpack(element)
        batch = check_batch(batch, self.options)
        outputs, _ = self._pair(batch, seed, tf.convert_to_tensor(self.enabled))
        return repack(outputs)


def samplepairing_map(
    seed: int | None = None, jit_compile: bool = True, **options: Any
) -> SamplePairingMap:
    """Returns a function for ``batched_ds.map(fn, num_parallel_calls=AUTOTUNE)``.

    It takes the same options as ``keras_samplepairing.SamplePairing`` and
    pairs within each batch. The math is one XLA-compiled function
    (``jit_compile=True``) per input signature.

    Randomness: each batch gets its own stateless seed. For output that is
    identical from run to run and whatever ``num_parallel_calls`` is, map
    over ``ds.enumerate()``: the seed is then derived from ``seed`` and the
    batch's index. Without ``enumerate`` the seeds come from a generator
    seeded by ``seed`` in the order tf.data asks, which parallel calls may
    shuffle.

    Args:
        seed: integer seed.
        jit_compile: compile the math with XLA.
        **options: ``SamplePairing``'s options (``lam``, ``rate``,
            ``label_mode``, ``num_classes``, ``pairing``, ...).

    Returns:
        A ``SamplePairingMap``, callable on dataset elements.

    Example:

    >>> ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32)
    >>> ds = ds.map(samplepairing_map(seed=0), num_parallel_calls=tf.data.AUTOTUNE)
    """
    return SamplePairingMap(seed=seed, jit_compile=jit_compile, **options)


def _first_of_pair(*element: Any) -> Any:
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
    if pairing is None:
        pairing = samplepairing_map(seed=seed, **options)
    elif options:
        raise ValueError(f"Pass options to `pairing` or here, not both: got {sorted(options)}.")
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
    mixed = pairs.enumerate().map(pairing, num_parallel_calls=tf.data.AUTOTUNE)
    return mixed.map(_first_of_pair)
