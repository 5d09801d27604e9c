"""Partners from the whole training set, as the paper draws them."""

import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import pair_with_dataset, samplepairing_map

N = 200
# Image i is the constant i: a 0.5 mix of i and p holds (i + p) / 2.
IMAGES = np.arange(N, dtype="float32")[:, None, None, None] * np.ones((1, 2, 2, 1), "float32")
DATASET = tf.data.Dataset.from_tensor_slices((IMAGES, np.arange(N) % 10))


def _partners(dataset):
    values = np.array([x.numpy()[0, 0, 0] for x, _ in dataset])
    return np.rint(2 * values - np.arange(len(values))).astype(int)


def test_partners_come_from_across_the_whole_dataset():
    partners = _partners(pair_with_dataset(DATASET, seed=0))
    distance = np.abs(partners - np.arange(N))
    # Uniform partners are on average N/3 away; a small buffer keeps them near.
    assert abs(distance.mean() - N / 3) < 12
    assert distance.max() > 0.8 * N
    assert len(np.unique(partners)) > 0.5 * N  # about 1 - 1/e of all images


def test_labels_follow_the_layer_rules():
    out = pair_with_dataset(DATASET, seed=1, label_mode="mix", num_classes=10)
    for _, y in out.take(5):
        assert y.shape == (10,)
        np.testing.assert_allclose(np.sum(y), 1.0)
    assert next(iter(pair_with_dataset(DATASET, seed=1)))[1].dtype == tf.int64  # first


def test_both_images_are_augmented_independently():
    shifted = pair_with_dataset(DATASET, seed=0, augment=lambda x, y: (x + 1000.0, y))
    partners = _partners(pair_with_dataset(DATASET, seed=0))
    values = np.array([x.numpy()[0, 0, 0] for x, _ in shifted.take(5)])
    # Both halves shifted: (i + 1000 + p + 1000) / 2.
    np.testing.assert_allclose(values, (np.arange(5) + partners[:5]) / 2 + 1000.0)
    noise = pair_with_dataset(
        DATASET, seed=0, augment=lambda x, y: (x + tf.random.uniform([], 0, 0.25), y)
    )
    base = _partners(pair_with_dataset(DATASET, seed=0))
    values = np.array([x.numpy()[0, 0, 0] for x, _ in noise.take(50)])
    offsets = values - (np.arange(50) + base[:50]) / 2  # mean of two independent draws
    assert np.all((offsets >= 0) & (offsets <= 0.25)) and np.std(offsets) > 0.01


def test_deterministic_with_a_seed_and_dicts_work():
    a = _partners(pair_with_dataset(DATASET, seed=5))
    b = _partners(pair_with_dataset(DATASET, seed=5))
    np.testing.assert_array_equal(a, b)
    as_dict = DATASET.map(lambda x, y: {"images": x, "labels": y})
    element = next(iter(pair_with_dataset(as_dict, samplepairing_map(seed=0))))
    assert set(element) == {"images", "labels"} and element["images"].shape == (2, 2, 1)


def test_bad_inputs():
    with pytest.raises(ValueError, match="unbatched"):
        pair_with_dataset(DATASET.batch(4))
    with pytest.raises(ValueError, match="not both"):
        pair_with_dataset(DATASET, samplepairing_map(seed=0), lam="beta")
    with pytest.raises(ValueError, match="shuffle_buffer"):
        pair_with_dataset(DATASET, shuffle_buffer=0)


@pytest.mark.parametrize(
    "options",
    [{"class_constraint": "same"}, {"pairing": "most_similar"}, {"lam": "similarity"}],
)
def test_options_it_cannot_honour_raise(options):
    with pytest.raises(ValueError, match="cannot honour"):
        pair_with_dataset(DATASET, seed=0, **options)
