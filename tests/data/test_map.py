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


def _mix_is_xla_compiled(fn) -> bool:
    """Whether the function call that makes ``fn``'s output images, in the
    graph tf.data traces, is marked for XLA (``tf.function(jit_compile=True)``
    marks its call op ``_XlaMustCompile``)."""
    spec = (tf.TensorSpec((4, 4, 4, 3), tf.float32), tf.TensorSpec((4,), tf.int64))
    images = tf.function(fn).get_concrete_function(*spec).outputs[0]
    while images.op.type in ("Identity", "IdentityN"):  # the outputs' copies
        images = images.op.inputs[images.value_index]
    op = images.op
    assert op.type in ("PartitionedCall", "StatefulPartitionedCall"), (
        f"the mixed images come from a {op.type} op, not from a function call"
    )
    return "_XlaMustCompile" in op.node_def.attr and op.get_attr("_XlaMustCompile")


def test_map_is_xla_compiled_by_default():
    # The per-pixel mix is its own XLA program by default and not with
    # jit_compile=False (the draw of partners and λ is compiled either way).
    assert _mix_is_xla_compiled(samplepairing_map(seed=0))
    assert not _mix_is_xla_compiled(samplepairing_map(seed=0, jit_compile=False))
    images, _ = samplepairing_map(seed=0)(tf.constant(IMAGES[:4]), tf.constant(LABELS[:4]))
    assert images.shape == (4, 4, 4, 3)


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
