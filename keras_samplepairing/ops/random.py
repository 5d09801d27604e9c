"""Stateless random draws that XLA compiles on CPU and GPU.

Every function takes an explicit ``seed`` (an int32/int64 tensor of shape
``[2]``) so that the same seed always gives the same numbers, whatever device
or tf.data parallelism runs it. Nothing here uses ``StatelessRandomGamma``
(XLA has no GPU kernel for it) or ``RandomShuffle``.
"""

from __future__ import annotations

import tensorflow as tf

# Marsaglia-Tsang accepts a candidate with probability >= 0.95 for shape >= 1,
# so 8 vectorised tries leave about 4e-11 of draws unaccepted (those use the
# distribution's mode-like value d instead of looping, which XLA dislikes).
_GAMMA_TRIES = 8


def split_seed(seed: tf.Tensor, num: int) -> list[tf.Tensor]:
    """Splits one stateless seed into ``num`` independent seeds."""
    seeds = tf.random.experimental.stateless_split(seed, num)
    return [seeds[i] for i in range(num)]


def log_gamma_sample(
    seed: tf.Tensor, shape: tf.Tensor | list, alpha: float, dtype: tf.DType = tf.float32
) -> tf.Tensor:
    """Draws ``log g`` with ``g ~ Gamma(alpha, 1)`` (shape ``alpha``, rate 1).

    Uses Marsaglia and Tsang (2000) on shape ``alpha + 1`` and the boost
    ``Gamma(a) = Gamma(a + 1) * U^(1/a)``. The result stays in log space, so
    small ``alpha`` (where ``U^(1/a)`` underflows float32) keeps its precision.

    Args:
        seed: stateless seed, shape ``[2]``.
        shape: output shape.
        alpha: the Gamma shape parameter, > 0.
        dtype: float dtype of the result.

    Returns:
        A tensor of ``shape`` holding ``log g``.
    """
    if not alpha > 0:
        raise ValueError(f"`alpha` must be > 0, got {alpha}.")
    normal_seed, accept_seed, boost_seed = split_seed(seed, 3)
    shape = tf.concat([[_GAMMA_TRIES], tf.cast(shape, tf.int32)], axis=0)
    d = alpha + 1.0 - 1.0 / 3.0
    c = 1.0 / (9.0 * d) ** 0.5
    tiny = 1e-30
    z = tf.random.stateless_normal(shape, normal_seed, dtype=tf.float32)
    u = tf.random.stateless_uniform(shape, accept_seed, minval=tiny, maxval=1.0)
    v = (1.0 + c * z) ** 3
    log_v = tf.math.log(tf.maximum(v, tiny))
    accepted = (v > 0) & (tf.math.log(u) < 0.5 * z * z + d - d * v + d * log_v)
    first = tf.argmax(tf.cast(accepted, tf.int32), axis=0, output_type=tf.int32)
    chosen = tf.reduce_sum(tf.one_hot(first, _GAMMA_TRIES, axis=0) * log_v, axis=0)
    chosen = tf.where(tf.reduce_any(accepted, axis=0), chosen, 0.0)
    boost = tf.random.stateless_uniform(shape[1:], boost_seed, minval=tiny, maxval=1.0)
    log_g = tf.math.log(d) + chosen + tf.math.log(boost) / alpha
    return tf.cast(log_g, dtype)


def beta_sample(
    seed: tf.Tensor, shape: tf.Tensor | list, alpha: float, dtype: tf.DType = tf.float32
) -> tf.Tensor:
    """Draws from the symmetric Beta(alpha, alpha) distribution.

    Computed as ``g1 / (g1 + g2)`` with ``g ~ Gamma(alpha, 1)``, evaluated as
    ``sigmoid(log g1 - log g2)`` so that tiny ``g`` do not give ``0 / 0``.
    ``alpha`` is the Gamma *shape*; rate is 1 (passing ``alpha`` as the rate
    is a known bug that silently yields Uniform(0, 1)).

    Args:
        seed: stateless seed, shape ``[2]``.
        shape: output shape.
        alpha: concentration, > 0. ``alpha < 1`` pushes draws to 0 and 1,
            ``alpha = 1`` is uniform, ``alpha > 1`` concentrates at 0.5.
        dtype: float dtype of the result.

    Returns:
        A tensor of ``shape`` with values in [0, 1].
    """
    seed1, seed2 = split_seed(seed, 2)
    log_g1 = log_gamma_sample(seed1, shape, alpha)
    log_g2 = log_gamma_sample(seed2, shape, alpha)
    return tf.cast(tf.sigmoid(log_g1 - log_g2), dtype)


def gumbel_noise(seed: tf.Tensor, shape: tf.Tensor | list) -> tf.Tensor:
    """Standard Gumbel noise; ``argmax(logits + noise)`` samples softmax(logits)."""
    u = tf.random.stateless_uniform(shape, seed, minval=1e-20, maxval=1.0)
    return -tf.math.log(-tf.math.log(u))
