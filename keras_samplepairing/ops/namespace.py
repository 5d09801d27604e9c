"""Which array library a batch lives in, and the operations the math takes from it.

The math in this package is written once against a small namespace ``xp``
(in the style of the array API's ``array_namespace``): TensorFlow for
``tf.Tensor`` batches (a ``tf.data`` pipeline under any Keras backend, or a
model under the TensorFlow backend), and ``keras.ops`` for the arrays of the
other backends (JAX, PyTorch), where Keras dispatches to native ops. The
TensorFlow namespace is imported only when a TensorFlow tensor shows up, so
JAX and PyTorch users need no TensorFlow.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


def _is_tensorflow(value: Any) -> bool:
    module = type(value).__module__
    if module.startswith("tensorflow"):
        return True
    # A Keras variable under the TensorFlow backend wraps a tf.Variable.
    return module.startswith("keras") and "tensorflow" in module


def tensorflow_namespace() -> ModuleType:
    """The namespace for TensorFlow tensors."""
    from keras_samplepairing.ops import tf_namespace

    return tf_namespace


def keras_namespace() -> ModuleType:
    """The namespace for the active Keras backend's own arrays."""
    from keras_samplepairing.ops import keras_namespace as namespace

    return namespace


def default_namespace() -> ModuleType:
    """TensorFlow under the TensorFlow backend, else ``keras.ops``."""
    import keras

    if keras.config.backend() == "tensorflow":
        return tensorflow_namespace()
    return keras_namespace()


def namespace(*arrays: Any) -> ModuleType:
    """The namespace of ``arrays``: the first TensorFlow or backend array decides.

    NumPy arrays and Python values take the default namespace, so the ops
    can be called on them directly (as the tests do).
    """
    tensorflow_loaded = sys.modules.get("tensorflow") is not None
    for value in arrays:
        if value is None or isinstance(value, (int, float, bool, list, tuple)):
            continue
        if tensorflow_loaded and _is_tensorflow(value):
            return tensorflow_namespace()
        if type(value).__module__.split(".")[0] in ("jax", "jaxlib", "torch", "keras"):
            return keras_namespace()
    return default_namespace()
