"""Which of the package's Python AutoGraph may leave as it is.

``tf.function`` and ``Dataset.map`` run AutoGraph over the Python they
reach, to rewrite control flow on tensors into graph ops. The package's
TensorFlow code has none, and rewriting it cost 2 s of a layer's 2.7 s first
trace and 2 to 5 s of a pipeline's first batch. A features function of the
user's may have some: it alone is rewritten (``graph_features``), as
``tf.function`` would rewrite it. Rewriting the package's graphs around it
too had cost 5 s of CPU at a first trace, for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras_samplepairing.engine.state import tensorflow_loaded


def without_autograph(function: Callable) -> Callable:
    """``function``, for ``Dataset.map`` to call as it is. Pass only functions
    that call no Python of the user's outside a ``tf.function`` (which
    converts its own)."""
    if not tensorflow_loaded():
        return function
    import tensorflow as tf

    return tf.autograph.experimental.do_not_convert(function)


def user_python(features: Any) -> bool:
    """Whether ``features`` is Python of the user's for AutoGraph to rewrite: a
    function (AutoGraph leaves a Keras layer or model as it is anyway)."""
    if not callable(features):
        return False
    import keras

    return not isinstance(features, keras.layers.Layer)


def graph_features(features: Any) -> Callable | None:
    """A features function of the user's as a TensorFlow graph calls it,
    AutoGraph applied to it (and to the Python it calls), so a Python ``if``
    or loop on a tensor becomes graph control flow. None for anything else (a
    named feature, a Keras layer or model), which ``batch_features`` takes
    from the options as it is."""
    if not user_python(features):
        return None
    import tensorflow as tf

    def call(images: Any) -> Any:
        return features(images)  # AutoGraph follows the call into the user's code

    return tf.autograph.to_graph(call)
