"""The array namespace on TensorFlow: ``tf.data`` pipelines and the TensorFlow backend.

Each function has a twin of the same name and meaning in
``keras_namespace``; the math calls them through ``namespace(...)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

name = "tensorflow"
# Stateless draws name their algorithm: "auto_select" may pick another one
# on another device.
_ALG = "philox"


def asarray(x: Any, dtype: str | None = None) -> tf.Tensor:
    if isinstance(x, (tf.RaggedTensor, tf.SparseTensor)):
        return x
    return tf.convert_to_tensor(x, dtype=dtype)


def is_tensor(x: Any) -> bool:
    return tf.is_tensor(x)


def is_ragged(x: Any) -> bool:
    return isinstance(x, tf.RaggedTensor)


def dtype_name(x: Any) -> str:
    return tf.as_dtype(x.dtype).name


def cast(x: Any, dtype: str) -> tf.Tensor:
    return tf.cast(x, dtype)


def shape(x: Any) -> Any:
    """The dynamic shape: a tensor whose entries are known at run time."""
    return tf.shape(x)


def static_shape(x: Any) -> tuple:
    """The shape known when the graph is built (None for unknown axes)."""
    return tuple(x.shape.as_list()) if x.shape.rank is not None else None


reshape = tf.reshape
transpose = tf.transpose
squeeze = tf.squeeze
broadcast_to = tf.broadcast_to
where = tf.where
logical_and = tf.logical_and
logical_or = tf.logical_or
logical_not = tf.logical_not
equal = tf.equal
not_equal = tf.not_equal
maximum = tf.maximum
minimum = tf.minimum
sqrt = tf.sqrt
square = tf.square
exp = tf.exp
log = tf.math.log
sigmoid = tf.sigmoid
round = tf.round  # noqa: A001 - half to even, as NumPy, JAX and PyTorch round
floor = tf.floor
matmul = tf.matmul
einsum = tf.einsum
stop_gradient = tf.stop_gradient


def concatenate(values: list, axis: int = 0) -> tf.Tensor:
    return tf.concat(values, axis=axis)


def stack(values: list, axis: int = 0) -> tf.Tensor:
    return tf.stack(values, axis=axis)


def roll(x: Any, shift: int, axis: int) -> tf.Tensor:
    return tf.roll(x, shift=shift, axis=axis)


def arange(n: Any, dtype: str = "int32") -> tf.Tensor:
    return tf.range(n, dtype=dtype)


def eye(n: Any, dtype: str = "bool") -> tf.Tensor:
    return tf.eye(n, dtype=dtype)


def full(shape: Any, value: Any, dtype: str) -> tf.Tensor:
    return tf.fill(shape, tf.cast(value, dtype))


def take(x: Any, indices: Any, axis: int = 0) -> tf.Tensor:
    return tf.gather(x, indices, axis=axis)


def take_along_rows(x: Any, indices: Any) -> tf.Tensor:
    """``x[i, indices[i]]`` for a ``(B, N)`` matrix and ``(B,)`` indices."""
    return tf.gather(x, indices, batch_dims=1)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> tf.Tensor:  # noqa: A001
    return tf.reduce_sum(x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> tf.Tensor:
    return tf.reduce_mean(x, axis=axis, keepdims=keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> tf.Tensor:  # noqa: A001
    return tf.reduce_min(x, axis=axis, keepdims=keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> tf.Tensor:  # noqa: A001
    return tf.reduce_max(x, axis=axis, keepdims=keepdims)


def any(x: Any, axis: Any = None) -> tf.Tensor:  # noqa: A001
    return tf.reduce_any(x, axis=axis)


def argmax(x: Any, axis: int) -> tf.Tensor:
    return tf.argmax(x, axis=axis, output_type=tf.int32)


def argsort(x: Any) -> tf.Tensor:
    return tf.argsort(x, stable=True)


def clip(x: Any, low: Any, high: Any) -> tf.Tensor:
    return tf.clip_by_value(x, low, high)


def softmax(x: Any, axis: int = -1) -> tf.Tensor:
    return tf.nn.softmax(x, axis=axis)


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: str = "float32") -> tf.Tensor:
    return tf.one_hot(x, num_classes, axis=axis, dtype=dtype)


def resize_bilinear(images: Any, size: tuple) -> tf.Tensor:
    """Half-pixel bilinear resize of channels-last images, no antialiasing."""
    return tf.image.resize(images, size, method="bilinear")


def constant(value: np.ndarray) -> tf.Tensor:
    return tf.constant(value)


def assert_all(condition: Any, message: str, value: Any) -> Any:
    """``value``, once ``condition`` holds everywhere; raises ValueError otherwise.

    Eagerly the check runs at once; in a graph it is an op that runs with the
    graph (outside XLA, which drops assertions).
    """
    if tf.executing_eagerly():
        if not bool(tf.reduce_all(condition)):
            raise ValueError(message)
        return value
    with tf.control_dependencies([tf.debugging.Assert(tf.reduce_all(condition), [message])]):
        return tf.identity(value)


# Stateless randomness: a seed is an int32/int64 tensor of shape [2].


def seed_tensor(seed: Any) -> tf.Tensor:
    return tf.cast(seed, tf.int64)


def split_seed(seed: Any, num: int) -> list:
    seeds = tf.random.experimental.stateless_split(seed, num, alg=_ALG)
    return [seeds[i] for i in range(num)]


def fold_in(seed: Any, data: Any) -> tf.Tensor:
    return tf.random.experimental.stateless_fold_in(seed, tf.cast(data, tf.int64), alg=_ALG)


def uniform(seed: Any, shape: Any, minval: float = 0.0, maxval: float = 1.0) -> tf.Tensor:
    """Uniform float32 in ``[minval, maxval)`` on a grid of 2^24 steps.

    Built from integer draws, which XLA and TensorFlow's kernels make alike
    (their float draws differ), so eager ops and compiled layers agree.
    """
    bits = tf.random.stateless_uniform(
        shape, seed, minval=0, maxval=1 << 24, dtype=tf.int32, alg=_ALG
    )
    unit = tf.cast(bits, tf.float32) * (1.0 / (1 << 24))
    if (minval, maxval) == (0.0, 1.0):
        return unit
    return minval + unit * (maxval - minval)


def random_keys(seed: Any, shape: Any) -> tf.Tensor:
    """Uniform float32 in [0, 1) as TensorFlow draws them, for sort keys and
    picks made outside XLA (the whole set's epoch order and class picks)."""
    return tf.random.stateless_uniform(shape, seed, alg=_ALG)


def normal(seed: Any, shape: Any) -> tf.Tensor:
    return tf.random.stateless_normal(shape, seed, alg=_ALG)
