"""The partner index: exact against brute force, chunked against unchunked."""

import json

import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing.data import index_search as index_module
from keras_samplepairing.data.index import PartnerIndex
from keras_samplepairing.ops.similarity import pairwise_similarity

RNG = np.random.default_rng(0)
# Mixed signs in some rows only: KL must decide once how to read them all.
FEATURES = RNG.uniform(0, 1, (300, 12)).astype("float32")
FEATURES[:40] -= 0.9
LABELS = RNG.integers(0, 4, 300)


def brute_force(features, similarity, k, direction, labels=None, constraint="any"):
    full = pairwise_similarity(tf.constant(features), similarity).numpy().astype("float64")
    allowed = ~np.eye(len(features), dtype=bool)
    if constraint != "any":
        same = labels[:, None] == labels[None, :]
        allowed &= same if constraint == "same" else ~same
    key = np.where(allowed, full if direction == "nearest" else -full, -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(full, order, axis=1)


@pytest.fixture
def small_chunks(monkeypatch):
    """Several anchor chunks and candidate blocks even on a small set."""
    monkeypatch.setattr(index_module, "_CHUNK_ELEMENTS", 64 * 128)


@pytest.mark.parametrize("similarity", ["cosine", "euclidean", "kl"])
@pytest.mark.parametrize("direction", ["nearest", "farthest"])
@pytest.mark.parametrize("constraint", ["any", "same", "different"])
def test_exact_search_is_brute_force_chunked_or_not(
    similarity, direction, constraint, small_chunks
):
    expected, values = brute_force(FEATURES, similarity, 5, direction, LABELS, constraint)
    built = PartnerIndex.build(
        FEATURES,
        similarity,
        k=5,
        direction=direction,
        labels=LABELS,
        class_constraint=constraint,
        method="exact",
    )
    np.testing.assert_array_equal(np.sort(built.neighbours, 1), np.sort(expected, 1))
    np.testing.assert_allclose(
        np.sort(built.similarities, 1), np.sort(values, 1), rtol=1e-4, atol=1e-5
    )


def test_chunking_does_not_change_the_table(monkeypatch):
    whole = PartnerIndex.build(FEATURES, "kl", k=6, method="exact")
    monkeypatch.setattr(index_module, "_CHUNK_ELEMENTS", 64 * 128)
    chunked = PartnerIndex.build(FEATURES, "kl", k=6, method="exact")
    np.testing.assert_array_equal(whole.neighbours, chunked.neighbours)
    np.testing.assert_allclose(whole.similarities, chunked.similarities, rtol=1e-6)


def test_a_rebuild_reuses_the_compiled_search():
    # A refresh rebuilds the index every few epochs: it must not compile again.
    PartnerIndex.build(FEATURES, "cosine", k=4, method="exact")
    traces = index_module._compiled_select().experimental_get_tracing_count()
    PartnerIndex.build(FEATURES * 2.0, "cosine", k=4, method="exact")
    assert index_module._compiled_select().experimental_get_tracing_count() == traces


def test_nearest_digits_by_pooled_features():
    from sklearn.datasets import load_digits

    from keras_samplepairing.data import whole_set_features

    images = (load_digits().images[:400, :, :, None] * 16.0).astype("float32")
    features = whole_set_features(images)
    expected, best = brute_force(features, "euclidean", 1, "nearest")
    built = PartnerIndex.build(features, "euclidean", k=3, method="exact")
    # Digits are integer images: equally near neighbours tie, any of them is right.
    found = pairwise_similarity(tf.constant(features), "euclidean").numpy()
    found = found[np.arange(len(features)), built.neighbours[:, 0]]
    np.testing.assert_allclose(found, best[:, 0], rtol=1e-6)
    assert np.mean(built.neighbours[:, 0] == expected[:, 0]) > 0.99


def test_a_small_class_pads_with_minus_one():
    labels = np.array([0] * 10 + [1] * 2)
    built = PartnerIndex.build(
        FEATURES[:12], "cosine", k=4, labels=labels, class_constraint="same", method="exact"
    )
    assert np.all(built.neighbours[10:, 1:] == -1) and np.all(built.neighbours[10:, 0] >= 10)
    assert np.all(np.isneginf(built.similarities[10:, 1:]))


def test_save_load_and_stale_indexes(tmp_path):
    built = PartnerIndex.build(FEATURES, "cosine", k=4, fingerprint="abc")
    built.save(tmp_path / "index.npz")
    loaded = PartnerIndex.load(tmp_path / "index.npz")
    np.testing.assert_array_equal(loaded.neighbours, built.neighbours)
    assert loaded.settings == built.settings
    loaded.check_for(300, "abc")
    with pytest.raises(ValueError, match="built for 300 images but the data has 299"):
        loaded.check_for(299, "abc")
    with pytest.raises(ValueError, match="fingerprint of every image differs"):
        loaded.check_for(300, "xyz")
    np.savez(tmp_path / "old.npz", format=np.array(0), neighbours=built.neighbours)
    with pytest.raises(ValueError, match="format 0"):
        PartnerIndex.load(tmp_path / "old.npz")


def test_rebuild_in_place_updates_the_tables():
    built = PartnerIndex.build(FEATURES, "cosine", k=3)
    tables = built.tables()
    built.rebuild(FEATURES[::-1].copy())
    np.testing.assert_array_equal(tables["neighbours"].numpy(), built.neighbours)
    with pytest.raises(ValueError, match="shape"):
        built.rebuild(FEATURES[:10])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 300}, "1 <= k < N = 300"),
        ({"k": 0}, "1 <= k < N"),
        ({"similarity": "manhattan"}, "similarity"),
        ({"direction": "sideways"}, "direction"),
        ({"method": "annoy"}, "method"),
        ({"class_constraint": "same"}, "needs `labels`"),
        ({"labels": np.zeros(5)}, "5 entries for 300"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PartnerIndex.build(FEATURES, **kwargs)


def test_faiss_finds_the_nearest_and_refuses_the_farthest():
    pytest.importorskip("faiss")
    centers = RNG.normal(size=(20, 16)).astype("float32")
    features = centers[RNG.integers(0, 20, 3000)] + 0.3 * RNG.normal(size=(3000, 16))
    exact = PartnerIndex.build(features, "cosine", k=10, method="exact")
    approximate = PartnerIndex.build(features, "cosine", k=10, method="faiss")
    recall = np.mean(
        [
            len(set(a) & set(b)) / 10
            for a, b in zip(exact.neighbours, approximate.neighbours, strict=True)
        ]
    )
    assert recall > 0.9
    with pytest.raises(ValueError, match="nearest neighbours only"):
        PartnerIndex.build(features, "cosine", k=10, direction="farthest", method="faiss")


# Hold-up round two: defects found by an outside audit, each pinned here.


def test_a_kl_rebuild_reads_the_new_features_by_their_own_rule():
    # Built on masses, rebuilt on signed features: the rebuild must read them as
    # a fresh build does (softmax), not by the rule decided at the first build.
    signed = RNG.normal(size=(200, 8)).astype("float32")
    index = PartnerIndex.build(np.abs(signed), "kl", k=5)
    index.rebuild(signed)
    fresh = PartnerIndex.build(signed, "kl", k=5)
    np.testing.assert_array_equal(index.neighbours, fresh.neighbours)
    np.testing.assert_allclose(index.similarities, fresh.similarities, rtol=1e-6)
    assert index.settings["nonnegative"] is False


def test_exact_euclidean_search_stays_exact_on_pixel_scale_features():
    # Values around 200 ± 3: the float32 2a·b - |b|² form cancels and misses
    # true nearest neighbours unless the features are centred first.
    features = (200.0 + 3.0 * RNG.normal(size=(400, 192))).astype("float32")
    built = PartnerIndex.build(features, "euclidean", k=5, method="exact")
    exact = features.astype("float64")
    distance = np.sum((exact[:, None, :] - exact[None, :, :]) ** 2, axis=-1)
    np.fill_diagonal(distance, np.inf)
    order = np.argsort(distance, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(built.neighbours, order)


def test_non_finite_features_are_refused_when_the_index_is_built():
    features = FEATURES.copy()
    features[[3, 7], 0] = [np.nan, np.inf]
    with pytest.raises(ValueError, match=r"2 of 300 rows .*rows 3, 7"):
        PartnerIndex.build(features, "cosine", k=3)
    index = PartnerIndex.build(FEATURES, "cosine", k=3)
    with pytest.raises(ValueError, match="1 of 300 rows"):
        index.rebuild(np.where(np.arange(300)[:, None] == 5, np.nan, FEATURES))


def test_numpy_integers_are_taken_where_ints_are():
    index = PartnerIndex.build(FEATURES, "cosine", k=np.int64(4), nprobe=np.int32(8))
    assert index.k == 4 and isinstance(index.settings["k"], int)


def test_load_reads_what_save_wrote_without_the_extension(tmp_path):
    built = PartnerIndex.build(FEATURES, "cosine", k=3)
    written = built.save(str(tmp_path / "x"))
    assert written == str(tmp_path / "x.npz")
    loaded = PartnerIndex.load(str(tmp_path / "x"))
    np.testing.assert_array_equal(loaded.neighbours, built.neighbours)
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        PartnerIndex.load(str(tmp_path / "nothing"))


def test_an_index_saved_by_an_earlier_version_is_refused(tmp_path):
    built = PartnerIndex.build(FEATURES, "cosine", k=3)
    settings = {k: built.settings[k] for k in ("similarity", "direction", "k", "method")}
    np.savez(
        tmp_path / "old.npz",
        format=np.array(1),
        settings=np.array(json.dumps(settings)),
        neighbours=built.neighbours,
        similarities=built.similarities,
        features=built.features,
    )
    with pytest.raises(ValueError, match="earlier version.*build it again"):
        PartnerIndex.load(tmp_path / "old.npz")
