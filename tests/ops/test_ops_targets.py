"""How labels are read: by their shape, not their dtype."""

import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import SamplePairing, samplepairing_map
from keras_samplepairing.ops.targets import class_ids, is_class_index, one_class_per_row
from tests.helpers import constant_images, partners_of

IMAGES = constant_images(4, size=(2, 2), channels=1)
INDICES = np.array([0, 2, 1, 2])
ONE_HOT = np.eye(3, dtype="int32")[INDICES]  # integer one-hot: still one-hot


def _partners(images):
    return partners_of(images)


@pytest.mark.parametrize(
    "labels, num_classes, expected",
    [
        (np.array([0, 1]), None, True),  # integer (B,): indices
        (np.array([[0], [1]]), None, True),  # integer (B, 1): indices, as sparse losses take
        (np.eye(3, dtype="int32")[:2], None, False),  # integer (B, K): one-hot
        (np.eye(3, dtype="uint8")[:2], 3, False),
        (np.array([0.0, 1.0]), 3, True),  # float (B,) with num_classes: indices
        (np.array([0.0, 1.0]), None, False),  # float (B,) without: scalar targets
        (np.eye(3, dtype="float32")[:2], 3, False),
    ],
)
def test_shape_decides_not_dtype(labels, num_classes, expected):
    assert is_class_index(tf.constant(labels), num_classes) is expected


def test_integer_one_hot_labels_smooth_mix_and_constrain():
    smoothed = SamplePairing(label_smoothing=0.1, num_classes=3, seed=0)((IMAGES, ONE_HOT))[1]
    assert smoothed.shape == (4, 3)
    np.testing.assert_allclose(smoothed, ONE_HOT * 0.9 + 0.1 / 3, rtol=1e-6)
    images, mixed = SamplePairing(label_mode="mix", seed=0)((IMAGES, ONE_HOT))
    partners = _partners(images)
    np.testing.assert_allclose(mixed, 0.5 * ONE_HOT + 0.5 * ONE_HOT[partners], rtol=1e-6)
    images, labels = SamplePairing(class_constraint="different", seed=0)((IMAGES, ONE_HOT))
    assert np.all(INDICES[_partners(images)] != INDICES)
    np.testing.assert_array_equal(labels, ONE_HOT)  # "first": as given, dtype too
    assert labels.dtype == tf.int32


def test_index_labels_of_shape_b_1_are_one_hot_encoded():
    _, mixed = SamplePairing(label_mode="mix", num_classes=3, seed=0)((IMAGES, INDICES[:, None]))
    assert mixed.shape == (4, 3)
    np.testing.assert_allclose(np.sum(mixed, axis=1), 1.0)
    np.testing.assert_array_equal(class_ids(tf.constant(INDICES[:, None])), INDICES)


def test_multi_hot_labels_cannot_drive_a_class_constraint():
    multi = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]], "float32")
    assert one_class_per_row(tf.constant(multi)).numpy().tolist() == [False, True, True, True]
    with pytest.raises(ValueError, match="multi-hot"):
        SamplePairing(class_constraint="same", seed=0)((IMAGES, multi))
    ds = tf.data.Dataset.from_tensors((IMAGES, multi)).map(
        samplepairing_map(class_constraint="same", seed=0)
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="multi-hot"):
        next(iter(ds))
    # Without a class constraint, multi-hot labels mix as they are.
    _, mixed = SamplePairing(label_mode="mix", seed=0)((IMAGES, multi))
    assert mixed.shape == (4, 3)
