"""Bounding boxes and segmentation masks through SamplePairing."""

import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import SamplePairing, samplepairing_map
from keras_samplepairing.ops.boxes import mix_boxes
from keras_samplepairing.ops.masks import mix_masks
from tests.helpers import constant_images, partners_of

PARTNERS = tf.constant([1, 2, 0])
WEIGHTS = tf.constant([0.5, 0.25, 0.5])
BOXES = np.array(
    [[[0, 0, 4, 4], [-1, -1, -1, -1]], [[1, 1, 5, 5], [2, 2, 6, 6]], [[0, 0, 1, 1], [-1] * 4]],
    "float32",
)
CLASSES = np.array([[1, -1], [2, 3], [4, -1]], "int32")


@pytest.mark.parametrize("key", ["labels", "classes"])
def test_dense_boxes_exact(key):
    paired = tf.constant([True, True, False])
    partner = {"boxes": tf.gather(BOXES, PARTNERS), key: tf.gather(CLASSES, PARTNERS)}
    out = mix_boxes({"boxes": BOXES, key: CLASSES}, partner, WEIGHTS, paired)
    assert set(out) == {"boxes", key, "box_weights"}
    np.testing.assert_array_equal(out[key], [[1, -1, 2, 3], [2, 3, 4, -1], [4, -1, -1, -1]])
    np.testing.assert_array_equal(out["boxes"][0], np.concatenate([BOXES[0], BOXES[1]]))
    np.testing.assert_array_equal(out["boxes"][2, 2:], -np.ones((2, 4)))  # unpaired: once
    np.testing.assert_allclose(
        out["box_weights"], [[0.5, 0, 0.5, 0.5], [0.25, 0.25, 0.75, 0], [1, 0, 0, 0]]
    )


def test_ragged_boxes_exact():
    boxes = tf.ragged.constant(
        [[[0, 0, 4, 4]], [[1, 1, 5, 5], [2, 2, 6, 6]], [[0, 0, 1, 1]]],
        ragged_rank=1,
        dtype=tf.float32,
    )
    classes = tf.ragged.constant([[1], [2, 3], [4]])
    paired = tf.constant([True, True, False])
    partner = {"boxes": tf.gather(boxes, PARTNERS), "labels": tf.gather(classes, PARTNERS)}
    out = mix_boxes({"boxes": boxes, "labels": classes}, partner, WEIGHTS, paired)
    assert isinstance(out["boxes"], tf.RaggedTensor)
    assert out["labels"].to_list() == [[1, 2, 3], [2, 3, 4], [4]]
    assert out["boxes"].to_list()[1] == [[1, 1, 5, 5], [2, 2, 6, 6], [0, 0, 1, 1]]
    np.testing.assert_allclose(out["box_weights"].flat_values, [0.5, 0.5, 0.5, 0.25, 0.25, 0.75, 1])


@pytest.mark.parametrize("box_format", ["xyxy", "yxyx", "center_xywh", "rel_xyxy"])
def test_layer_keeps_coordinates_in_any_format(box_format):
    images = constant_images(3, size=(8, 8))
    layer = SamplePairing(bounding_box_format=box_format, seed=0)
    out = layer({"images": images, "bounding_boxes": {"boxes": BOXES, "labels": CLASSES}})
    partners = partners_of(out["images"])
    np.testing.assert_array_equal(
        out["bounding_boxes"]["boxes"], np.concatenate([BOXES, BOXES[partners]], axis=1)
    )
    assert layer.get_config()["bounding_box_format"] == box_format


