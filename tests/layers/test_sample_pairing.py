import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import SamplePairing, samplepairing_map
from tests.helpers import partners_of

LABELS = np.arange(8) % 4


def _partners_from_constant_mix(mixed):
    """Constant image i holds 10 * i; a 0.5 mix of i and p holds 5i + 5p."""
    return partners_of(mixed)


def test_exact_pixels_and_first_labels(constant_images):
    images, labels = SamplePairing(seed=3)((constant_images, LABELS))
    partners = _partners_from_constant_mix(images)
    assert sorted(partners) == list(range(8)) and np.all(partners != np.arange(8))
    expected = 0.5 * constant_images + 0.5 * constant_images[partners]
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(labels, LABELS)  # the paper: labels untouched
    assert labels.dtype == LABELS.dtype


def test_exact_mix_labels(constant_images):
    layer = SamplePairing(label_mode="mix", num_classes=4, seed=3)
    images, labels = layer((constant_images, LABELS))
    partners = _partners_from_constant_mix(images)
    one_hot = np.eye(4, dtype="float32")[LABELS]
    np.testing.assert_allclose(labels, 0.5 * one_hot + 0.5 * one_hot[partners])
    np.testing.assert_allclose(np.sum(labels, axis=1), 1.0)


def test_rate_zero_and_training_false_are_the_identity(images):
    out_images, out_labels = SamplePairing(rate=0.0, seed=1)((images, LABELS))
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, LABELS)
    out = SamplePairing(seed=1)(images, training=False)
    np.testing.assert_array_equal(out, images)


def test_rate_pairs_a_share_of_the_batch(constant_images):
    batch = np.concatenate([constant_images] * 32)  # 256 images
    out = SamplePairing(rate=0.25, seed=4)(batch).numpy()
    changed = np.any(out != batch, axis=(1, 2, 3))
    assert 0.15 < changed.mean() < 0.35


def test_mixed_pixels_lie_between_their_sources(images):
    layer = SamplePairing(lam="beta", alpha=0.4, label_mode="mix", num_classes=4, seed=2)
    for _ in range(3):
        out, labels = layer((images, LABELS))
        out = out.numpy()
        lo = np.minimum(images[:, None], images[None]).min(axis=1)
        hi = np.maximum(images[:, None], images[None]).max(axis=1)
        assert np.all(out >= lo - 1e-4) and np.all(out <= hi + 1e-4)
        np.testing.assert_allclose(np.sum(labels, axis=1), 1.0, rtol=1e-6)


def test_same_seed_same_output_and_different_seeds_differ(images):
    a = SamplePairing(seed=7)(images)
    b = SamplePairing(seed=7)(images)
    c = SamplePairing(seed=8)(images)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_successive_calls_draw_new_pairings(images):
    layer = SamplePairing(seed=7)
    assert not np.array_equal(layer(images), layer(images))


def test_uint8_images_keep_their_dtype(images):
    as_uint8 = images.astype("uint8")
    out = SamplePairing(seed=1)(as_uint8)
    assert out.dtype == tf.uint8
    lo = np.minimum(as_uint8[:, None], as_uint8[None]).min(axis=1)
    hi = np.maximum(as_uint8[:, None], as_uint8[None]).max(axis=1)
    assert np.all(out.numpy() >= lo) and np.all(out.numpy() <= hi)


def test_unknown_dict_keys_raise_unless_passed_through(images):
    extra = np.arange(8)
    # A per-sample value left unmixed would belong to the wrong image: refused.
    with pytest.raises(ValueError, match="'ids'.*passthrough_keys"):
        SamplePairing(seed=1)({"images": images, "labels": LABELS, "ids": extra})
    layer = SamplePairing(seed=1, passthrough_keys=("ids",))
    out = layer({"images": images, "labels": LABELS, "ids": extra})
    assert set(out) == {"images", "labels", "ids"}
    np.testing.assert_array_equal(out["ids"], extra)


def test_batch_of_one_and_all_zero_images():
    one = np.random.default_rng(0).uniform(size=(1, 4, 4, 3)).astype("float32")
    np.testing.assert_array_equal(SamplePairing(seed=1)(one), one)
    zeros = np.zeros((3, 4, 4, 3), "float32")
    out = SamplePairing(pairing="most_similar", lam="similarity", seed=1)(zeros)
    np.testing.assert_array_equal(out, zeros)


def test_config_round_trip():
    layer = SamplePairing(
        lam="beta",
        alpha=0.3,
        rate=0.5,
        label_mode="mix",
        num_classes=5,
        lam_range=(0.1, 0.9),
        seed=11,
        name="sp",
    )
    config = layer.get_config()
    clone = SamplePairing.from_config(config)
    assert clone.get_config() == config
    assert config["lam_range"] == [0.1, 0.9] and config["seed"] == 11


