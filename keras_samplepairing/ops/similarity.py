"""Pairwise similarity matrices for a batch of feature vectors.

Each function takes features ``f`` of shape ``(B, D)`` and returns a ``(B, B)``
matrix whose entry ``[i, j]`` says how alike image ``i`` (the anchor, the
image whose label is kept) and image ``j`` (a candidate partner) are. Every
matrix comes from one matrix product, so the cost is a ``B x D x B`` GEMM and
memory is ``B x B``, never a ``B x B x D`` broadcast.
"""

from __future__ import annotations

import tensorflow as tf

SIMILARITIES = ("cosine", "euclidean", "kl")

_EPS = 1e-12


def cosine_similarity(features: tf.Tensor) -> tf.Tensor:
    """Cosine similarity ``a.b / (|a| |b|)``, in [-1, 1].

    An all-zero vector has similarity 0 to everything (itself included)
    instead of NaN.

    Args:
        features: ``(B, D)`` float tensor.

    Returns:
        ``(B, B)`` symmetric matrix.
    """
    norms = tf.norm(features, axis=-1, keepdims=True)
    unit = features / tf.maximum(norms, _EPS)
    return tf.matmul(unit, unit, transpose_b=True)


def euclidean_similarity(features: tf.Tensor) -> tf.Tensor:
    """``1 / (1 + |a - b|^2 / D)``: 1 for identical vectors, towards 0 apart.

    ``|a - b|^2 / D`` is the mean squared difference per feature, so the
    scale does not depend on how many features there are. The squared
    distance is ``|a|^2 + |b|^2 - 2 a.b`` (one matrix product), clipped at 0
    against rounding.

    Args:
        features: ``(B, D)`` float tensor.

    Returns:
        ``(B, B)`` symmetric matrix in (0, 1].
    """
    squared = tf.reduce_sum(tf.square(features), axis=-1)
    cross = tf.matmul(features, features, transpose_b=True)
    distance = tf.maximum(squared[:, None] + squared[None, :] - 2.0 * cross, 0.0)
    dim = tf.cast(tf.shape(features)[-1], features.dtype)
    return 1.0 / (1.0 + distance / dim)


def to_distributions(features: tf.Tensor) -> tf.Tensor:
    """Turns feature vectors into probability distributions, one a row.

    Non-negative features (pixels, histograms) are normalised to sum 1 as
    masses; a batch with any negative entry (embeddings, logits) goes through
    softmax instead. The rule is decided once for the whole batch so that all
    rows are comparable. A small floor keeps every probability > 0, so KL
    stays finite.
    """
    masses = tf.maximum(features, 0.0) + 1e-6
    masses = masses / tf.reduce_sum(masses, axis=-1, keepdims=True)
    nonnegative = tf.reduce_min(features) >= 0.0
    return tf.where(nonnegative, masses, tf.nn.softmax(features, axis=-1))


def kl_divergence_matrix(features: tf.Tensor) -> tf.Tensor:
    """``KL(p_i || p_j)`` for all pairs, via one matrix product.

    Direction: row ``i`` is the anchor. ``KL(p_anchor || p_partner)`` is large
    when the partner lacks mass where the anchor has it, i.e. it measures how
    much of the anchor the partner fails to cover; that is the question when
    the anchor's label is the one kept.

    Args:
        features: ``(B, D)`` float tensor (see ``to_distributions``).

    Returns:
        ``(B, B)`` non-negative matrix, zero on the diagonal, not symmetric.
    """
    p = to_distributions(features)
    log_p = tf.math.log(p)
    entropy_term = tf.reduce_sum(p * log_p, axis=-1, keepdims=True)
    cross = tf.matmul(p, log_p, transpose_b=True)
    return tf.maximum(entropy_term - cross, 0.0)


def kl_similarity(features: tf.Tensor) -> tf.Tensor:
    """``exp(-KL(p_i || p_j))``: 1 for identical distributions, towards 0."""
    return tf.exp(-kl_divergence_matrix(features))


def pairwise_similarity(features: tf.Tensor, measure: str) -> tf.Tensor:
    """Dispatches to the similarity named ``measure`` (see ``SIMILARITIES``).

    Features of any rank >= 2 are flattened to ``(B, D)`` first and computed
    in float32.
    """
    if measure not in SIMILARITIES:
        raise ValueError(f"`similarity` must be one of {SIMILARITIES}, got {measure!r}.")
    batch = tf.shape(features)[0]
    flat = tf.reshape(tf.cast(features, tf.float32), [batch, -1])
    return {
        "cosine": cosine_similarity,
        "euclidean": euclidean_similarity,
        "kl": kl_similarity,
    }[measure](flat)


def unit_similarity(similarity: tf.Tensor, measure: str) -> tf.Tensor:
    """Maps a similarity onto [0, 1] (cosine's [-1, 1] becomes (1 + cos) / 2)."""
    if measure == "cosine":
        return tf.clip_by_value((1.0 + similarity) / 2.0, 0.0, 1.0)
    return tf.clip_by_value(similarity, 0.0, 1.0)
