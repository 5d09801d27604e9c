import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import samplepairing_map

IMAGES = np.stack([np.full((4, 4, 3), 10.0 * i, "float32") for i in range(10)])
LABELS = np.arange(10) % 3


def _dataset():
    return tf.data.Dataset.from_tensor_slices((IMAGES, LABELS)).batch(4)  # last batch: 2


def test_map_over_a_batched_dataset_tuple_and_dict():
    fn = samplepairing_map(seed=0, label_mode="mix", num_classes=3)
    batches = list(_dataset().map(fn, num_parallel_calls=tf.data.AUTOTUNE))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    for images, labels in batches:
        np.testing.assert_allclose(np.sum(labels, axis=1), 1.0)
        assert images.dtype == tf.float32
    as_dict = _dataset().map(lambda x, y: {"images": x, "labels": y}).map(fn)
    for element in as_dict:
        assert set(element) == {"images", "labels"} and element["labels"].shape[1] == 3


def test_map_is_xla_compiled_by_default():
    fn = samplepairing_map(seed=0)
    assert fn.jit_compile
    images, _ = fn(tf.constant(IMAGES[:4]), tf.constant(LABELS[:4]))
    assert images.shape == (4, 4, 4, 3)
    assert samplepairing_map(seed=0, jit_compile=False)(tf.constant(IMAGES[:4])).shape[0] == 4


def test_enumerated_pipeline_is_deterministic_whatever_the_parallelism():
    def run(parallel):
        fn = samplepairing_map(seed=3)
        ds = _dataset().enumerate().map(fn, num_parallel_calls=parallel, deterministic=True)
        return [x.numpy() for x, _ in ds]

    one, auto = run(1), run(tf.data.AUTOTUNE)
    for a, b in zip(one, auto, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(one[0], IMAGES[:4])


def test_disabled_map_passes_batches_through():
    fn = samplepairing_map(seed=0)
    fn.enabled.assign(False)
    out = np.concatenate([images for images, _ in _dataset().map(fn)])
    np.testing.assert_array_equal(out, IMAGES)


def test_map_rejects_bad_elements():
    fn = samplepairing_map(seed=0)
    with pytest.raises(ValueError, match="images"):
        tf.data.Dataset.from_tensor_slices((IMAGES, LABELS)).map(fn)  # unbatched
    with pytest.raises(ValueError, match="'images'"):
        _dataset().map(lambda x, y: {"pixels": x}).map(fn)