def test_dense_boxes_under_xla_and_both_forms_in_ds_map():
    images = np.zeros((3, 8, 8, 3), "float32")
    layer = SamplePairing(seed=1)
    fn = tf.function(lambda b: layer(b), jit_compile=True)
    out = fn({"images": images, "bounding_boxes": {"boxes": BOXES, "labels": CLASSES}})
    assert out["bounding_boxes"]["boxes"].shape == (3, 4, 4)
    dense = tf.data.Dataset.from_tensors(
        {"images": images, "bounding_boxes": {"boxes": BOXES, "labels": CLASSES}}
    )
    element = next(iter(dense.map(samplepairing_map(seed=0))))
    assert element["bounding_boxes"]["labels"].shape == (3, 4)
    ragged = tf.data.Dataset.from_tensor_slices(
        {
            "images": np.zeros((4, 8, 8, 3), "float32"),
            "bounding_boxes": {
                "boxes": tf.ragged.constant(
                    [[[0, 0, 1, 1]], [], [[1, 1, 2, 2]] * 2, []], ragged_rank=1, dtype=tf.float32
                ),
                "classes": tf.ragged.constant([[1], [], [2, 2], []]),
            },
        }
    ).batch(4)
    element = next(iter(ragged.map(samplepairing_map(seed=0))))
    assert element["bounding_boxes"]["classes"].flat_values.shape == (6,)  # 3 own + 3 partner
    assert sorted(element["bounding_boxes"]["box_weights"].flat_values.numpy()) == [0.5] * 6


def test_masks_first_keeps_dtype_and_values():
    masks = np.random.default_rng(0).integers(0, 3, (3, 4, 4, 1)).astype("uint8")
    out = SamplePairing(seed=0)({"images": np.zeros((3, 4, 4, 3)), "segmentation_masks": masks})
    assert out["segmentation_masks"].dtype == tf.uint8
    np.testing.assert_array_equal(out["segmentation_masks"], masks)


def test_masks_mix_exact_and_soft_masks_sum_to_one():
    masks = np.random.default_rng(0).integers(0, 3, (3, 4, 4, 1)).astype("int32")
    weights = tf.reshape(WEIGHTS, [3, 1, 1, 1])
    partner = tf.gather(masks, PARTNERS)
    out = mix_masks(masks, partner, weights, tf.constant([True] * 3), "mix", 3).numpy()
    one_hot = np.eye(3)[masks[..., 0]]
    expected = WEIGHTS.numpy()[:, None, None, None] * one_hot
    expected += (1 - WEIGHTS.numpy()[:, None, None, None]) * one_hot[[1, 2, 0]]
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    layer = SamplePairing(lam="beta", mixing="spatial", label_mode="mix", num_classes=3, seed=0)
    out = layer({"images": np.zeros((3, 4, 4, 3)), "segmentation_masks": masks})
    assert out["segmentation_masks"].shape == (3, 4, 4, 3)
    np.testing.assert_allclose(np.sum(out["segmentation_masks"], axis=-1), 1.0, rtol=1e-6)


def test_boxes_and_masks_bad_inputs():
    images = np.zeros((3, 8, 8, 3), "float32")
    layer = SamplePairing(seed=0)

    def call(**extra):
        return layer({"images": images, **extra})

    with pytest.raises(ValueError, match="boxes"):
        call(bounding_boxes={"boxes": np.zeros((3, 2, 5)), "labels": CLASSES})
    with pytest.raises(ValueError, match="2 boxes but 3 labels"):
        call(bounding_boxes={"boxes": BOXES, "labels": np.zeros((3, 3), "int32")})
    with pytest.raises(ValueError, match="'classes'"):
        call(bounding_boxes={"boxes": BOXES, "ids": CLASSES})
    with pytest.raises(ValueError, match="bounding_box_format"):
        SamplePairing(bounding_box_format="xyzz")
    with pytest.raises(ValueError, match="segmentation_masks"):
        call(segmentation_masks=np.zeros((2, 8, 8, 1), "int32"))
    with pytest.raises(ValueError, match="segmentation_masks"):
        call(segmentation_masks=np.zeros((3, 4, 8, 1), "int32"))
    with pytest.raises(ValueError, match="num_classes"):
        SamplePairing(label_mode="mix")(
            {"images": images, "segmentation_masks": np.zeros((3, 8, 8, 1), "int32")}
        )