def _model():
    inputs = keras.Input((8, 8, 3))
    x = SamplePairing(seed=5)(inputs)
    x = keras.layers.Rescaling(1 / 255.0)(x)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(4)(x))


def test_in_a_model_it_acts_only_in_training(images):
    model = _model()
    layer = model.layers[1]
    np.testing.assert_array_equal(layer(images, training=False), images)
    assert not np.array_equal(layer(images, training=True), images)
    # predict and a plain call are inference: the identity, so deterministic.
    np.testing.assert_allclose(model.predict(images, verbose=0), model(images), rtol=1e-5)
    np.testing.assert_array_equal(model(images), model(images))


def test_fit_with_jit_compile(images):
    model = _model()
    model.compile(
        "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True
    )
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(images, LABELS, batch_size=3, epochs=2, verbose=0)  # partial batch
    assert np.all(np.isfinite(history.history["loss"]))
    assert any(
        not np.array_equal(b, w) for b, w in zip(before, model.trainable_weights, strict=True)
    )


def test_keras_file_round_trip_with_safe_mode(tmp_path, images):
    model = _model()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.layers[1], SamplePairing)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-6
    )


def test_xla_compiles_and_traces_no_forbidden_op(images, assert_xla_safe):
    layer = SamplePairing(lam="beta", pairing="sample", label_mode="mix", num_classes=4, seed=1)
    fn = tf.function(lambda x, y: layer((x, y)), jit_compile=True)
    out, labels = fn(images, LABELS)
    assert out.shape == images.shape and labels.shape == (8, 4)
    assert_xla_safe(fn.get_concrete_function(images, LABELS))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"rate": 1.5}, ValueError, "rate"),
        ({"rate": -0.1}, ValueError, "rate"),
        ({"lam": 1.2}, ValueError, "lam"),
        ({"lam": "uniform"}, ValueError, "lam"),
        ({"label_mode": "both"}, ValueError, "label_mode"),
        ({"rate": "half"}, TypeError, "rate"),
        ({"lam_range": (0.8, 0.2)}, ValueError, "lam_range"),
    ],
)
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        SamplePairing(**kwargs)
    with pytest.raises(error, match=match):
        samplepairing_map(**kwargs)


def test_bad_inputs(images):
    layer = SamplePairing(seed=0)
    with pytest.raises(ValueError, match="unbatched"):
        layer(images[0])
    with pytest.raises(ValueError, match="same batch size"):
        layer((images, LABELS[:5]))
    with pytest.raises(ValueError, match="num_classes"):
        SamplePairing(label_mode="mix")((images, LABELS))
    with pytest.raises(TypeError, match="images"):
        layer(tf.constant([["a"]]))
    with pytest.raises(TypeError, match="images"):
        layer(np.zeros((2, 4, 4, 3), bool))


# A batch of one, unpaired rows, sample weights, shapes, option names, compile modes.

BOXES_ONE = {
    "boxes": np.array([[[0, 0, 2, 2], [-1, -1, -1, -1]]], "float32"),
    "labels": np.array([[1, -1]], "int32"),
}


@pytest.mark.parametrize("lam", [0.5, "beta"])
def test_a_batch_of_one_is_returned_unchanged_with_its_boxes_once(lam):
    image = np.random.default_rng(0).uniform(0, 255, (1, 4, 4, 3)).astype("float32")
    layer = SamplePairing(lam=lam, label_mode="mix", num_classes=3, seed=1)
    out = layer({"images": image, "labels": np.array([2]), "bounding_boxes": BOXES_ONE})
    np.testing.assert_array_equal(out["images"], image)  # bit-exact, whatever λ
    np.testing.assert_array_equal(out["labels"], [[0.0, 0.0, 1.0]])
    boxes = out["bounding_boxes"]
    np.testing.assert_array_equal(boxes["labels"], [[1, -1, -1, -1]])  # own boxes, once
    np.testing.assert_array_equal(boxes["box_weights"], [[1.0, 0.0, 0.0, 0.0]])
    pairing = layer.get_random_transformation(image)
    assert pairing.paired.numpy().tolist() == [False]
    assert pairing.partners.numpy().tolist() == [0]


def test_a_final_partial_batch_of_one_is_unchanged_in_tf_data(constant_images):
    # 9 images in batches of 4: the last batch has one image and a dynamic size.
    images = np.concatenate([constant_images, constant_images[:1]])
    ds = tf.data.Dataset.from_tensor_slices(images).batch(4)
    assert ds.element_spec.shape[0] is None
    batches = list(ds.map(samplepairing_map(lam="beta", seed=0)))
    assert [len(b) for b in batches] == [4, 4, 1]
    np.testing.assert_array_equal(batches[-1], images[-1:])
    assert not np.array_equal(batches[0], images[:4])


