"""A partner index over a whole training set: each image's k nearest (or
farthest) neighbours by a similarity, built once and looked up per batch.

Every similarity reduces to a maximum inner product with a per-candidate
bias, so one chunked matrix product serves all three:

- cosine: ``unit(a) · unit(b)``;
- Euclidean: ``2a·b - |b|²`` (the distance ``|a|² + |b|² - 2a·b`` up to the
  anchor's own constant);
- KL: ``p_a · log p_b`` (``KL(p_a || p_b) = -H(p_a) - p_a · log p_b``), with
  features turned into distributions by one rule decided for the whole set.

The exact search never holds an N×N matrix: anchors go in chunks, and each
chunk's scores are reduced to its top k by the maxima of column groups (the
k best elements lie in the k best groups), so selection costs a fraction of
the matrix product. Beyond ``EXACT_LIMIT`` images an approximate inverted-file
index from ``faiss-cpu`` (an optional extra) answers the same query.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from typing import Any

import numpy as np

from keras_samplepairing.ops.partners import CLASS_CONSTRAINTS
from keras_samplepairing.ops.similarity import SIMILARITIES

INDEX_FORMAT = 1
DIRECTIONS = ("nearest", "farthest")
METHODS = ("auto", "exact", "faiss")
# Exact search costs N² D multiply-adds: about a minute at 100,000 images of
# 192 features on two cores. Above it, "auto" takes faiss when installed.
EXACT_LIMIT = 100_000
# Columns of scores reduced to one maximum before the top-k groups are taken.
_GROUP = 128
# Scores held at once: one chunk of anchors against one block of candidates.
_CHUNK_ELEMENTS = 1 << 26


def fingerprint(images: np.ndarray) -> str:
    """A short digest of a data set: its shape, dtype and up to 1024 evenly
    spaced images, so an index built for other data is recognised."""
    images = np.asarray(images)
    digest = hashlib.sha256(f"{images.shape}{images.dtype}".encode())
    step = max(1, len(images) // 1024)
    digest.update(np.ascontiguousarray(images[::step]).tobytes())
    return digest.hexdigest()[:16]


def _as_features(features: Any) -> np.ndarray:
    features = np.asarray(features, dtype=np.float32)
    if features.ndim < 2:
        raise ValueError(
            f"`features` must be (N, D) feature vectors, one row an image, got shape "
            f"{features.shape}."
        )
    return features.reshape(len(features), -1)


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
        return 2.0 * features, features, -np.sum(features * features, axis=1)
    p = to_distributions(tf.constant(features), bool(nonnegative)).numpy()
    return p, np.log(p), np.zeros(len(features), np.float32)


def scores_to_similarity(
    scores: np.ndarray, features: np.ndarray, similarity: str, nonnegative: bool
) -> np.ndarray:
    """Turns inner-product scores of each anchor row back into ``similarity``."""
    if similarity == "cosine":
        return scores
    if similarity == "euclidean":
        own = np.sum(features * features, axis=1, keepdims=True)
        distance = np.maximum(own - scores, 0.0) / features.shape[1]
        return 1.0 / (1.0 + distance)
    import tensorflow as tf

    from keras_samplepairing.ops.similarity import to_distributions

    p = to_distributions(tf.constant(features), bool(nonnegative)).numpy()
    negative_entropy = np.sum(p * np.log(p), axis=1, keepdims=True)
    return np.exp(-np.maximum(negative_entropy - scores, 0.0))


def _candidate_groups(
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

    return tf.function(select, reduce_retracing=True)


def _exact_search(
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


def _faiss_search(
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


class PartnerIndex:
    """The k nearest (or farthest) neighbours of every image of a training set.

    Built once over the set's features (``build``), saved and loaded as
    ``.npz``, rebuilt from new features when asked (``rebuild``, which the
    ``PartnerIndexRefresh`` callback calls). ``WholeSetPairing`` reads it at
    run time, so a rebuild needs no retracing.

    Attributes:
        neighbours: int32 ``(N, k)``: each image's neighbours, best first
            (nearest first, or farthest first); -1 where an image has fewer
            than k allowed candidates (a small class under a class
            constraint).
        similarities: float32 ``(N, k)``: their similarity, in the measure's
            own scale (-inf for -1 entries).
        features: float32 ``(N, D)``: the features it was built on.
        settings: ``similarity``, ``direction``, ``class_constraint``, ``k``,
            ``method``, ``nonnegative`` (how KL reads the features) and the
            ``fingerprint`` of the data.
    """

    def __init__(
        self,
        neighbours: np.ndarray,
        similarities: np.ndarray,
        features: np.ndarray,
        labels: np.ndarray | None,
        settings: dict,
    ) -> None:
        self.neighbours = neighbours
        self.similarities = similarities
        self.features = features
        self.labels = labels
        self.settings = settings
        self._tables: dict | None = None

    @property
    def size(self) -> int:
        """N, the number of images indexed."""
        return len(self.neighbours)

    @property
    def k(self) -> int:
        """Neighbours kept per image."""
        return self.neighbours.shape[1]

    @classmethod
    def build(
        cls,
        features: Any,
        similarity: str = "cosine",
        k: int = 16,
        direction: str = "nearest",
        labels: Any = None,
        class_constraint: str = "any",
        method: str = "auto",
        nprobe: int = 16,
        fingerprint: str | None = None,
    ) -> PartnerIndex:
        """Builds the index over ``features``.

        Args:
            features: ``(N, D)`` (or ``(N, ...)``) feature vectors, one row an
                image, in the order of the data set.
            similarity: ``"cosine"``, ``"euclidean"`` or ``"kl"``.
            k: neighbours kept per image, 1 <= k < N (16 by default: enough
                for ``pairing="sample"`` to draw among, small in memory).
            direction: ``"nearest"`` or ``"farthest"``.
            labels: ``(N,)`` class ids; needed by a class constraint.
            class_constraint: ``"any"``, ``"same"`` (neighbours within the
                image's class) or ``"different"`` (within the other classes).
            method: ``"exact"``, ``"faiss"`` (approximate, nearest neighbours
                only, needs ``faiss-cpu``) or ``"auto"`` (exact up to
                ``EXACT_LIMIT`` images, faiss beyond for nearest neighbours
                when it is installed).
            nprobe: inverted lists faiss visits per query.
            fingerprint: the data's ``fingerprint``, kept to refuse the index
                for other data later.
        """
        features = _as_features(features)
        size = len(features)
        if similarity not in SIMILARITIES:
            raise ValueError(f"`similarity` must be one of {SIMILARITIES}, got {similarity!r}.")
        if direction not in DIRECTIONS:
            raise ValueError(f"`direction` must be one of {DIRECTIONS}, got {direction!r}.")
        if class_constraint not in CLASS_CONSTRAINTS:
            raise ValueError(
                f"`class_constraint` must be one of {CLASS_CONSTRAINTS}, got {class_constraint!r}."
            )
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {METHODS}, got {method!r}.")
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < size:
            raise ValueError(
                f"`k` must be an int with 1 <= k < N = {size} (the number of images), got {k!r}."
            )
        if labels is not None:
            labels = np.asarray(labels).reshape(-1)
            if len(labels) != size:
                raise ValueError(f"`labels` has {len(labels)} entries for {size} feature rows.")
        if class_constraint != "any" and labels is None:
            raise ValueError(f"`class_constraint={class_constraint!r}` needs `labels`.")
        if method == "faiss" and direction == "farthest":
            raise ValueError(
                "`method='faiss'` finds nearest neighbours only: its inverted lists hold "
                "the farthest ones poorly (recall about 0.4 measured). Farthest neighbours "
                "are searched exactly: pass method='exact' or 'auto'."
            )
        if method == "auto":
            large = size > EXACT_LIMIT and direction == "nearest"
            method = "faiss" if large and _faiss_installed() else "exact"
        settings = {
            "similarity": similarity,
            "direction": direction,
            "class_constraint": class_constraint,
            "k": k,
            "method": method,
            "nprobe": int(nprobe),
            "nonnegative": bool(np.min(features) >= 0.0) if size else True,
            "fingerprint": fingerprint,
        }
        index = cls(
            np.empty((size, k), np.int32),
            np.empty((size, k), np.float32),
            features,
            labels,
            settings,
        )
        index._search(features)
        return index

    def _search(self, features: np.ndarray) -> None:
        s = self.settings
        queries, base, bias = inner_product_form(features, s["similarity"], s["nonnegative"])
        if s["direction"] == "farthest":  # the largest of minus the score
            queries, bias = -queries, -bias
        neighbours = np.full((len(features), s["k"]), -1, np.int32)
        scores = np.full((len(features), s["k"]), -np.inf, np.float32)
        for anchors, candidates, excluded in _candidate_groups(
            self.labels, s["class_constraint"], len(features)
        ):
            if s["method"] == "exact":
                values, found = _exact_search(
                    queries, base, bias, anchors, candidates, excluded, s["k"]
                )
            else:
                values, found = _faiss_search(
                    queries, base, bias, anchors, candidates, excluded, s["k"], s["nprobe"]
                )
            scores[anchors], neighbours[anchors] = values, found
        if s["direction"] == "farthest":
            scores = -scores
        valid = neighbours >= 0
        similarities = scores_to_similarity(
            np.where(valid, scores, 0.0), features, s["similarity"], s["nonnegative"]
        )
        self.neighbours = neighbours
        self.similarities = np.where(valid, similarities, -np.inf).astype(np.float32)
        self.features = features
        if self._tables is not None:
            self._assign_tables()

    def rebuild(self, features: Any) -> None:
        """Searches again on new features of the same images (same settings),
        in place: a pipeline reading the index sees the new neighbours at run
        time."""
        features = _as_features(features)
        if features.shape != self.features.shape:
            raise ValueError(
                f"`features` must have the shape the index was built on, "
                f"{self.features.shape}, got {features.shape}."
            )
        self._search(features)

    def check_for(self, size: int, data_fingerprint: str | None = None) -> None:
        """Raises if the index was built for other data than ``size`` images
        with this fingerprint."""
        if size != self.size:
            raise ValueError(
                f"`index` was built for {self.size} images but the data has {size}: it is "
                "stale; build it again for this data."
            )
        known = self.settings.get("fingerprint")
        if data_fingerprint and known and known != data_fingerprint:
            raise ValueError(
                "`index` was built for other data (its fingerprint differs): it is stale; "
                "build it again for this data."
            )

    # TensorFlow tables that a pipeline reads at run time.

    def tables(self) -> dict:
        """``tf.Variable``s of the neighbours, their similarities and the
        features, on the CPU; ``rebuild`` assigns new values to them."""
        if self._tables is None:
            import tensorflow as tf

            with tf.init_scope(), tf.device("/cpu:0"):
                self._tables = {
                    "neighbours": tf.Variable(self.neighbours, trainable=False),
                    "similarities": tf.Variable(self.similarities, trainable=False),
                    "counts": tf.Variable(
                        np.sum(self.neighbours >= 0, axis=1).astype(np.int32), trainable=False
                    ),
                    "features": tf.Variable(self.features, trainable=False),
                }
        return self._tables

    def _assign_tables(self) -> None:
        tables = self._tables
        tables["neighbours"].assign(self.neighbours)
        tables["similarities"].assign(self.similarities)
        tables["counts"].assign(np.sum(self.neighbours >= 0, axis=1).astype(np.int32))
        tables["features"].assign(self.features)

    # Files.

    def save(self, path: str) -> None:
        """Writes the index as ``.npz`` (no pickled objects)."""
        arrays = {
            "format": np.array(INDEX_FORMAT),
            "settings": np.array(json.dumps(self.settings)),
            "neighbours": self.neighbours,
            "similarities": self.similarities,
            "features": self.features,
        }
        if self.labels is not None:
            arrays["labels"] = self.labels
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: str) -> PartnerIndex:
        """Reads an index written by ``save``; refuses other formats."""
        with np.load(path, allow_pickle=False) as data:
            version = int(data["format"]) if "format" in data else None
            if version != INDEX_FORMAT:
                raise ValueError(
                    f"{path} holds a partner index of format {version}, this version reads "
                    f"format {INDEX_FORMAT}: build it again."
                )
            labels = data.get("labels", None)
            return cls(
                data["neighbours"],
                data["similarities"],
                data["features"],
                labels,
                json.loads(str(data["settings"])),
            )


def _faiss_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("faiss") is not None
