import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing.ops import (
    lambda_from_similarity,
    mix,
    mix_labels,
    sample_lambda,
    sample_pairing,
)
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.partners import random_partners
from keras_samplepairing.ops.random import split_seed

PARTNERS = tf.constant([2, 0, 3, 1])


def test_mix_with_a_known_permutation_is_exact():
    x = np.random.default_rng(2).uniform(0, 255, (4, 3, 3, 2)).astype("float32")
    w = tf.fill([4, 1, 1, 1], 0.5)
    out = mix(tf.constant(x), tf.gather(x, PARTNERS), w, tf.constant([True] * 4)).numpy()
    np.testing.assert_array_equal(out, 0.5 * x + 0.5 * x[[2, 0, 3, 1]])


def test_unpaired_rows_are_bit_exact_even_with_inf():
    x = tf.constant([[np.inf, 1.0], [2.0, np.nan], [3.0, 4.0]])
    partner = tf.gather(x, [1, 2, 0])
    out = mix(x, partner, tf.fill([3, 1], 0.5), tf.constant([False, False, True]))
    np.testing.assert_array_equal(out[:2], x[:2])


def test_uint8_mix_rounds_and_keeps_dtype():
    x = tf.constant([[0, 255], [1, 2]], tf.uint8)
    out = mix(x, tf.gather(x, [1, 0]), tf.fill([2, 1], 0.5), tf.constant([True, True]))
    assert out.dtype == tf.uint8
    np.testing.assert_array_equal(out, [[0, 128], [0, 128]])  # round half to even


def test_mix_labels_first_and_mix():
    labels = tf.constant([0, 1, 2, 1])
    paired = tf.constant([True, True, True, False])
    w = tf.constant([0.5, 0.25, 0.5, 0.5])
    partner = tf.gather(labels, PARTNERS)
    assert mix_labels(labels, partner, w, paired, "first") is labels
    mixed = mix_labels(labels, partner, w, paired, "mix", num_classes=3).numpy()
    np.testing.assert_allclose(mixed, [[0.5, 0, 0.5], [0.75, 0.25, 0], [0, 0.5, 0.5], [0, 1, 0]])
    with pytest.raises(ValueError, match="num_classes"):
        mix_labels(labels, partner, w, paired, "mix")


@pytest.mark.parametrize("lam", [0.3, "beta", "similarity"])
def test_lambda_stays_in_range(lam):
    values = sample_lambda(
        lam, tf.constant([1, 1]), [500], 0.5, tf.linspace(0.0, 1.0, 500), (0.2, 0.7)
    ).numpy()
    assert values.min() >= 0.2 and values.max() <= 0.7


def test_lambda_from_similarity_is_monotone_and_anchored():
    s = tf.linspace(0.0, 1.0, 11)
    lam = lambda_from_similarity(s).numpy()
    assert lam[0] == 1.0 and lam[-1] == 0.5
    assert np.all(np.diff(lam) < 0)


def test_pipeline_matches_its_parts(constant_images):
    seed = tf.constant([5, 6], tf.int64)
    labels = tf.constant(np.arange(8) % 4)
    options = PairingOptions(label_mode="mix", num_classes=4)
    out, info = sample_pairing({"images": constant_images, "labels": labels}, seed, options)
    expected_partners = random_partners(split_seed(seed, 2)[0], 8).numpy()
    partners = info["partners"].numpy()
    assert partners.tolist() == expected_partners.tolist()
    values = out["images"].numpy()[:, 0, 0, 0]
    np.testing.assert_array_equal(values, 5.0 * np.arange(8) + 5.0 * partners)
    one_hot = np.eye(4)[np.arange(8) % 4]
    np.testing.assert_allclose(out["labels"], 0.5 * one_hot + 0.5 * one_hot[partners])


def test_float_index_labels_and_scalar_targets():
    paired = tf.constant([True] * 4)
    w = tf.constant([0.5, 0.5, 0.75, 0.5])

    # Keras's augmentation layers hand integer labels on as float32 in tf.data.
    def partner(labels):
        return tf.gather(labels, PARTNERS)

    as_float = tf.constant([0.0, 1.0, 2.0, 1.0])
    as_float = mix_labels(as_float, partner(as_float), w, paired, "mix", 3)
    as_int = tf.constant([0, 1, 2, 1])
    as_int = mix_labels(as_int, partner(as_int), w, paired, "mix", 3)
    np.testing.assert_array_equal(as_float, as_int)
    # Without num_classes, (B,) float labels are scalar targets, mixed as scalars.
    binary = tf.constant([1.0, 0.0, 1.0, 0.0])
    binary = mix_labels(binary, partner(binary), w, paired, "mix")
    np.testing.assert_allclose(binary, [1.0, 0.5, 0.75, 0.0])  # partners 2, 0, 3, 1
