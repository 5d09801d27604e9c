"""SamplePairing as a ``tf.data`` map function over batches."""

from __future__ import annotations

from typing import Any

from keras_samplepairing.engine.autograph import without_autograph
from keras_samplepairing.engine.owner import owner_state
from keras_samplepairing.ops.options import PairingOptions


def _is_index(value: Any) -> bool:
    import tensorflow as tf

    return isinstance(value, tf.Tensor) and value.shape.rank == 0 and value.dtype.is_integer


class SamplePairingMap:
    """Applies SamplePairing to the batches of a ``tf.data`` pipeline.

    Made by ``samplepairing_map``; see there. Use it as ``ds.apply(pair)``
    (pairs every batch, reproducibly, each by the schedule's state at the step
    it is trained at), or as a map function, ``ds.map(pair)`` or
    ``ds.enumerate().map(pair)``. Attributes:

    - ``options``: the validated ``PairingOptions``.
    - ``enabled``: the switch; ``enabled.assign(False)`` passes batches
      through unpaired (read at run time, so no retracing).
    - ``seed``: the integer seed.
    - ``clock``: how ``SamplePairingSchedule`` drives it (see there).
    """

    def __init__(self, seed: int | None = None, jit_compile: bool = True, **options: Any) -> None:
        self.options = PairingOptions.from_kwargs("samplepairing_map", **options)
        state = owner_state(self.options, seed, in_model=False, jit_compile=jit_compile)
        self.stream = state.stream
        self.seed = self.stream.seed
        self.enabled = state.switch
        self.clock = state.clock
        self.jit_compile = jit_compile
        self._engine = state.engine

    def __call__(self, *element: Any) -> Any:
        """Pairs one batch, or every batch of a dataset.

        Takes the dataset element as ``Dataset.map`` passes it: ``images``,
        ``images, labels``, ``images, labels, sample_weight``, or a dict. An
        element from ``Dataset.enumerate()`` (``index, batch``) seeds the
        batch from ``seed`` and its index, so the output does not depend on
        ``num_parallel_calls`` or timing; the index is dropped from the output.

        Given a ``tf.data.Dataset`` of batches (``ds.apply(pair)``), returns
        the paired dataset: each batch is stamped, in order, with the step and
        epoch of ``fit`` at which it is trained (``ScheduleClock.stamp``) and
        paired in parallel, seeded by its place in the stream and switched by
        the schedule's state at that step, however ``fit`` feeds the data.
        """
        if len(element) == 1 and _is_dataset(element[0]):
            return self._paired_dataset(element[0])
        index = None
        if len(element) == 2 and _is_index(element[0]):
            index, element = element
        else:
            element = element[0] if len(element) == 1 else element
        # The engine calls a features function of the user's inside its own
        # tf.function, which converts it.
        pair = without_autograph(self.pair)
        return pair(element, seed_index=index, clock_index=index)

    def _paired_dataset(self, dataset: Any) -> Any:
        import tensorflow as tf

        def pair(position: Any, element: Any) -> Any:
            return self._engine.pair(element, seed_index=position[2], position=position)

        stamped = self.clock.stamp(dataset)
        return stamped.map(
            without_autograph(pair), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )

    def pair(self, element: Any, seed_index: Any = None, clock_index: Any = None) -> Any:
        """Pairs one batch (images, a tuple or a dict).

        Args:
            element: the batch.
            seed_index: optional index that seeds the batch (see ``__call__``).
            clock_index: optional index of the batch in its iterator, which
                the schedule's clock turns into the step it is trained at.
        """
        return self._engine.pair(element, seed_index=seed_index, clock_index=clock_index)


def _is_dataset(value: Any) -> bool:
    import sys

    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(value, tf.data.Dataset)


def samplepairing_map(
    seed: int | None = None, jit_compile: bool = True, **options: Any
) -> SamplePairingMap:
    """Returns a function for ``batched_ds.map(fn, num_parallel_calls=AUTOTUNE)``.

    It takes the same options as ``keras_samplepairing.SamplePairing`` and
    pairs within each batch. It runs as TensorFlow under every Keras backend.
    The per-pixel mix is one XLA-compiled function (``jit_compile=True``) per
    input signature.

    Randomness: each batch gets its own stateless seed. For output that is
    identical from run to run and whatever ``num_parallel_calls`` is, map
    over ``ds.enumerate()``: the seed is then derived from ``seed`` and the
    batch's index. Without ``enumerate`` the seeds come from a generator
    seeded by ``seed`` in the order tf.data asks, which parallel calls may
    shuffle.

    Args:
        seed: integer seed.
        jit_compile: compile the per-pixel mix with XLA.
        **options: ``SamplePairing``'s options (``lam``, ``rate``,
            ``label_mode``, ``num_classes``, ``pairing``, ...).

    Returns:
        A ``SamplePairingMap``, callable on dataset elements.

    Example:

    >>> ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32)
    >>> ds = ds.enumerate().map(samplepairing_map(seed=0), num_parallel_calls=tf.data.AUTOTUNE)
    """
    return SamplePairingMap(seed=seed, jit_compile=jit_compile, **options)
