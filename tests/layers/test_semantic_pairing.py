"""SamplePairing with similarity-based partners and λ."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import SamplePairing, WholeSetPairing, samplepairing_map

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


def _features_model(input_shape=(4, 4, 3), seed=0):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, name="embed")(x))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.weights])
    model.trainable = False
    return model


def test_a_features_model_is_saved_and_loaded_with_its_weights(tmp_path):
    features = _features_model()
    layer = SamplePairing(pairing="most_similar", features=features, seed=0)
    assert {id(w) for w in features.weights} <= {id(w) for w in layer.weights}
    assert not {id(w) for w in features.weights} & {id(w) for w in layer.trainable_weights}
    model = keras.Sequential([keras.Input((4, 4, 3)), layer, keras.layers.Flatten()])
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True).layers[0]
    for saved, restored in zip(features.weights, loaded.features_model.weights, strict=True):
        np.testing.assert_array_equal(saved, restored)
    images = np.random.default_rng(1).uniform(0, 255, (16, 4, 4, 3)).astype("float32")
    seed = tf.constant([1, 2], tf.int64)
    before = layer.get_random_transformation(images, seed=seed).partners.numpy()
    after = loaded.get_random_transformation(images, seed=seed).partners.numpy()
    np.testing.assert_array_equal(before, after)


def test_a_features_model_sees_channels_first_images_as_given():
    features = _features_model(input_shape=(3, 4, 4))
    images = np.random.default_rng(1).uniform(0, 255, (8, 3, 4, 4)).astype("float32")
    layer = SamplePairing(
        pairing="most_similar", features=features, data_format="channels_first", seed=0
    )
    pairing = layer.get_random_transformation(images)
    embedded = features(images).numpy()
    norms = embedded / np.linalg.norm(embedded, axis=1, keepdims=True)
    cosine = norms @ norms.T
    np.fill_diagonal(cosine, -np.inf)
    np.testing.assert_array_equal(pairing.partners, np.argmax(cosine, axis=1))
    assert layer(images).shape == images.shape


@pytest.mark.parametrize(
    "options",
    [
        {"pairing": "most_similar"},
        {"pairing": "sample", "lam": "similarity"},
        {"class_constraint": "same"},
        {"class_constraint": "different", "pairing": "least_similar"},
    ],
)
def test_an_empty_batch_with_a_dynamic_size_passes(options):
    layer = SamplePairing(seed=0, label_mode="mix", num_classes=2, **options)
    pair = samplepairing_map(seed=0, label_mode="mix", num_classes=2, **options)
    spec = (tf.TensorSpec([None, 4, 4, 3]), tf.TensorSpec([None], tf.int32))
    empty = (np.zeros((0, 4, 4, 3), "float32"), np.zeros((0,), "int32"))
    for fn in (lambda x, y: layer((x, y)), lambda x, y: pair(x, y)):
        images, labels = tf.function(fn, input_signature=spec)(*empty)
        assert images.shape == (0, 4, 4, 3) and labels.shape == (0, 2)
    # In tf.data, where a filter can leave a batch empty.
    ds = tf.data.Dataset.from_tensor_slices(empty).batch(4, drop_remainder=False)
    ds = tf.data.Dataset.from_tensors(empty).concatenate(ds)
    assert [len(x) for x, _ in ds.map(pair)] == [0]


def test_a_layer_with_a_features_model_compiles_once():
    model = _features_model()
    calls = []
    original = model.call
    model.call = lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs)
    layer = SamplePairing(pairing="most_similar", features=model, seed=0)
    images = np.random.default_rng(2).uniform(0, 255, (8, 4, 4, 3)).astype("float32")
    for _ in range(3):
        layer(images)
    assert len(calls) == 1  # traced once, then the compiled call runs


def test_a_features_function_with_python_control_flow_on_tensors_runs_everywhere(monkeypatch):
    """The package's own graphs skip AutoGraph (it has nothing to rewrite and
    costs seconds); a features function of the user's is still rewritten,
    alone: none of the package's math is."""
    from tensorflow.python.autograph.impl import api as autograph_api

    converted = []
    convert = autograph_api._convert_actual

    def recording(entity, program_ctx):
        converted.append(f"{entity.__module__}.{entity.__qualname__}")
        return convert(entity, program_ctx)

    monkeypatch.setattr(autograph_api, "_convert_actual", recording)

    def features(images):
        flat = tf.reshape(images, [tf.shape(images)[0], -1])
        if tf.reduce_max(flat) > 1000.0:  # never: a Python `if` on a tensor
            flat = -flat
        return flat

    options = {"pairing": "most_similar", "similarity": "euclidean", "features": features}
    assert _partners(SamplePairing(seed=0, **options)(CLUSTERS)) == NEAREST
    batches = tf.data.Dataset.from_tensor_slices(CLUSTERS).batch(8)
    (mapped,) = list(batches.map(samplepairing_map(seed=0, **options)))
    assert _partners(mapped) == NEAREST
    stream = WholeSetPairing(
        batches.unbatch(), in_memory=False, lam="similarity", features=features, seed=0
    )
    mixed = next(iter(stream.dataset(8)))
    assert mixed.shape == CLUSTERS.shape and np.all(np.isfinite(mixed))
    assert any(name.endswith("<locals>.features") for name in converted)
    assert not [name for name in converted if name.startswith("keras_samplepairing.ops.")]
