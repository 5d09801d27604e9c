import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing.ops import (
    cosine_similarity,
    euclidean_similarity,
    kl_divergence_matrix,
    pairwise_similarity,
    pooled_features,
)
from keras_samplepairing.ops.features import histogram_features

VECTORS = tf.constant([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0], [0.0, 0.0]])


def test_cosine_on_hand_computed_vectors():
    sim = cosine_similarity(VECTORS).numpy()
    assert sim[0, 1] == 0.0  # orthogonal
    np.testing.assert_allclose(sim[0, 2], 1.0)  # scaled copy
    np.testing.assert_allclose(sim[0, 0], 1.0)  # identical
    assert np.all(sim[3] == 0.0) and np.all(np.isfinite(sim))  # zero vector: no NaN
    np.testing.assert_allclose(sim, sim.T)


def test_euclidean_on_hand_computed_vectors():
    sim = euclidean_similarity(VECTORS).numpy()
    # |(1,0) - (0,2)|^2 = 5, D = 2: 1 / (1 + 2.5)
    np.testing.assert_allclose(sim[0, 1], 1 / 3.5, rtol=1e-6)
    np.testing.assert_allclose(sim[0, 2], 1 / (1 + 4 / 2), rtol=1e-6)
    np.testing.assert_allclose(np.diag(sim), 1.0)
    np.testing.assert_allclose(sim, sim.T)


def test_kl_direction_and_values():
    p = np.array([[0.5, 0.5], [0.9, 0.1]], "float32")
    kl = kl_divergence_matrix(tf.constant(p)).numpy()
    floor = (p + 1e-6) / (p + 1e-6).sum(1, keepdims=True)
    expected_01 = np.sum(floor[0] * np.log(floor[0] / floor[1]))  # KL(p0 || p1)
    expected_10 = np.sum(floor[1] * np.log(floor[1] / floor[0]))
    np.testing.assert_allclose(kl[0, 1], expected_01, rtol=1e-4)
    np.testing.assert_allclose(kl[1, 0], expected_10, rtol=1e-4)
    assert kl[0, 1] != pytest.approx(kl[1, 0])  # asymmetric
    np.testing.assert_allclose(np.diag(kl), 0.0, atol=1e-6)


def test_kl_softmaxes_features_with_negative_entries():
    logits = tf.constant([[1.0, -1.0], [-1.0, 1.0]])
    kl = kl_divergence_matrix(logits).numpy()
    p = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(kl[0, 1], np.sum(p[0] * np.log(p[0] / p[1])), rtol=1e-5)


def test_similarity_is_finite_for_constant_and_zero_images():
    for fill in (0.0, 7.0):
        feats = tf.fill([3, 12], fill)
        for name in ("cosine", "euclidean", "kl"):
            assert np.all(np.isfinite(pairwise_similarity(feats, name).numpy()))


def test_unknown_similarity():
    with pytest.raises(ValueError, match="similarity"):
        pairwise_similarity(VECTORS, "manhattan")


def test_pooled_features_average_areas_exactly():
    images = np.arange(2 * 16 * 12 * 1, dtype="float32").reshape(2, 16, 12, 1)
    pooled = pooled_features(tf.constant(images), size=4).numpy().reshape(2, 4, 4, 1)
    expected = images.reshape(2, 4, 4, 4, 3, 1).mean(axis=(2, 4))
    np.testing.assert_allclose(pooled, expected, rtol=1e-5)
    # Several channels, compiled: rows and columns summed in two stages.
    rgb = np.random.default_rng(0).uniform(0, 255, (3, 16, 24, 3)).astype("float32")
    pooled = tf.function(pooled_features, jit_compile=True)(tf.constant(rgb))
    expected = rgb.reshape(3, 8, 2, 8, 3, 3).mean(axis=(2, 4)).reshape(3, -1)
    np.testing.assert_allclose(pooled.numpy(), expected, rtol=1e-5)
    # An unknown channel count takes the matrix-product path, to the same values.
    unknown = tf.function(pooled_features, input_signature=[tf.TensorSpec([None, 16, 24, None])])
    np.testing.assert_allclose(unknown(tf.constant(rgb)).numpy(), expected, rtol=1e-5)
    # Sizes that do not divide: the overall mean is preserved.
    odd = np.random.default_rng(1).uniform(size=(1, 10, 7, 3)).astype("float32")
    pooled = pooled_features(tf.constant(odd), size=4).numpy().reshape(1, 4, 4, 3)
    np.testing.assert_allclose(pooled.mean(axis=(1, 2)), odd.mean(axis=(1, 2)), rtol=1e-5)


def test_histogram_features_count_pixels():
    images = np.zeros((1, 2, 2, 1), "float32")
    images[0, 0, 0, 0] = 255.0
    hist = histogram_features(tf.constant(images), bins=4).numpy()
    np.testing.assert_allclose(hist, [[0.75, 0.0, 0.0, 0.25]])
