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
# The parts of a tuple element, in Keras's order.
TUPLE_KEYS = ("images", "labels", "sample_weight")


def structure_of(element: Any) -> str:
    """What an element (or a batch) is: ``"images"``, ``"tuple2"``, ``"tuple3"``
    or ``"dict"``; anything else raises a ValueError naming the formats."""
    if isinstance(element, dict):
        if "images" not in element:
            raise ValueError(
                "A dict input must have an 'images' key (Keras's format: 'images', "
                f"'labels', 'bounding_boxes', 'segmentation_masks'); got keys {sorted(element)}."
            )
        return "dict"
    if isinstance(element, (tuple, list)):
        if len(element) not in (2, 3):
            raise ValueError(
                "A tuple input must be (images, labels) or (images, labels, sample_weight); "
                f"got a {type(element).__name__} of length {len(element)}."
            )
        return f"tuple{len(element)}"
    return "images"


def as_dict(element: Any, structure: str) -> dict:
    """The element as a dict of its parts (no conversion, no checks)."""
    if structure == "dict":
        return dict(element)
    if structure == "images":
        return {"images": element}
    return dict(zip(TUPLE_KEYS, element, strict=False))


def from_dict(batch: dict, structure: str) -> Any:
    """The inverse of ``as_dict``: the element in its own structure."""
    if structure == "dict":
        return batch
    if structure == "images":
        return batch["images"]
    return tuple(batch[key] for key in TUPLE_KEYS[: int(structure[-1])])


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
    structure = structure_of(inputs)
    if structure == "dict":
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
    parts = {k: v for k, v in as_dict(inputs, structure).items() if v is not None}
    kind = type(inputs)

    def repack(outputs: dict) -> Any:
        element = from_dict({**dict.fromkeys(TUPLE_KEYS), **outputs}, structure)
        return kind(element) if structure.startswith("tuple") else element

    return _convert(xp, parts), repack