def test_rows_without_an_allowed_partner_are_left_unpaired(constant_images):
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 3])  # class 3 has one member
    layer = SamplePairing(class_constraint="same", label_mode="mix", num_classes=4, seed=0)
    images, mixed = layer((constant_images, labels))
    np.testing.assert_array_equal(images[7], constant_images[7])
    np.testing.assert_array_equal(mixed[7], [0.0, 0.0, 0.0, 1.0])
    partners = _partners_from_constant_mix(images)[:7]
    assert np.all(labels[partners] == labels[:7]) and np.all(partners != np.arange(7))
    pairing = layer.get_random_transformation((constant_images, labels))
    assert pairing.paired.numpy().tolist() == [True] * 7 + [False]


@pytest.mark.parametrize("label_mode", ["first", "mix"])
def test_sample_weights_follow_the_labels(constant_images, label_mode):
    weights = np.arange(1, 9, dtype="float32")
    layer = SamplePairing(label_mode=label_mode, num_classes=4, seed=3)
    images, labels, out_weights = layer((constant_images, LABELS, weights))
    partners = _partners_from_constant_mix(images)
    if label_mode == "first":
        np.testing.assert_array_equal(out_weights, weights)
    else:
        np.testing.assert_allclose(out_weights, 0.5 * weights + 0.5 * weights[partners])
    ds = tf.data.Dataset.from_tensor_slices((constant_images, LABELS, weights)).batch(8)
    element = next(iter(ds.map(samplepairing_map(label_mode=label_mode, num_classes=4, seed=0))))
    assert len(element) == 3 and element[2].shape == (8,)


def test_compute_output_shape_and_time_distributed():
    layer = SamplePairing(label_mode="mix", num_classes=5, seed=0)  # asked as in a model
    assert layer.compute_output_shape((None, 8, 8, 3)) == (None, 8, 8, 3)
    shapes = layer.compute_output_shape({"images": (None, 8, 8, 3), "labels": (None,)})
    assert shapes == {"images": (None, 8, 8, 3), "labels": (None, 5)}
    frames = np.random.default_rng(0).uniform(0, 255, (2, 3, 4, 4, 1)).astype("float32")
    inputs = keras.Input((3, 4, 4, 1))
    model = keras.Model(inputs, keras.layers.TimeDistributed(SamplePairing(seed=0))(inputs))
    assert model.output_shape == (None, 3, 4, 4, 1)
    np.testing.assert_array_equal(model(frames), frames)  # inference: the identity
    np.testing.assert_array_equal(model.predict(frames, verbose=0), frames)
    assert not np.array_equal(model(frames, training=True), frames)


@pytest.mark.parametrize("make", [SamplePairing, samplepairing_map], ids=["layer", "map"])
def test_unknown_options_are_named_with_the_closest_valid_one(make):
    with pytest.raises(TypeError, match=r"unknown option 'lamda'\. Did you mean 'lam'\?"):
        make(lamda=0.3)
    with pytest.raises(TypeError, match=r"'num_class'\. Did you mean 'num_classes'\?"):
        make(num_class=3)
    with pytest.raises(TypeError, match="unknown option 'colour'"):
        make(colour="red")


@pytest.mark.parametrize(
    "options",
    [{}, {"lam": "beta", "alpha": 0.4}, {"pairing": "sample", "lam": "beta", "rate": 0.5}],
)
def test_the_same_seed_pairs_alike_with_and_without_xla(options):
    images = np.random.default_rng(4).uniform(0, 255, (16, 8, 8, 3)).astype("float32")
    labels = np.arange(16) % 4
    compiled = SamplePairing(seed=3, jit_compile=True, label_mode="mix", num_classes=4, **options)
    eager = SamplePairing(seed=3, jit_compile=False, label_mode="mix", num_classes=4, **options)
    for _ in range(3):  # successive calls advance both seed streams alike
        (a, la), (b, lb) = compiled((images, labels)), eager((images, labels))
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-3)  # an ulp, never a partner
        np.testing.assert_allclose(la, lb, rtol=1e-6, atol=1e-6)
    seed = tf.constant([5, 6], tf.int64)
    first = compiled.get_random_transformation((images, labels), seed=seed)
    second = eager.get_random_transformation((images, labels), seed=seed)
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(x, y)  # partners and λ, bit for bit


