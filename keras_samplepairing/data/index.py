"""A partner index over a whole training set: each image's k nearest (or
farthest) neighbours by a similarity, built once and looked up per batch.

The index records what it was built from (how the features were computed,
the images, the labels of a class constraint) so that it is refused where it
would answer another question. Beyond ``EXACT_LIMIT`` images an approximate
inverted-file index from ``faiss-cpu`` (an optional extra) answers nearest
queries (``index_search``).
"""

from __future__ import annotations

import json
import numbers
import os
from typing import Any

import numpy as np

from keras_samplepairing.data.index_search import (
    as_features,
    candidate_groups,
    exact_search,
    faiss_installed,
    faiss_search,
    inner_product_form,
    scores_to_similarity,
)
from keras_samplepairing.ops.options import positive_int
from keras_samplepairing.ops.partners import CLASS_CONSTRAINTS
from keras_samplepairing.ops.similarity import SIMILARITIES

# Format 2 records what the index was built from (``settings['source']``).
INDEX_FORMAT = 2
DIRECTIONS = ("nearest", "farthest")
METHODS = ("auto", "exact", "faiss")
# Exact search costs N² D multiply-adds: about a minute at 100,000 images of
# 192 features on two cores. Above it, "auto" takes faiss when installed.
EXACT_LIMIT = 100_000


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
            ``method``, ``nprobe``, ``nonnegative`` (how KL reads the
            features), ``fingerprint`` (of the images) and ``source``: what
            the features were computed from (``"features"``: ``"pooled"``,
            ``"histogram"``, ``"model"`` or ``"array"``; ``"value_range"`` for
            histograms; ``"images"``: the fingerprint of every image).
        labels: ``(N,)`` class ids of a class constraint, or None.
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
        source: dict | None = None,
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
            fingerprint: the images' fingerprint
                (``data.set_storage.fingerprint``), kept to refuse the index for
                other data later.
            source: how the features were computed (``{"features": ...,
                "value_range": ...}``), kept to refuse the index for other
                features later; by default ``{"features": "array"}``.
        """
        features = as_features(features)
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
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k < size:
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
            method = "faiss" if large and faiss_installed() else "exact"
        settings = {
            "similarity": similarity,
            "direction": direction,
            "class_constraint": class_constraint,
            "k": int(k),
            "method": method,
            "nprobe": positive_int("nprobe", nprobe),
            "nonnegative": bool(np.min(features) >= 0.0) if size else True,
            "fingerprint": fingerprint,
            "source": {"features": "array", "value_range": None, **(source or {})},
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
        for anchors, candidates, excluded in candidate_groups(
            self.labels, s["class_constraint"], len(features)
        ):
            if s["method"] == "exact":
                values, found = exact_search(
                    queries, base, bias, anchors, candidates, excluded, s["k"]
                )
            else:
                values, found = faiss_search(
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
        features = as_features(features)
        if features.shape != self.features.shape:
            raise ValueError(
                f"`features` must have the shape the index was built on, "
                f"{self.features.shape}, got {features.shape}."
            )
        # How KL reads features (masses or softmax) is decided by the features
        # searched, as a fresh build would decide it.
        self.settings["nonnegative"] = bool(np.min(features) >= 0.0)
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
                "`index` was built for other images (the fingerprint of every image differs): "
                "it is stale; build it again for this data."
            )

    def check_answers(
        self,
        wanted: dict,
        size: int,
        fingerprint: str | None = None,
        features: np.ndarray | None = None,
        labels: np.ndarray | None = None,
    ) -> None:
        """Raises unless the index answers this question about this data.

        Args:
            wanted: the settings the question needs (``similarity``,
                ``direction``, ``class_constraint``, ``k``, ``features``,
                ``value_range``), each compared with what the index was built
                with.
            size: the number of images.
            fingerprint: the images' fingerprint.
            features: the ``(N, D)`` features given for the set, if any.
            labels: the class ids a class constraint reads, if any.
        """
        self.check_for(size)
        built = {**self.settings, **self.settings.get("source", {})}
        for name, needed in wanted.items():
            have = built.get(name)
            if name == "value_range":
                have = tuple(have or ())
            if name == "features" and have == "array" and needed != "array":
                raise ValueError(
                    "`index` was built from an (N, D) feature array, but these options "
                    f"compute features={needed!r}: pass the array it was built from as "
                    "`features=`, or build the index for these options."
                )
            if have != needed:
                raise ValueError(
                    f"`index` was built with {name}={have!r}, but these options need "
                    f"{name}={needed!r}: build the index for them."
                )
        self.check_for(size, fingerprint)
        if features is not None and not np.array_equal(features, self.features):
            raise ValueError(
                "`index` was built on other features than the `features` array given: build "
                "it again from these features."
            )
        if labels is not None:
            differ = int(np.sum(np.asarray(self.labels).reshape(-1) != labels))
            if differ:
                raise ValueError(
                    f"`index` was built for other labels ({differ} of {size} differ), so its "
                    f"class_constraint={self.settings['class_constraint']!r} neighbours would "
                    "cross classes: build it again for these labels."
                )

    # TensorFlow tables that a pipeline reads at run time.

    def tables(self) -> dict:
        """``tf.Variable``s of the neighbours, their similarities, the features
        and how KL reads them, on the CPU; ``rebuild`` assigns new values to
        them, so a running pipeline reads the new ones."""
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
                    "nonnegative": tf.Variable(self.settings["nonnegative"], trainable=False),
                }
        return self._tables

    def _assign_tables(self) -> None:
        tables = self._tables
        tables["neighbours"].assign(self.neighbours)
        tables["similarities"].assign(self.similarities)
        tables["counts"].assign(np.sum(self.neighbours >= 0, axis=1).astype(np.int32))
        tables["features"].assign(self.features)
        tables["nonnegative"].assign(self.settings["nonnegative"])

    # Files.

    def save(self, path: str | os.PathLike) -> str:
        """Writes the index as ``.npz`` (no pickled objects).

        Returns:
            The path written (``.npz`` is added when ``path`` lacks it, as
            ``np.savez`` does).
        """
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
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
        return path

    @classmethod
    def load(cls, path: str) -> PartnerIndex:
        """Reads an index written by ``save`` (``path`` with or without its
        ``.npz``); refuses other formats."""
        path = os.fspath(path)
        if not os.path.exists(path) and os.path.exists(path + ".npz"):
            path += ".npz"  # what save(path) wrote
        if not os.path.exists(path):
            raise FileNotFoundError(f"No partner index at {path} (nor {path}.npz).")
        with np.load(path, allow_pickle=False) as data:
            version = int(data["format"]) if "format" in data else None
            if version != INDEX_FORMAT:
                raise ValueError(
                    f"{path} holds a partner index of format {version}, written by an "
                    f"earlier version that did not record everything the index depends on "
                    f"(this version reads format {INDEX_FORMAT}): build it again."
                )
            labels = data.get("labels", None)
            return cls(
                data["neighbours"],
                data["similarities"],
                data["features"],
                labels,
                json.loads(str(data["settings"])),
            )
