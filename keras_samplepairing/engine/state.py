"""The run-time state of one pairing front end: its seed stream and its switch.

A layer or model keeps them as Keras objects it tracks (a ``SeedGenerator``
and a boolean ``keras.Variable``), so they live in the compiled train step of
every backend, are saved with the model, and advance inside ``jax.jit``. A
``tf.data`` pipeline always runs TensorFlow: there the state is a
``tf.random.Generator`` and a ``tf.Variable``, read when each batch is made
(under the TensorFlow backend the Keras objects already are TensorFlow
variables; under JAX or PyTorch a TensorFlow mirror is made on first use).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import numpy as np


def _tensorflow_backend() -> bool:
    import keras

    return keras.config.backend() == "tensorflow"


class Switch:
    """Turns pairing on and off at run time, without retracing.

    ``assign`` sets every copy the front end reads: the Keras variable in the
    model and the TensorFlow variable in ``tf.data``.
    """

    def __init__(self, variable: Any = None) -> None:
        self.variable = variable  # a keras.Variable, or None (tf.data only)
        self._mirror = None
        self._value = True

    def assign(self, value: bool) -> None:
        """Switches pairing on (True) or off (False)."""
        self._value = bool(value)
        if self.variable is not None:
            self.variable.assign(self._value)
        if self._mirror is not None:
            self._mirror.assign(self._value)

    def numpy(self) -> np.bool_:
        """The current state."""
        if self.variable is not None:
            # A JAX fit holds the value elsewhere; the last one assigned stands.
            with contextlib.suppress(Exception):
                self._value = bool(np.asarray(self.variable.numpy()))
        return np.bool_(self._value)

    def __bool__(self) -> bool:
        return bool(self.numpy())

    def __repr__(self) -> str:
        return f"<Switch {'on' if self._value else 'off'}>"

    def tensorflow_variable(self) -> Any:
        """The ``tf.Variable`` that a TensorFlow graph reads at run time."""
        if self.variable is not None and _tensorflow_backend():
            return self.variable.value
        if self._mirror is None:
            import tensorflow as tf

            with tf.init_scope():  # a variable made while tracing lives outside it
                self._mirror = tf.Variable(
                    bool(self.numpy()), trainable=False, name="pairing_enabled"
                )
        return self._mirror


class SeedStream:
    """A seed per call, from a Keras ``SeedGenerator`` or a TensorFlow generator.

    Args:
        seed: integer seed, or None for a random one.
        generator: the owner's ``keras.random.SeedGenerator``, or None for a
            stream that only runs in ``tf.data``.
    """

    def __init__(self, seed: int | None, generator: Any = None) -> None:
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
        self.seed = int(seed)
        self.generator = generator
        self._tensorflow = None

    def next_keras(self) -> Any:
        """The next seed from the Keras generator (in a model, any backend)."""
        return self.generator.next()

    def tensorflow_generator(self) -> Any:
        """The ``tf.random.Generator`` a TensorFlow graph draws from at run time."""
        if self._tensorflow is None:
            import tensorflow as tf

            with tf.init_scope():
                self._tensorflow = tf.random.Generator.from_seed(self.seed)
        return self._tensorflow

    def next_tensorflow(self) -> Any:
        """The next seed, as an op of the TensorFlow graph being built."""
        import tensorflow as tf

        if self.generator is not None and _tensorflow_backend():
            return tf.cast(self.generator.next(), tf.int64)
        return self.tensorflow_generator().make_seeds(1)[:, 0]

    def for_index(self, index: Any) -> Any:
        """A seed from ``seed`` and an element's index (deterministic in ``tf.data``)."""
        import tensorflow as tf

        base = tf.constant([self.seed, 0], tf.int64)
        return tf.random.experimental.stateless_fold_in(
            base, tf.cast(index, tf.int64), alg="philox"
        )


def tensorflow_loaded() -> bool:
    """Whether TensorFlow is imported (so a TensorFlow tensor can exist)."""
    return sys.modules.get("tensorflow") is not None
