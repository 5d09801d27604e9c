"""Similarity matrices between feature vectors.

Each function takes anchor features ``a`` of shape ``(B, D)`` and candidate
features ``b`` of shape ``(M, D)`` (by default ``a`` itself) and returns a
``(B, M)`` matrix whose entry ``[i, j]`` says how alike anchor ``i`` (the
image whose label is kept) and candidate ``j`` (a possible partner) are.
Every matrix comes from one matrix product, so the cost is a ``B x D x M``
GEMM and memory is ``B x M``, never a ``B x M x D`` broadcast. The same
functions serve one batch (``M = B``) and a chunk of the whole training set.
"""

from __future__ import annotations

from typing import Any

from keras_samplepairing.ops.namespace import namespace

SIMILARITIES = ("cosine", "euclidean", "kl")

_EPS = 1e-12
# Every probability is at least this before normalising, so KL stays finite.
_FLOOR = 1e-6


def _others(features: Any, others: Any) -> Any:
    return features if others is None else others


def unit_vectors(features: Any) -> Any:
    """Rows scaled to norm 1; an all-zero row stays zero (similarity 0, not NaN)."""
    xp = namespace(features)
    norms = xp.sqrt(xp.sum(xp.square(features), axis=-1, keepdims=True))
    return features / xp.maximum(norms, _EPS)


def cosine_similarity(features: Any, others: Any = None) -> Any:
    """Cosine similarity ``a.b / (|a| |b|)``, in [-1, 1].

    An all-zero vector has similarity 0 to everything (itself included)
    instead of NaN.

    Args:
        features: ``(B, D)`` float anchors.
        others: ``(M, D)`` float candidates; default ``features``.

    Returns:
        ``(B, M)`` matrix (symmetric when ``others`` is omitted).
    """
    xp = namespace(features)
    a = unit_vectors(features)
    b = a if others is None else unit_vectors(others)
    return xp.matmul(a, xp.transpose(b))


def euclidean_similarity(features: Any, others: Any = None) -> Any:
    """``1 / (1 + |a - b|^2 / D)``: 1 for identical vectors, towards 0 apart.

    ``|a - b|^2 / D`` is the mean squared difference per feature, so the
    scale does not depend on how many features there are. The squared
    distance is ``|a|^2 + |b|^2 - 2 a.b`` (one matrix product), clipped at 0
    against rounding.

    Args:
        features: ``(B, D)`` float anchors.
        others: ``(M, D)`` float candidates; default ``features``.

    Returns:
        ``(B, M)`` matrix in (0, 1].
    """
    xp = namespace(features)
    b = _others(features, others)
    squared_a = xp.sum(xp.square(features), axis=-1)
    squared_b = squared_a if others is None else xp.sum(xp.square(b), axis=-1)
    cross = xp.matmul(features, xp.transpose(b))
    distance = xp.maximum(squared_a[:, None] + squared_b[None, :] - 2.0 * cross, 0.0)
    dim = xp.cast(xp.shape(features)[-1], "float32")
    return 1.0 / (1.0 + distance / dim)


def all_nonnegative(features: Any) -> Any:
    """Whether every entry is >= 0: how ``to_distributions`` reads features.

    Decide it once for everything that is compared (a batch, or the whole
    training set before it is cut into chunks), so all rows are comparable.
    """
    xp = namespace(features)
    return xp.min(features) >= 0.0


def to_distributions(features: Any, nonnegative: Any = None) -> Any:
    """Turns feature vectors into probability distributions, one a row.

    Non-negative features (pixels, histograms) are normalised to sum 1 as
    masses; features with negative entries (embeddings, logits) go through
    softmax instead. ``nonnegative`` says which (a bool or a scalar bool
    tensor, see ``all_nonnegative``); by default it is decided from
    ``features``. A small floor keeps every probability > 0, so KL stays
    finite.
    """
    xp = namespace(features)
    if nonnegative is None:
        nonnegative = all_nonnegative(features)
    masses = xp.maximum(features, 0.0) + _FLOOR
    masses = masses / xp.sum(masses, axis=-1, keepdims=True)
    if isinstance(nonnegative, bool):
        return masses if nonnegative else xp.softmax(features, axis=-1)
    return xp.where(nonnegative, masses, xp.softmax(features, axis=-1))


