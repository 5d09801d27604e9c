"""Stateless random draws that XLA compiles on CPU and GPU.

Every function takes an explicit ``seed`` (an integer array of shape ``[2]``:
int64 on TensorFlow, a raw uint32 key on JAX) so that the same seed always
gives the same numbers, whatever device or ``tf.data`` parallelism runs it.
Nothing here uses a Gamma kernel (XLA has none on GPU) or a shuffle op.
"""

from __future__ import annotations

import math
from typing import Any

from keras_samplepairing.ops.namespace import namespace

# Marsaglia-Tsang accepts a candidate with probability >= 0.95 for shape >= 1,
# so 8 vectorised tries leave about 4e-11 of draws unaccepted (those use the
# distribution's mode-like value d instead of looping, which XLA dislikes).
_GAMMA_TRIES = 8


def split_seed(seed: Any, num: int) -> list:
    """Splits one stateless seed into ``num`` independent seeds."""
    xp = namespace(seed)
    return xp.split_seed(xp.seed_tensor(seed), num)  # int32 and int64 seeds alike


def log_gamma_sample(seed: Any, shape: list, alpha: float) -> Any:
    """Draws ``log g`` with ``g ~ Gamma(alpha, 1)`` (shape ``alpha``, rate 1).

    Uses Marsaglia and Tsang (2000) on shape ``alpha + 1`` and the boost
    ``Gamma(a) = Gamma(a + 1) * U^(1/a)``. The result stays in log space, so
    small ``alpha`` (where ``U^(1/a)`` underflows float32) keeps its precision.

    Args:
        seed: stateless seed, shape ``[2]``.
        shape: output shape, a list (entries may be scalar tensors on
            TensorFlow, for a dynamic batch size).
        alpha: the Gamma shape parameter, > 0.

    Returns:
        A float32 array of ``shape`` holding ``log g``.
    """
    if not alpha > 0:
        raise ValueError(f"`alpha` must be > 0, got {alpha}.")
    xp = namespace(seed)
    normal_seed, accept_seed, boost_seed = xp.split_seed(seed, 3)
    tries = [_GAMMA_TRIES, *shape]
    d = alpha + 1.0 - 1.0 / 3.0
    c = 1.0 / (9.0 * d) ** 0.5
    tiny = 1e-30
    z = xp.normal(normal_seed, tries)
    u = xp.uniform(accept_seed, tries, minval=tiny, maxval=1.0)
    v = (1.0 + c * z) ** 3
    log_v = xp.log(xp.maximum(v, tiny))
    accepted = xp.logical_and(v > 0, xp.log(u) < 0.5 * z * z + d - d * v + d * log_v)
    first = xp.argmax(xp.cast(accepted, "int32"), axis=0)
    chosen = xp.sum(xp.one_hot(first, _GAMMA_TRIES, axis=0) * log_v, axis=0)
    chosen = xp.where(xp.any(accepted, axis=0), chosen, 0.0)
    boost = xp.uniform(boost_seed, list(shape), minval=tiny, maxval=1.0)
    return math.log(d) + chosen + xp.log(boost) / alpha


def beta_sample(seed: Any, shape: list, alpha: float) -> Any:
    """Draws from the symmetric Beta(alpha, alpha) distribution.

    Computed as ``g1 / (g1 + g2)`` with ``g ~ Gamma(alpha, 1)``, evaluated as
    ``sigmoid(log g1 - log g2)`` so that tiny ``g`` do not give ``0 / 0``.
    ``alpha`` is the Gamma *shape*; rate is 1 (passing ``alpha`` as the rate
    is a known bug that silently yields Uniform(0, 1)).

    Args:
        seed: stateless seed, shape ``[2]``.
        shape: output shape (a list).
        alpha: concentration, > 0. ``alpha < 1`` pushes draws to 0 and 1,
            ``alpha = 1`` is uniform, ``alpha > 1`` concentrates at 0.5.

    Returns:
        A float32 array of ``shape`` with values in [0, 1].
    """
    xp = namespace(seed)
    seed1, seed2 = xp.split_seed(seed, 2)
    return xp.sigmoid(log_gamma_sample(seed1, shape, alpha) - log_gamma_sample(seed2, shape, alpha))


def gumbel_noise(seed: Any, shape: list) -> Any:
    """Standard Gumbel noise; ``argmax(logits + noise)`` samples softmax(logits)."""
    xp = namespace(seed)
    u = xp.uniform(seed, shape, minval=1e-20, maxval=1.0)
    return -xp.log(-xp.log(u))
