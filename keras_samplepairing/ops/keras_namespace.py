"""The array namespace on the active Keras backend (JAX, PyTorch): ``keras.ops``.

Keras dispatches every op to the backend's own, so inside ``jax.jit`` the
math is traced into the compiled step, and under PyTorch the tensors stay
torch tensors on their device. Randomness is stateless: a seed is a ``[2]``
integer array (a raw key under JAX).
"""

from __future__ import annotations

import builtins
from typing import Any

import keras
import numpy as np
from keras import ops

name = "keras"


def asarray(x: Any, dtype: str | None = None) -> Any:
    return ops.convert_to_tensor(x, dtype=dtype)


def is_tensor(x: Any) -> bool:
    return ops.is_tensor(x)


def is_ragged(x: Any) -> bool:
    return False


def dtype_name(x: Any) -> str:
    return keras.backend.standardize_dtype(x.dtype)


def cast(x: Any, dtype: str) -> Any:
    return ops.cast(x, dtype)


def shape(x: Any) -> tuple:
    return tuple(x.shape)


def static_shape(x: Any) -> tuple:
    return tuple(x.shape)


reshape = ops.reshape
transpose = ops.transpose
squeeze = ops.squeeze
broadcast_to = ops.broadcast_to
where = ops.where
logical_and = ops.logical_and
logical_or = ops.logical_or
logical_not = ops.logical_not
equal = ops.equal
not_equal = ops.not_equal
maximum = ops.maximum
minimum = ops.minimum
sqrt = ops.sqrt
square = ops.square
exp = ops.exp
log = ops.log
sigmoid = ops.sigmoid
round = ops.round  # noqa: A001
floor = ops.floor
matmul = ops.matmul
einsum = ops.einsum
stop_gradient = ops.stop_gradient
concatenate = ops.concatenate
stack = ops.stack
roll = ops.roll
take = ops.take


def arange(n: Any, dtype: str = "int32") -> Any:
    return ops.arange(n, dtype=dtype)


def eye(n: Any, dtype: str = "bool") -> Any:
    return ops.cast(ops.eye(n), dtype)


def full(shape: Any, value: Any, dtype: str) -> Any:
    return ops.full(tuple(int(d) for d in shape), value, dtype=dtype)


def take_along_rows(x: Any, indices: Any) -> Any:
    return ops.take_along_axis(x, indices[:, None], axis=1)[:, 0]


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    return ops.sum(x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return ops.mean(x, axis=axis, keepdims=keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    return ops.min(x, axis=axis, keepdims=keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    return ops.max(x, axis=axis, keepdims=keepdims)


def any(x: Any, axis: Any = None) -> Any:  # noqa: A001
    return ops.any(x, axis=axis)


def argmax(x: Any, axis: int) -> Any:
    return ops.cast(ops.argmax(x, axis=axis), "int32")


def argsort(x: Any) -> Any:
    return ops.cast(ops.argsort(x), "int32")


def clip(x: Any, low: Any, high: Any) -> Any:
    return ops.clip(x, low, high)


def softmax(x: Any, axis: int = -1) -> Any:
    return ops.softmax(x, axis=axis)


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: str = "float32") -> Any:
    return ops.one_hot(ops.cast(x, "int32"), num_classes, axis=axis, dtype=dtype)


def resize_bilinear(images: Any, size: tuple) -> Any:
    return ops.image.resize(
        images, size, interpolation="bilinear", antialias=False, data_format="channels_last"
    )


def constant(value: np.ndarray) -> Any:
    return ops.convert_to_tensor(value)


def assert_all(condition: Any, message: str, value: Any) -> Any:
    """``value``, once ``condition`` holds; raises ValueError where it can be read.

    Under ``jax.jit`` a value is not known until the compiled step runs, and
    XLA has no assertions, so the check is skipped there (callers check
    their data before it reaches a compiled step where they can).
    """
    if _is_traced(condition):
        return value
    if not bool(np.all(ops.convert_to_numpy(condition))):
        raise ValueError(message)
    return value


def _is_traced(x: Any) -> bool:
    if keras.config.backend() != "jax":
        return False
    import jax

    return isinstance(x, jax.core.Tracer)


# Stateless randomness.


def seed_tensor(seed: Any) -> Any:
    if keras.config.backend() == "jax":
        return ops.cast(seed, "uint32")
    return ops.cast(seed, "int64")


def split_seed(seed: Any, num: int) -> list:
    if keras.config.backend() == "jax":
        import jax

        keys = jax.random.split(seed, num)
        return [keys[i] for i in builtins.range(num)]
    return [fold_in(seed, i + 1) for i in builtins.range(num)]


def fold_in(seed: Any, data: Any) -> Any:
    if keras.config.backend() == "jax":
        import jax

        return jax.random.fold_in(seed, ops.cast(data, "uint32"))
    # A 64-bit mix of the seed's two words and the data (splitmix64's
    # finaliser), kept in 62 bits so torch's signed int64 never overflows.
    first, second = _host_words(seed)
    mixed = _mix64(_mix64(first * 0x9E3779B97F4A7C15 + second) + int(data))
    return ops.convert_to_tensor([mixed >> 31, mixed & 0x7FFFFFFF], dtype="int64")


def _host_words(seed: Any) -> tuple[int, int]:
    words = ops.convert_to_numpy(seed).astype(np.int64).reshape(-1)
    return int(words[0]) & 0xFFFFFFFF, int(words[1]) & 0xFFFFFFFF


def _mix64(z: int) -> int:
    z &= 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & 0x3FFFFFFFFFFFFFFF


def _host_generator(seed: Any) -> np.random.Generator:
    first, second = _host_words(seed)
    return np.random.Generator(np.random.Philox(key=_mix64((first << 32) | second)))


def uniform(seed: Any, shape: Any, minval: float = 0.0, maxval: float = 1.0) -> Any:
    shape = tuple(int(d) for d in shape)
    if keras.config.backend() == "jax":
        import jax

        return jax.random.uniform(seed, shape, minval=minval, maxval=maxval)
    # Other backends draw on the host, where a seeded generator gives the same
    # numbers on any machine; the few values move to Keras's device.
    values = _host_generator(seed).uniform(minval, maxval, shape).astype("float32")
    return ops.convert_to_tensor(values)


def random_keys(seed: Any, shape: Any) -> Any:
    """Uniform float32 in [0, 1), for sort keys and picks."""
    return uniform(seed, shape)


def normal(seed: Any, shape: Any) -> Any:
    shape = tuple(int(d) for d in shape)
    if keras.config.backend() == "jax":
        import jax

        return jax.random.normal(seed, shape)
    return ops.convert_to_tensor(_host_generator(seed).standard_normal(shape).astype("float32"))
