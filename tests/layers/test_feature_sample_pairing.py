"""Feature-level mixing: the layer between blocks."""

import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import FeatureSamplePairing
from tests.helpers import partners_of

FEATURES = np.stack([np.full((6,), float(i), "float32") for i in range(8)])  # row i is i


def test_identity_at_inference_and_mixing_in_training():
    layer = FeatureSamplePairing(seed=0)
    np.testing.assert_array_equal(layer(FEATURES, training=False), FEATURES)
    mixed = layer(FEATURES, training=True).numpy()
    partners = partners_of(mixed, step=1.0)
    assert sorted(partners) == list(range(8)) and np.all(partners != np.arange(8))
    np.testing.assert_array_equal(mixed, 0.5 * FEATURES + 0.5 * FEATURES[partners])


def test_feature_maps_and_similarity_on_hidden_features():
    maps = np.random.default_rng(0).normal(size=(4, 3, 3, 5)).astype("float32")
    assert (
        FeatureSamplePairing(lam="beta", mixing="spatial", grid_size=2, seed=1)(
            maps, training=True
        ).shape
        == maps.shape
    )
    # Rows 0/1 and 2/3 are near-copies: most_similar pairs them up.
    vectors = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]], "float32")
    out = FeatureSamplePairing(pairing="most_similar", seed=0)(vectors, training=True)
    np.testing.assert_allclose(out, 0.5 * vectors + 0.5 * vectors[[1, 0, 3, 2]])


def test_config_round_trip():
    layer = FeatureSamplePairing(lam="beta", alpha=0.2, mixing="channel", seed=4)
    assert FeatureSamplePairing.from_config(layer.get_config()).get_config() == layer.get_config()


def test_bad_feature_inputs():
    with pytest.raises(ValueError, match="rank >= 2"):
        FeatureSamplePairing(seed=0)(tf.constant([1.0, 2.0]), training=True)
    with pytest.raises(ValueError, match="class_constraint"):
        FeatureSamplePairing(class_constraint="same")
    with pytest.raises(ValueError, match="spatial"):
        FeatureSamplePairing(lam="beta", mixing="spatial")(FEATURES, training=True)


def test_gradients_flow_through_the_mix_to_both_samples():
    layer = FeatureSamplePairing(seed=0)
    rng = np.random.default_rng(0)
    hidden = tf.constant(rng.normal(size=(6, 5)).astype("float32"))
    weights = rng.normal(size=(6, 5)).astype("float32")
    layer(hidden, training=False)  # builds it
    seed = tf.constant(layer.seed_generator.state.numpy())
    partners = layer.get_random_transformation(hidden, seed=seed).partners.numpy()
    with tf.GradientTape() as tape:
        tape.watch(hidden)
        loss = tf.reduce_sum(layer(hidden, training=True) * weights)
    expected = 0.5 * weights
    np.add.at(expected, partners, 0.5 * weights)  # d(0.5 h_i + 0.5 h_p(i)) / dh
    np.testing.assert_allclose(tape.gradient(loss, hidden), expected, rtol=1e-6)