def test_every_option_is_in_the_signature_the_docstring_and_the_config():
    import dataclasses
    import inspect
    import re

    from keras_samplepairing.ops.options import PairingOptions

    signature = inspect.signature(SamplePairing.__init__).parameters
    config = SamplePairing(seed=0).get_config()
    args = SamplePairing.__doc__.split("    Args:\n", 1)[1]
    entries = dict(
        re.findall(r"\n {8}(\w+): (.*?)(?=\n {8}\w+: |\n\n|\n {8}\*\*)", "\n" + args, re.S)
    )
    for field in dataclasses.fields(PairingOptions):
        name = field.name
        assert name in signature and name in config, name
        # The docstring says what the option table says, word for word.
        assert " ".join(entries[name].split()) == " ".join(field.metadata["doc"].split()), name
        assert signature[name].default == field.default, name
        assert signature[name].annotation == field.type, name
    assert SamplePairing.from_config(config).get_config() == config


# Hold-up round two: defects found by an outside audit, each pinned here.


def test_smoothed_binary_targets_of_shape_b_1_use_the_binary_rule(images):
    # Keras's binary cross-entropy smooths a (B, 1) target as 1 - ε/2 and ε/2,
    # as for (B,): K = 2 classes, not one column read as K = 1.
    targets = np.array([[1.0], [0.0], [1.0], [0.0]], "float32")
    layer = SamplePairing(seed=0, label_smoothing=0.1)
    _, smoothed = layer((images[:4], targets))
    np.testing.assert_allclose(smoothed.numpy(), [[0.95], [0.05], [0.95], [0.05]], rtol=1e-6)
    _, flat = layer((images[:4], targets[:, 0]))
    np.testing.assert_allclose(flat.numpy(), [0.95, 0.05, 0.95, 0.05], rtol=1e-6)


def test_eager_calls_of_one_signature_trace_once(images):
    # A layer's transform reached the eager graph call as a new bound method
    # each call, and a plain script's calls retraced every time (about 200 ms
    # instead of 1 ms; pytest's object lifetimes happened to hide the count,
    # so this reads the engine's functions rather than counting traces).
    layer, mapped = SamplePairing(seed=0), samplepairing_map(seed=0)
    outputs = [(layer(images, training=True), mapped(images)) for _ in range(4)]
    for owner in (layer, mapped):
        (function,) = owner._engine._eager_functions.values()
        assert (
            function.experimental_get_tracing_count() <= 2
        )  # a variable's first read may retrace once
    assert not np.array_equal(outputs[0][0], outputs[1][0])  # still a new pairing each call


def test_one_layer_called_eagerly_with_other_label_ranks_and_image_sizes(images):
    layer = SamplePairing(seed=0, label_mode="mix", num_classes=4)
    _, column = layer((images, LABELS[:, None]))
    _, flat = layer((images, LABELS))
    assert column.shape == flat.shape == (8, 4)
    similar = SamplePairing(seed=0, pairing="most_similar")
    assert similar(images).shape == (8, 8, 8, 3)
    larger = np.repeat(np.repeat(images, 2, axis=1), 2, axis=2)
    assert similar(larger).shape == (8, 16, 16, 3)


def test_the_output_spec_keeps_the_images_dtype():
    layer = SamplePairing(seed=0)
    spec = layer.compute_output_spec(keras.KerasTensor((4, 8, 8, 3), dtype="uint8"))
    assert spec.dtype == "uint8"
    inputs = keras.Input((8, 8, 3), dtype="uint8")
    model = keras.Model(inputs, SamplePairing(seed=0)(inputs))
    assert model.outputs[0].dtype == "uint8"
    out = model(np.zeros((2, 8, 8, 3), "uint8"), training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "uint8"


def test_whole_number_float_labels_without_num_classes_warn_once(images):
    # Float class ids averaged into 5.5 would be a silent mistake; regression
    # targets (not whole numbers) are still mixed as scalars, without a word.
    layer = SamplePairing(seed=0, label_mode="mix")
    with pytest.warns(UserWarning, match="num_classes"):
        layer((images, LABELS.astype("float32")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer((images, LABELS.astype("float32")))  # once per layer
        SamplePairing(seed=0, label_mode="mix")((images, np.linspace(0, 1, 8, dtype="float32")))
        SamplePairing(seed=0, label_mode="mix", num_classes=4)((images, LABELS.astype("float32")))


def test_call_is_get_random_transformation_then_the_transforms(images):
    # As Keras's base layer: one draw, applied to each target.
    labels = LABELS.astype("int64")
    weights = np.linspace(0.5, 1.0, 8).astype("float32")
    options = dict(lam="beta", label_mode="mix", num_classes=4, rate=0.75)
    called = SamplePairing(seed=5, **options)((images, labels, weights))
    layer = SamplePairing(seed=5, **options)
    transformation = layer.get_random_transformation((images, labels, weights))
    expected = (
        layer.transform_images(images, transformation),
        layer.transform_labels(labels, transformation),
        layer.transform_sample_weights(weights, transformation),
    )
    for got, want in zip(called, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert layer.get_random_transformation(images, training=False) is None
