"""SamplePairing with similarity-based partners and λ."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import SamplePairing, samplepairing_map

# Two clusters of constant images: 0, 10, 30, 60 and 200, 215, 235, 255.
VALUES = np.array([0.0, 10.0, 30.0, 60.0, 200.0, 215.0, 235.0, 255.0], "float32")
CLUSTERS = np.ones((8, 4, 4, 3), "float32") * VALUES[:, None, None, None]
LABELS = np.array([0, 0, 1, 1, 0, 0, 1, 1])
NEAREST = [1, 0, 1, 2, 5, 4, 5, 6]  # by |value difference|, excluding self


def _partners(out):
    """With λ = 0.5: out = (v_i + v_p) / 2, so v_p = 2 out - v_i."""
    partner_values = 2.0 * np.asarray(out)[:, 0, 0, 0] - VALUES
    return [int(np.argmin(np.abs(VALUES - v))) for v in partner_values]


def test_most_similar_picks_the_nearest_neighbour():
    out = SamplePairing(pairing="most_similar", similarity="euclidean", seed=0)(CLUSTERS)
    assert _partners(out) == NEAREST


def test_least_similar_picks_from_the_other_cluster():
    out = SamplePairing(pairing="least_similar", similarity="euclidean", seed=0)(CLUSTERS)
    partners = np.array(_partners(out))
    assert np.all((partners < 4) != (np.arange(8) < 4))
    assert partners.tolist() == [7, 7, 7, 7, 0, 0, 0, 0]


@pytest.mark.parametrize("constraint", ["same", "different"])
def test_class_constraint_in_the_layer(constraint):
    layer = SamplePairing(pairing="sample", similarity="euclidean", class_constraint=constraint)
    for _ in range(3):
        out, _ = layer((CLUSTERS, LABELS))
        same = LABELS[_partners(out)] == LABELS
        assert np.all(same) if constraint == "same" else not np.any(same)


def test_similarity_lambda_in_range_and_labels_sum_to_one():
    images = np.random.default_rng(3).uniform(0, 255, (16, 8, 8, 3)).astype("float32")
    labels = np.arange(16) % 4
    for measure in ("cosine", "euclidean", "kl"):
        layer = SamplePairing(
            lam="similarity", similarity=measure, label_mode="mix", num_classes=4, seed=1
        )
        _, mixed = layer((images, labels))
        own = mixed.numpy()[np.arange(16), labels]
        # λ = 1 - s/2 is in [0.5, 1]; a partner of another class leaves λ on
        # the own class (same-class partners give 1).
        assert np.all(own >= 0.5 - 1e-6) and np.all(own <= 1.0 + 1e-6)
        np.testing.assert_allclose(np.sum(mixed, axis=1), 1.0, rtol=1e-6)


def test_similarity_lambda_follows_the_formula():
    # Histogram features of constant images: identical within a value,
    # disjoint across bins, so KL similarity is ~1 or ~0.
    images = np.concatenate([CLUSTERS[:1]] * 2 + [CLUSTERS[7:]] * 2)  # 0, 0, 255, 255
    labels = np.array([0, 0, 1, 1])
    layer = SamplePairing(
        pairing="least_similar",
        lam="similarity",
        similarity="kl",
        features="histogram",
        label_mode="mix",
        num_classes=2,
        seed=0,
    )
    _, mixed = layer((images, labels))
    # Least similar partners are in the other bin: s ~ 0, so λ ~ 1.
    np.testing.assert_allclose(mixed.numpy()[np.arange(4), labels], 1.0, atol=1e-3)
    layer = SamplePairing(
        pairing="most_similar", lam="similarity", similarity="kl", features="histogram", seed=0
    )
    np.testing.assert_allclose(layer(images), images)  # identical partners, any λ


def test_feature_model_drives_pairing_and_serializes(tmp_path):
    # A "backbone" that sees only the mean brightness.
    inputs = keras.Input((4, 4, 3))
    backbone = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    layer = SamplePairing(pairing="most_similar", similarity="euclidean", features=backbone, seed=0)
    assert _partners(layer(CLUSTERS)) == NEAREST
    clone = SamplePairing.from_config(layer.get_config())
    assert _partners(clone(CLUSTERS)) == NEAREST
    model = keras.Sequential([keras.Input((4, 4, 3)), layer, keras.layers.Flatten()])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(CLUSTERS, verbose=0), CLUSTERS.reshape(8, -1))


@pytest.mark.parametrize(
    "pairing, similarity",
    [("most_similar", "cosine"), ("least_similar", "euclidean"), ("sample", "kl")],
)
def test_semantic_options_under_xla_and_in_ds_map(pairing, similarity, assert_xla_safe):
    options = dict(pairing=pairing, similarity=similarity, lam="similarity", seed=2)
    layer = SamplePairing(**options)
    fn = tf.function(lambda x: layer(x), jit_compile=True)
    assert fn(CLUSTERS).shape == CLUSTERS.shape
    assert_xla_safe(fn.get_concrete_function(CLUSTERS))
    ds = tf.data.Dataset.from_tensor_slices((CLUSTERS, LABELS)).batch(4)
    out = list(ds.map(samplepairing_map(class_constraint="same", **options)))
    assert [o[0].shape[0] for o in out] == [4, 4]


def test_semantic_bad_inputs():
    with pytest.raises(ValueError, match="similarity"):
        SamplePairing(similarity="manhattan")
    with pytest.raises(ValueError, match="pairing"):
        SamplePairing(pairing="nearest")
    with pytest.raises(ValueError, match="temperature"):
        SamplePairing(pairing="sample", temperature=0)
    with pytest.raises(ValueError, match="alpha"):
        SamplePairing(lam="beta", alpha=-1)
    with pytest.raises(ValueError, match="features"):
        SamplePairing(features="edges")
    with pytest.raises(ValueError, match="class_constraint"):
        SamplePairing(class_constraint="same", seed=0)(CLUSTERS)
    scalar_model = keras.layers.Lambda(lambda t: tf.reduce_mean(t))
    with pytest.raises(ValueError, match="features"):
        SamplePairing(pairing="most_similar", features=scalar_model)(CLUSTERS)
