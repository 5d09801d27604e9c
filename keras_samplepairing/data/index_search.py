"""How a partner index searches: every similarity as an inner product, an
exact chunked top-k search, and faiss's approximate one.

Every similarity reduces to a maximum inner product with a per-candidate
bias, so one chunked matrix product serves all three:

- cosine: ``unit(a) · unit(b)``;
- Euclidean: ``2a·b - |b|²`` on centred features (the distance
  ``|a|² + |b|² - 2a·b`` up to the anchor's own constant);
- KL: ``p_a · log p_b`` (``KL(p_a || p_b) = -H(p_a) - p_a · log p_b``), with
  features turned into distributions by one rule decided for the whole set.

The exact search never holds an N×N matrix: anchors go in chunks, and each
chunk's scores are reduced to its top k by the maxima of column groups (the
k best elements lie in the k best groups), so selection costs a fraction of
the matrix product.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

# Columns of scores reduced to one maximum before the top-k groups are taken.
_GROUP = 128
# Scores held at once: one chunk of anchors against one block of candidates.
_CHUNK_ELEMENTS = 1 << 26


def as_features(features: Any) -> np.ndarray:
    features = np.asarray(features, dtype=np.float32)
    if features.ndim < 2:
        raise ValueError(
            f"`features` must be (N, D) feature vectors, one row an image, got shape "
            f"{features.shape}."
        )
    features = features.reshape(len(features), -1)
    bad = np.flatnonzero(~np.all(np.isfinite(features), axis=1))
    if len(bad):
        shown = ", ".join(map(str, bad[:8])) + (", ..." if len(bad) > 8 else "")
        raise ValueError(
            f"`features` has NaN or infinite values in {len(bad)} of {len(features)} rows "
            f"(rows {shown}): no similarity can be computed for them. Check the images "
            "(or the features model) for non-finite values."
        )
    return features


def inner_product_form(
    features: np.ndarray, similarity: str, nonnegative: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(queries, base, bias)``: the similarity as ``queries @ base.T + bias``,
    up to a per-anchor constant that does not change the order."""
    import tensorflow as tf

    from keras_samplepairing.ops.similarity import to_distributions, unit_vectors

    if similarity == "cosine":
        unit = unit_vectors(tf.constant(features)).numpy()
        return unit, unit, np.zeros(len(features), np.float32)
    if similarity == "euclidean":
        # Distances do not change when every vector moves by the same amount;
        # centred, the float32 2a·b - |b|² form no longer cancels on
        # features far from 0 (pixels around 200 ± 3 lost true neighbours).
        centred = features - features.mean(axis=0, dtype=np.float64).astype(np.float32)
        return 2.0 * centred, centred, -np.sum(centred * centred, axis=1)
    p = to_distributions(tf.constant(features), bool(nonnegative)).numpy()
    return p, np.log(p), np.zeros(len(features), np.float32)


def scores_to_similarity(
    scores: np.ndarray, features: np.ndarray, similarity: str, nonnegative: bool
) -> np.ndarray:
    """Turns inner-product scores of each anchor row back into ``similarity``."""
    if similarity == "cosine":
        return scores
    if similarity == "euclidean":
        centred = features - features.mean(axis=0, dtype=np.float64).astype(np.float32)
        own = np.sum(centred * centred, axis=1, keepdims=True)
        distance = np.maximum(own - scores, 0.0) / features.shape[1]
        return 1.0 / (1.0 + distance)
    import tensorflow as tf

    from keras_samplepairing.ops.similarity import to_distributions

    p = to_distributions(tf.constant(features), bool(nonnegative)).numpy()
    negative_entropy = np.sum(p * np.log(p), axis=1, keepdims=True)
    return np.exp(-np.maximum(negative_entropy - scores, 0.0))


