"""Bad inputs get clear errors naming the argument, from the layer and the map
function alike; degenerate but valid inputs give finite outputs."""

import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import SamplePairing, samplepairing_map

IMAGES = np.random.default_rng(0).uniform(0, 255, (4, 6, 6, 3)).astype("float32")
LABELS = np.array([0, 1, 2, 1])


def _layer(**options):
    layer = SamplePairing(seed=0, **options)
    return lambda *element: layer(element[0] if len(element) == 1 else element)


def _map(**options):
    fn = samplepairing_map(seed=0, **options)
    return lambda *element: fn(*element)


CALLERS = [_layer, _map]

BAD_ELEMENTS = [
    # (name, element, options, error, message fragment)
    ("rank 5 images", (np.zeros((2, 2, 4, 4, 3), "float32"),), {}, ValueError, "4-D batch"),
    ("unbatched image", (IMAGES[0],), {}, ValueError, "unbatched"),
    ("rank 2 images", (np.zeros((4, 3), "float32"),), {}, ValueError, "4-D batch"),
    ("batch sizes differ", (IMAGES, LABELS[:3]), {}, ValueError, "same batch size"),
    ("string images", (np.array([[[["a"]]]]),), {}, TypeError, "numeric dtype"),
    ("bool images", (np.zeros((2, 4, 4, 3), bool),), {}, TypeError, "numeric dtype"),
    ("complex images", (np.zeros((2, 4, 4, 3), np.complex64),), {}, TypeError, "numeric dtype"),
    ("zero-size images", (np.zeros((2, 0, 4, 3), "float32"),), {}, ValueError, "empty"),
    ("labels of rank 3", (IMAGES, np.zeros((4, 2, 2))), {}, ValueError, "labels"),
    ("string labels", (IMAGES, np.array(["a", "b", "c", "d"])), {}, TypeError, "labels"),
    (
        "sparse labels out of range",
        (IMAGES, np.array([0, 1, 7, 1])),
        {"label_mode": "mix", "num_classes": 3},
        (ValueError, tf.errors.InvalidArgumentError),
        "class indices in",
    ),
    (
        "negative sparse labels",
        (IMAGES, np.array([0, -1, 2, 1])),
        {"label_mode": "mix", "num_classes": 3},
        (ValueError, tf.errors.InvalidArgumentError),
        "class indices in",
    ),
    ("mix without num_classes", (IMAGES, LABELS), {"label_mode": "mix"}, ValueError, "num_classes"),
    ("wrong dict keys", ({"pixels": IMAGES},), {}, ValueError, "'images'"),
    ("4-tuple", (IMAGES, LABELS, LABELS, LABELS), {}, ValueError, "images, labels"),
    (
        "ragged images",
        (tf.ragged.constant([[[[1.0]]], [[[1.0]], [[2.0]]]], ragged_rank=2),),
        {},
        TypeError,
        "RaggedTensor",
    ),
    (
        "class constraint without labels",
        (IMAGES,),
        {"class_constraint": "same"},
        ValueError,
        "needs labels",
    ),
]


@pytest.mark.parametrize("make", CALLERS, ids=["layer", "map"])
@pytest.mark.parametrize(
    "name, element, options, error, fragment", BAD_ELEMENTS, ids=[b[0] for b in BAD_ELEMENTS]
)
def test_bad_elements(make, name, element, options, error, fragment):
    call = make(**options)
    with pytest.raises(error, match=fragment):
        call(*element)


BAD_OPTIONS = [
    ({"rate": -0.5}, ValueError, "rate"),
    ({"rate": 1.5}, ValueError, "rate"),
    ({"rate": True}, TypeError, "rate"),
    ({"lam": -0.1}, ValueError, "lam"),
    ({"lam": "gaussian"}, ValueError, "lam"),
    ({"alpha": 0}, ValueError, "alpha"),
    ({"pairing": "nearest"}, ValueError, "pairing"),
    ({"similarity": "l1"}, ValueError, "similarity"),
    ({"mixing": "cubic"}, ValueError, "mixing"),
    ({"label_mode": "second"}, ValueError, "label_mode"),
    ({"num_classes": 0}, ValueError, "num_classes"),
    ({"temperature": -1.0}, ValueError, "temperature"),
    ({"data_format": "NCHW"}, ValueError, "data_format"),
    ({"value_range": (1, 1)}, ValueError, "value_range"),
    ({"colour": "red"}, (TypeError, ValueError), "colour"),  # Keras: ValueError
]


@pytest.mark.parametrize(
    "options, error, fragment", BAD_OPTIONS, ids=[str(o[0]) for o in BAD_OPTIONS]
)
def test_bad_options_in_layer_and_map(options, error, fragment):
    with pytest.raises(error, match=fragment):
        SamplePairing(**options)
    with pytest.raises(error, match=fragment):
        samplepairing_map(**options)


def test_out_of_range_labels_fail_inside_tf_data_too():
    fn = samplepairing_map(seed=0, label_mode="mix", num_classes=3)
    ds = tf.data.Dataset.from_tensors((IMAGES, np.array([0, 1, 5, 1]))).map(fn)
    with pytest.raises(tf.errors.InvalidArgumentError, match="class indices"):
        next(iter(ds))


@pytest.mark.parametrize("make", CALLERS, ids=["layer", "map"])
def test_nan_and_inf_propagate_without_crashing(make):
    images = np.ones((4, 2, 2, 1), "float32")
    images[0], images[1] = np.nan, np.inf
    out = np.asarray(make(pairing="most_similar", lam="similarity")(images))
    assert out.shape == images.shape
    # Only mixes that use image 0 or 1 are non-finite; the rest stay exact.
    assert np.isnan(out[0]).all() and not np.isfinite(out[1]).all()
    finite_rows = np.isfinite(out).all(axis=(1, 2, 3))
    np.testing.assert_array_equal(out[finite_rows], images[finite_rows])


@pytest.mark.parametrize("make", CALLERS, ids=["layer", "map"])
@pytest.mark.parametrize(
    "images",
    [
        np.zeros((5, 4, 4, 3), "float32"),  # all zero
        np.full((5, 4, 4, 3), 7.0, "float32"),  # constant: similarity ties
        np.ones((1, 4, 4, 3), "float32"),  # batch of one
        np.zeros((0, 4, 4, 3), "float32"),  # empty batch
    ],
    ids=["zeros", "constant", "one", "empty"],
)
def test_degenerate_inputs_give_finite_outputs(make, images):
    for options in (
        {},
        {"pairing": "sample", "similarity": "kl", "lam": "similarity"},
    ):
        labels = np.zeros(len(images), "int32")
        out, mixed = make(label_mode="mix", num_classes=2, **options)(images, labels)
        assert out.shape == images.shape and mixed.shape == (len(images), 2)
        assert np.all(np.isfinite(out)) and np.all(np.isfinite(mixed))
        np.testing.assert_array_equal(out, images)  # every mix of equal images is itself
