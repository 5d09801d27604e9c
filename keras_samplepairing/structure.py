"""Converts Keras's input formats to one dict and back.

Keras augmentation layers take a tensor of images, a tuple
``(images, labels)``, or a dict ``{"images", "labels", ...}``; SamplePairing
works on the dict and returns the caller's own structure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf


def _as_tensor(name: str, value: Any) -> tf.Tensor | tf.RaggedTensor:
    if isinstance(value, (tf.RaggedTensor, tf.SparseTensor)):
        return value
    try:
        return tf.convert_to_tensor(value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"`{name}` must be a tensor or array, got {type(value).__name__}."
        ) from error


def unpack(inputs: Any) -> tuple[dict, Callable[[dict], Any]]:
    """Returns ``(batch, repack)``: the inputs as a dict and the inverse.

    Args:
        inputs: a tensor of images, a 2-tuple/list ``(images, labels)``, or a
            dict with an ``"images"`` key (other keys are carried along).

    Returns:
        The dict of tensors and a function that turns an output dict back
        into the caller's structure.
    """
    if isinstance(inputs, dict):
        if "images" not in inputs:
            raise ValueError(
                "A dict input must have an 'images' key (Keras's format: 'images', "
                f"'labels', 'bounding_boxes', 'segmentation_masks'); got keys {sorted(inputs)}."
            )
        batch = dict(inputs)
        batch["images"] = _as_tensor("images", inputs["images"])
        if "labels" in inputs:
            batch["labels"] = _as_tensor("labels", inputs["labels"])
        return batch, lambda outputs: outputs
    if isinstance(inputs, (tuple, list)):
        if len(inputs) != 2:
            raise ValueError(
                "A tuple input must be (images, labels); got a "
                f"{type(inputs).__name__} of length {len(inputs)}."
            )
        batch = {
            "images": _as_tensor("images", inputs[0]),
            "labels": _as_tensor("labels", inputs[1]),
        }
        kind = type(inputs)
        return batch, lambda outputs: kind((outputs["images"], outputs["labels"]))
    return {"images": _as_tensor("images", inputs)}, lambda outputs: outputs["images"]