def kl_divergence_matrix(features: Any, others: Any = None, nonnegative: Any = None) -> Any:
    """``KL(p_a || p_b)`` for all pairs, via one matrix product.

    ``KL(p_a || p_b) = -H(p_a) - p_a . log p_b``. Direction: row ``a`` is the
    anchor. ``KL(p_anchor || p_partner)`` is large when the partner lacks
    mass where the anchor has it, i.e. it measures how much of the anchor the
    partner fails to cover; that is the question when the anchor's label is
    the one kept.

    Args:
        features: ``(B, D)`` float anchors (see ``to_distributions``).
        others: ``(M, D)`` float candidates; default ``features``.
        nonnegative: how features become distributions; by default decided
            from ``features`` and ``others`` together.

    Returns:
        ``(B, M)`` non-negative matrix, zero on the diagonal when ``others``
        is omitted, not symmetric.
    """
    xp = namespace(features)
    if nonnegative is None:
        nonnegative = all_nonnegative(features)
        if others is not None:
            nonnegative = xp.logical_and(nonnegative, all_nonnegative(others))
    p = to_distributions(features, nonnegative)
    log_p = xp.log(p)
    log_q = log_p if others is None else xp.log(to_distributions(others, nonnegative))
    entropy_term = xp.sum(p * log_p, axis=-1, keepdims=True)
    cross = xp.matmul(p, xp.transpose(log_q))
    return xp.maximum(entropy_term - cross, 0.0)


def kl_similarity(features: Any, others: Any = None, nonnegative: Any = None) -> Any:
    """``exp(-KL(p_a || p_b))``: 1 for identical distributions, towards 0."""
    xp = namespace(features)
    return xp.exp(-kl_divergence_matrix(features, others, nonnegative))


def flatten_features(features: Any) -> Any:
    """Features of any rank >= 2 as float32 ``(B, D)``."""
    xp = namespace(features)
    return xp.reshape(xp.cast(features, "float32"), [xp.shape(features)[0], -1])


def pairwise_similarity(
    features: Any, measure: str, others: Any = None, nonnegative: Any = None
) -> Any:
    """The similarity named ``measure`` (see ``SIMILARITIES``) as a matrix.

    Features of any rank >= 2 are flattened to ``(B, D)`` first and computed
    in float32.

    Args:
        features: ``(B, ...)`` anchors.
        measure: ``"cosine"``, ``"euclidean"`` or ``"kl"``.
        others: ``(M, ...)`` candidates; default ``features``.
        nonnegative: for ``"kl"``, how features become distributions (see
            ``to_distributions``).

    Returns:
        ``(B, M)`` float32 matrix.
    """
    if measure not in SIMILARITIES:
        raise ValueError(f"`similarity` must be one of {SIMILARITIES}, got {measure!r}.")
    a = flatten_features(features)
    b = None if others is None else flatten_features(others)
    if measure == "cosine":
        return cosine_similarity(a, b)
    if measure == "euclidean":
        return euclidean_similarity(a, b)
    return kl_similarity(a, b, nonnegative)


def unit_similarity(similarity: Any, measure: str) -> Any:
    """Maps a similarity onto [0, 1] (cosine's [-1, 1] becomes (1 + cos) / 2)."""
    xp = namespace(similarity)
    if measure == "cosine":
        return xp.clip((1.0 + similarity) / 2.0, 0.0, 1.0)
    return xp.clip(similarity, 0.0, 1.0)


def paired_similarity(features: Any, others: Any, measure: str, nonnegative: Any = None) -> Any:
    """The similarity of each row of ``features`` to the same row of ``others``.

    The diagonal of ``pairwise_similarity(features, measure, others)`` without
    the matrix: ``(B,)`` for ``(B, D)`` inputs, for pairs chosen elsewhere
    (partners from the whole training set).
    """
    if measure not in SIMILARITIES:
        raise ValueError(f"`similarity` must be one of {SIMILARITIES}, got {measure!r}.")
    xp = namespace(features)
    a, b = flatten_features(features), flatten_features(others)
    if measure == "cosine":
        return xp.sum(unit_vectors(a) * unit_vectors(b), axis=-1)
    if measure == "euclidean":
        dim = xp.cast(xp.shape(a)[-1], "float32")
        return 1.0 / (1.0 + xp.sum(xp.square(a - b), axis=-1) / dim)
    if nonnegative is None:
        nonnegative = xp.logical_and(all_nonnegative(a), all_nonnegative(b))
    p, q = to_distributions(a, nonnegative), to_distributions(b, nonnegative)
    divergence = xp.sum(p * (xp.log(p) - xp.log(q)), axis=-1)
    return xp.exp(-xp.maximum(divergence, 0.0))
