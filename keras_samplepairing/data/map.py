"""SamplePairing as a ``tf.data`` map function over batches."""

from __future__ import annotations

from typing import Any

from keras_samplepairing.engine.clock import ScheduleClock
from keras_samplepairing.engine.engine import PairingEngine
from keras_samplepairing.engine.state import SeedStream, Switch
from keras_samplepairing.ops.options import PairingOptions


def _is_index(value: Any) -> bool:
    import tensorflow as tf

    return isinstance(value, tf.Tensor) and value.shape.rank == 0 and value.dtype.is_integer


class SamplePairingMap:
    """A ``Dataset.map`` function that applies SamplePairing to batches.

    Made by ``samplepairing_map``; see there. Attributes:

    - ``options``: the validated ``PairingOptions``.
    - ``enabled``: the switch; ``enabled.assign(False)`` passes batches
      through unpaired (read at run time, so no retracing).
    - ``seed``: the integer seed.
    - ``clock``: how ``SamplePairingSchedule`` drives it (see there).
    """

    def __init__(self, seed: int | None = None, jit_compile: bool = True, **options: Any) -> None:
        self.options = PairingOptions.from_kwargs("samplepairing_map", **options)
        self.stream = SeedStream(seed)
        self.seed = self.stream.seed
        self.enabled = Switch()
        self.clock = ScheduleClock()
        self.jit_compile = jit_compile
        self._engine = PairingEngine(
            self.options, self.stream, self.enabled, jit_compile, clock=self.clock
        )

    def __call__(self, *element: Any) -> Any:
        """Pairs one batch.

        Takes the dataset element as ``Dataset.map`` passes it: ``images``,
        ``images, labels``, ``images, labels, sample_weight``, or a dict. An
        element from ``Dataset.enumerate()`` (``index, batch``) seeds the
        batch from ``seed`` and its index, so the output does not depend on
        ``num_parallel_calls`` or timing; the index is dropped from the output.
        """
        index = None
        if len(element) == 2 and _is_index(element[0]):
            index, element = element
        else:
            element = element[0] if len(element) == 1 else element
        return self.pair(element, seed_index=index, schedule_index=index)

    def pair(self, element: Any, seed_index: Any = None, schedule_index: Any = None) -> Any:
        """Pairs one batch (images, a tuple or a dict).

        Args:
            element: the batch.
            seed_index: optional index that seeds the batch (see ``__call__``).
            schedule_index: optional index of the batch in its iterator, which
                the schedule's clock turns into the step it is trained at.
        """
        return self._engine.pair(element, index=seed_index, clock_index=schedule_index)


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