def candidate_groups(
    labels: np.ndarray | None, constraint: str, size: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """``(anchors, candidates, excluded)`` per group of anchors that share
    their allowed partners: everyone, one class, or all but one class."""
    everyone = np.arange(size)
    if constraint == "any":
        return [(everyone, everyone, None)]
    groups = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        if constraint == "same":
            groups.append((members, members, None))
        else:
            groups.append((members, everyone, labels == value))
    return groups


def _best(values, ids, k: int):
    """The ``k`` highest ``values`` of every row (fewer if the row is shorter), with their ids."""
    import tensorflow as tf

    values, order = tf.math.top_k(values, tf.minimum(k, tf.shape(values)[1]))
    return values, tf.gather(ids, order, batch_dims=1)


@functools.cache
def _compiled_select():
    """One compiled block search for the process: every index built (a refresh
    included) reuses its traces instead of compiling its own."""
    import tensorflow as tf

    def select(queries, base, bias, ids, own, k):
        count = tf.shape(queries)[0]
        scores = tf.matmul(queries, base, transpose_b=True) + bias
        groups = tf.reshape(scores, [count, -1, _GROUP])
        wanted = tf.minimum(k + 1, tf.shape(groups)[1])
        _, best_groups = tf.math.top_k(tf.reduce_max(groups, axis=2), wanted)
        values = tf.reshape(tf.gather(groups, best_groups, batch_dims=1), [count, -1])
        columns = best_groups[:, :, None] * _GROUP + tf.range(_GROUP)[None, None, :]
        candidates = tf.gather(ids, tf.reshape(columns, [count, -1]))
        values = tf.where(candidates == own[:, None], -np.inf, values)  # never itself
        return _best(values, candidates, k)

    return tf.function(select, reduce_retracing=True, autograph=False)


def exact_search(
    queries: np.ndarray,
    base: np.ndarray,
    bias: np.ndarray,
    anchors: np.ndarray,
    candidates: np.ndarray,
    excluded: np.ndarray | None,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` candidates of every anchor by inner product: scores and global
    ids. Query chunks against candidate blocks (TensorFlow); within a block,
    only the groups of ``_GROUP`` columns whose maximum is among the ``k + 1``
    best can hold a winner, so only they are sorted."""
    import tensorflow as tf

    select = _compiled_select()
    block = min(len(candidates), max(_GROUP, (_CHUNK_ELEMENTS // 1024) // _GROUP * _GROUP))
    chunk = int(max(64, min(4096, _CHUNK_ELEMENTS // max(block, 1))))
    blocks = []
    for start in range(0, len(candidates), block):
        ids = candidates[start : start + block]
        column_bias = bias[ids].copy()
        if excluded is not None:
            column_bias[excluded[ids]] = -np.inf
        pad = (-len(ids)) % _GROUP
        blocks.append(
            (
                tf.constant(np.pad(base[ids], ((0, pad), (0, 0)))),
                tf.constant(np.pad(column_bias, (0, pad), constant_values=-np.inf)),
                tf.constant(np.pad(ids, (0, pad), constant_values=-1).astype(np.int32)),
            )
        )
    values = np.full((len(anchors), k), -np.inf, np.float32)
    found = np.full((len(anchors), k), -1, np.int32)
    for start in range(0, len(anchors), chunk):
        rows = anchors[start : start + chunk]
        query = tf.constant(queries[rows])
        own = tf.constant(rows.astype(np.int32))
        best_v = best_i = None
        for base_block, bias_block, ids_block in blocks:
            v, i = select(query, base_block, bias_block, ids_block, own, k)
            if best_v is not None:  # merge with the blocks before
                v, i = _best(tf.concat([best_v, v], 1), tf.concat([best_i, i], 1), k)
            best_v, best_i = v, i
        width = best_v.shape[1]
        values[start : start + len(rows), :width] = best_v.numpy()
        found[start : start + len(rows), :width] = best_i.numpy()
    found[~np.isfinite(values)] = -1
    return values, found


def faiss_search(
    queries: np.ndarray,
    base: np.ndarray,
    bias: np.ndarray,
    anchors: np.ndarray,
    candidates: np.ndarray,
    excluded: np.ndarray | None,
    k: int,
    nprobe: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The same query through faiss's inverted-file index (approximate)."""
    try:
        import faiss
    except ImportError as error:
        raise ImportError(
            "An approximate partner index needs faiss: pip install faiss-cpu "
            "(or keras-samplepairing[faiss]); or pass method='exact'."
        ) from error
    base = np.ascontiguousarray(np.concatenate([base, bias[:, None]], axis=1)[candidates])
    queries = np.ascontiguousarray(
        np.concatenate([queries, np.ones((len(queries), 1), np.float32)], axis=1)[anchors]
    )
    lists = int(min(max(1, 4 * math.isqrt(len(base))), max(1, len(base) // 39)))
    index = faiss.IndexIVFFlat(
        faiss.IndexFlatIP(base.shape[1]), base.shape[1], lists, faiss.METRIC_INNER_PRODUCT
    )
    sample = np.random.default_rng(0).permutation(len(base))[: 64 * lists]
    index.train(base[sample])
    index.add(base)
    params = faiss.SearchParametersIVF(nprobe=min(nprobe, lists))
    if excluded is not None:  # all but one class: leave that class out of the search
        allowed = np.flatnonzero(~excluded[candidates]).astype(np.int64)
        params.sel = faiss.IDSelectorBatch(allowed)
    width = min(k + 1, len(base))
    scores, positions = index.search(queries, width, params=params)
    found = np.where(positions >= 0, candidates[np.maximum(positions, 0)], -1)
    scores = np.where(positions >= 0, scores, -np.inf).astype(np.float32)
    scores[found == anchors[:, None]] = -np.inf  # never itself
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    values = np.take_along_axis(scores, order, axis=1)
    found = np.take_along_axis(found, order, axis=1).astype(np.int32)
    found[~np.isfinite(values)] = -1
    return np.pad(values, ((0, 0), (0, k - values.shape[1])), constant_values=-np.inf), np.pad(
        found, ((0, 0), (0, k - found.shape[1])), constant_values=-1
    )


def faiss_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("faiss") is not None
