"""Converts Keras's input formats to one dict of tensors, and back.

Keras augmentation layers take a tensor of images, a tuple ``(images,
labels)``, or a dict ``{"images", "labels", "bounding_boxes",
"segmentation_masks"}``; ``Model.fit`` also passes ``(images, labels,
sample_weight)``. SamplePairing works on one dict and returns the caller's
own structure.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from keras_samplepairing.ops.boxes import class_key

# The per-sample keys SamplePairing knows how to mix.
TARGET_KEYS = ("images", "labels", "sample_weight", "bounding_boxes", "segmentation_masks")


def _as_tensor(xp: ModuleType, name: str, value: Any) -> Any:
    try:
        return xp.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"`{name}` must be a tensor or array, got {type(value).__name__}."
        ) from error


def _convert(xp: ModuleType, batch: dict) -> dict:
    """Every array of the batch as a tensor of ``xp`` (ragged boxes stay ragged)."""
    batch = dict(batch)
    for key in ("images", "labels", "sample_weight", "segmentation_masks"):
        if batch.get(key) is not None:
            batch[key] = _as_tensor(xp, key, batch[key])
    boxes = batch.get("bounding_boxes")
    if isinstance(boxes, dict) and "boxes" in boxes:
        boxes = dict(boxes)
        for key in ("boxes", class_key(boxes)):
            boxes[key] = _as_tensor(xp, f"bounding_boxes[{key!r}]", boxes[key])
        batch["bounding_boxes"] = boxes
    return batch


def unpack(
    inputs: Any, xp: ModuleType, passthrough_keys: tuple = ()
) -> tuple[dict, Callable[[dict], Any]]:
    """Returns ``(batch, repack)``: the inputs as a dict of tensors and the inverse.

    Args:
        inputs: a tensor of images; a tuple/list ``(images, labels)`` or
            ``(images, labels, sample_weight)``; or a dict with an
            ``"images"`` key and any of ``"labels"``, ``"bounding_boxes"``,
            ``"segmentation_masks"`` (and the ``passthrough_keys``).
        xp: the namespace to convert arrays with.
        passthrough_keys: dict keys returned unchanged.

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
        unknown = [k for k in inputs if k not in TARGET_KEYS and k not in passthrough_keys]
        if unknown:
            raise ValueError(
                f"Unknown key {unknown[0]!r} in the batch: SamplePairing mixes 'images', "
                "'labels', 'bounding_boxes' and 'segmentation_masks', and a per-sample value "
                "passed through unmixed would belong to the wrong image. Drop it, or name it "
                f"in `passthrough_keys` if it must stay as it is (e.g. ids): got keys "
                f"{sorted(inputs)}."
            )
        passed = {k: inputs[k] for k in passthrough_keys if k in inputs}
        batch = _convert(xp, {k: v for k, v in inputs.items() if k not in passed})

        def repack_dict(outputs: dict) -> dict:
            return {**outputs, **passed}

        return batch, repack_dict
    if isinstance(inputs, (tuple, list)):
        if len(inputs) not in (2, 3):
            raise ValueError(
                "A tuple input must be (images, labels) or (images, labels, sample_weight); "
                f"got a {type(inputs).__name__} of length {len(inputs)}."
            )
        keys = ("images", "labels", "sample_weight")[: len(inputs)]
        batch = _convert(xp, {k: v for k, v in zip(keys, inputs, strict=True) if v is not None})
        kind = type(inputs)

        def repack_tuple(outputs: dict) -> tuple:
            return kind(outputs.get(k) for k in keys)

        return batch, repack_tuple
    return _convert(xp, {"images": inputs}), lambda outputs: outputs["images"]
