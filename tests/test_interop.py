"""SamplePairing next to Keras's and KerasCV's augmentation layers, mixed
precision, channels-first images and label smoothing."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import SamplePairing, samplepairing_map
from tests.helpers import constant_images, partners_of

B = 16
# Image i: 2i on its left half, 2i + 100 on its right half.
HALVES = np.zeros((B, 8, 8, 3), "float32")
HALVES[:, :, :4] = 2.0 * np.arange(B)[:, None, None, None]
HALVES[:, :, 4:] = 2.0 * np.arange(B)[:, None, None, None] + 100.0
LABELS = np.arange(B) % 4


def _check_flip_pair_erase(images, erased=True):
    """Flip, then 0.5-pairing, then (optionally) erasing all took effect."""
    images = np.asarray(images)
    left, right = images[:, 2, 1, 0], images[:, 2, 6, 0]  # rows/cols rarely erased
    left_half, right_half = images[:, :, :4, 0], images[:, :, 4:, 0]
    # Pairing: left + right = 2i + 2p + 100 differs from the unpaired 4i + 100.
    assert np.mean(np.abs((left + right) - (4.0 * np.arange(B) + 100.0)) > 1e-3) > 0.5
    # Flip before pairing: a difference of 0 or +100 needs a flipped image.
    assert np.any(np.abs((left - right) + 100.0) > 1e-3)
    # Erasing after pairing: some pixels leave their half's constant value.
    off = np.any(left_half != left_half[:, :1, :1], axis=(1, 2)) | np.any(
        right_half != right_half[:, :1, :1], axis=(1, 2)
    )
    assert off.any() == erased


def test_keras_layers_around_the_map_in_tf_data_dict_and_tuple():
    flip = keras.layers.RandomFlip("horizontal", seed=1)
    erase = keras.layers.RandomErasing(factor=1.0, scale=(0.05, 0.1), seed=2)
    pair = samplepairing_map(seed=0, label_mode="mix", num_classes=4)
    tuples = (
        tf.data.Dataset.from_tensor_slices((HALVES, LABELS))
        .batch(B)
        .map(lambda x, y: (flip(x), y))
        .map(pair)
        .map(lambda x, y: (erase(x), y))
    )
    images, labels = next(iter(tuples))
    assert images.shape == HALVES.shape and images.dtype == tf.float32
    np.testing.assert_allclose(np.sum(labels, axis=1), 1.0, rtol=1e-6)
    _check_flip_pair_erase(images)
    dicts = (
        tf.data.Dataset.from_tensor_slices({"images": HALVES, "labels": LABELS})
        .batch(B)
        .map(flip)
        .map(pair)
        .map(erase)
    )
    element = next(iter(dicts))
    assert set(element) == {"images", "labels"} and element["labels"].shape == (B, 4)
    _check_flip_pair_erase(element["images"])


def test_inside_a_model_with_keras_pipeline_and_rand_augment():
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Pipeline([keras.layers.RandomFlip("horizontal", seed=1)]),
            SamplePairing(seed=0),
            keras.layers.RandomErasing(factor=1.0, scale=(0.05, 0.1), seed=2),
        ]
    )
    _check_flip_pair_erase(model(HALVES, training=True))
    np.testing.assert_array_equal(model(HALVES, training=False), HALVES)
    rand_augment = keras.layers.RandAugment(value_range=(0, 255), seed=3)
    out = SamplePairing(seed=0)(rand_augment(HALVES, training=True))
    assert out.shape == HALVES.shape and np.all(np.isfinite(out))


def test_keras_cv_cutout_and_gridmask_after_pairing():
    keras_cv = pytest.importorskip("keras_cv")
    mixed = SamplePairing(seed=0)({"images": HALVES, "labels": LABELS})
    for layer in (
        keras_cv.layers.RandomCutout(0.3, 0.3, fill_value=255.0, seed=1),
        keras_cv.layers.GridMask(fill_value=255.0, seed=1),
    ):
        out = layer(mixed, training=True)
        assert set(out) >= {"images", "labels"} and out["images"].shape == HALVES.shape
        assert np.any(np.asarray(out["images"]) == 255.0)  # the mask took effect
        np.testing.assert_array_equal(out["labels"], LABELS)


def test_keras_cv_dicts_round_trip():
    pytest.importorskip("keras_cv")
    boxes = np.array([[[0, 0, 2, 2]]] * B, "float32")
    batch = {"images": HALVES, "bounding_boxes": {"boxes": boxes, "classes": LABELS[:, None]}}
    out = SamplePairing(seed=0)(batch)
    assert set(out["bounding_boxes"]) == {"boxes", "classes", "box_weights"}
    assert out["bounding_boxes"]["classes"].shape == (B, 2)


@pytest.fixture
def policy():
    def set_policy(name):
        keras.mixed_precision.set_global_policy(name)

    yield set_policy
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize(
    "name, dtype", [("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")]
)
def test_mixed_precision(policy, name, dtype):
    policy(name)
    layer = SamplePairing(lam="beta", label_mode="mix", num_classes=4, seed=0)
    images, labels = layer((HALVES, LABELS))
    assert images.dtype == dtype
    assert np.all(np.isfinite(np.asarray(images, "float32")))
    lo, hi = HALVES.min(), HALVES.max()
    assert np.all((np.asarray(images, "float32") >= lo) & (np.asarray(images, "float32") <= hi))
    np.testing.assert_allclose(np.sum(np.asarray(labels, "float32"), axis=1), 1.0, atol=1e-2)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            SamplePairing(seed=0),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(4),
        ]
    )
    model.compile(
        "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True
    )
    history = model.fit(HALVES, LABELS, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"lam": "beta", "mixing": "channel"},
        {"lam": "beta", "mixing": "spatial", "grid_size": 2},
        {"pairing": "most_similar", "lam": "similarity"},
    ],
)
def test_channels_first_matches_channels_last(options):
    images = np.random.default_rng(0).uniform(0, 255, (6, 8, 8, 3)).astype("float32")
    masks = np.random.default_rng(1).integers(0, 3, (6, 8, 8, 1))
    last = SamplePairing(seed=5, label_mode="mix", num_classes=3, **options)(
        {"images": images, "segmentation_masks": masks}
    )
    first = SamplePairing(
        seed=5, label_mode="mix", num_classes=3, data_format="channels_first", **options
    )(
        {
            "images": np.transpose(images, [0, 3, 1, 2]),
            "segmentation_masks": np.transpose(masks, [0, 3, 1, 2]),
        }
    )
    for key in ("images", "segmentation_masks"):
        np.testing.assert_allclose(
            np.transpose(first[key], [0, 2, 3, 1]), last[key], rtol=1e-5, atol=1e-4
        )


def test_label_smoothing_is_applied_once():
    images = constant_images(4, size=(2, 2), channels=1)
    labels = np.array([0, 1, 2, 3])
    mixed = SamplePairing(label_mode="mix", num_classes=4, label_smoothing=0.1, seed=0)
    out, smoothed = mixed((images, labels))
    partners = partners_of(out)
    one_hot = np.eye(4)[labels]
    expected = (0.5 * one_hot + 0.5 * one_hot[partners]) * 0.9 + 0.1 / 4
    np.testing.assert_allclose(smoothed, expected, rtol=1e-6)
    _, first = SamplePairing(num_classes=4, label_smoothing=0.2, seed=0)((images, labels))
    np.testing.assert_allclose(first, one_hot * 0.8 + 0.05, rtol=1e-6)
    with pytest.raises(ValueError, match="label_smoothing"):
        SamplePairing(label_smoothing=1.0)
    with pytest.raises(ValueError, match="num_classes"):
        SamplePairing(label_smoothing=0.1)((images, labels))


KERAS_LAYERS = {
    "RandomFlip": lambda: keras.layers.RandomFlip("horizontal", seed=1),
    "RandomCrop": lambda: keras.layers.RandomCrop(6, 6, seed=1),
    "RandomErasing": lambda: keras.layers.RandomErasing(factor=1.0, scale=(0.1, 0.2), seed=1),
    "RandAugment": lambda: keras.layers.RandAugment(value_range=(0, 255), seed=1),
    "Pipeline": lambda: keras.layers.Pipeline(
        [keras.layers.RandomFlip("horizontal", seed=1), keras.layers.RandomCrop(6, 6, seed=1)]
    ),
}
RANDOM_IMAGES = np.random.default_rng(3).uniform(0, 255, (B, 8, 8, 3)).astype("float32")


@pytest.mark.parametrize("form", ["tuple", "dict"])
@pytest.mark.parametrize("name", list(KERAS_LAYERS))
def test_each_keras_layer_composes_in_tf_data(name, form):
    def run(use_keras, use_pairing):
        keras_layer, pair = KERAS_LAYERS[name](), samplepairing_map(seed=0)
        ds = tf.data.Dataset.from_tensor_slices({"images": RANDOM_IMAGES, "labels": LABELS})
        ds = ds.batch(B)
        if form == "tuple":
            ds = ds.map(lambda e: (e["images"], e["labels"]))
        if use_keras:
            ds = ds.map(keras_layer if form == "dict" else lambda x, y: (keras_layer(x), y))
        if use_pairing:
            ds = ds.map(pair)
        element = next(iter(ds))
        return element["images"] if form == "dict" else element[0]

    both, keras_only, pairing_only = run(True, True), run(True, False), run(False, True)
    assert both.shape == keras_only.shape and both.dtype == tf.float32
    assert not np.allclose(both, keras_only)  # pairing took effect
    if both.shape == pairing_only.shape:
        assert not np.allclose(both, pairing_only)  # the Keras layer took effect
    else:
        assert both.shape[1:3] == (6, 6)  # cropped: the Keras layer took effect


def test_a_layer_casts_float_images_as_keras_layers_do_unless_told_not_to():
    images = tf.cast(HALVES, "float16")
    assert SamplePairing(seed=0)(images).dtype == "float32"  # the compute dtype
    kept = SamplePairing(seed=0, autocast=False)(images)
    assert kept.dtype == "float16"
    np.testing.assert_array_equal(
        np.asarray(kept, "float32"), np.asarray(SamplePairing(seed=0)(images), "float32")
    )
