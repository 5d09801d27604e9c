"""SamplePairing in ``tf.data`` pipelines."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from keras_samplepairing.ops.boxes import mix_boxes
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.pipeline import check_batch, sample_pairing
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
        if "lam_range" in options:
            options["lam_range"] = tuple(options["lam_range"])
        self.options = PairingOptions(**options)
        if seed is None:
            seed = int(tf.random.uniform([], 0, 2**31 - 1, dtype=tf.int64))
        self.seed = seed
        self._base_seed = tf.constant([seed, 0], tf.int64)
        self._generator = tf.random.Generator.from_seed(seed)
        self.enabled = tf.Variable(True, trainable=False, name="samplepairing_enabled")
        self.jit_compile = jit_compile
        self._pair = tf.function(self._pair_batch, jit_compile=jit_compile)

    def _pair_batch(self, batch: dict, seed: tf.Tensor, enabled: tf.Tensor) -> tuple[dict, dict]:
        return sample_pairing(batch, seed, self.options, enabled=enabled)

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
        batch = check_batch(batch, channels_first=self.options.data_format == "channels_first")
        # XLA has no ragged kernels: ragged boxes are mixed after the compiled
        # part, with the partners and λ it chose.
        boxes = batch.get("bounding_boxes")
        ragged = isinstance(boxes, dict) and isinstance(boxes.get("boxes"), tf.RaggedTensor)
        if ragged:
            batch = {k: v for k, v in batch.items() if k != "bounding_boxes"}
        outputs, info = self._pair(batch, seed, tf.convert_to_tensor(self.enabled))
        if ragged:
            outputs["bounding_boxes"] = mix_boxes(
                boxes, info["partners"], info["weights"], info["paired"]
            )
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
