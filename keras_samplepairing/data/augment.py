"""The basic augmentation a whole-set pipeline runs on each batch and on its
partners: one contract for layers and functions."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from keras_samplepairing.engine.structure import as_dict, from_dict, structure_of

# What a function given as ``augment`` takes, by the data's structure.
PARTS = {
    "images": "(images)",
    "tuple2": "(images, labels)",
    "tuple3": "(images, labels, sample_weight)",
    "dict": "(batch), the whole dict",
}


def batch_augmenter(augment: Any, structure: str) -> Callable[[dict], dict]:
    """``augment`` as a function of a batch dict, called the way the data's
    elements look.

    - A Keras layer gets the images, or the dict whole (as Keras's
      preprocessing layers take them: boxes and masks move with the images);
      the labels and sample weights of a tuple pass by it unchanged.
    - A function gets the element's parts as the data has them:
      ``f(images)``, ``f(images, labels)``, ``f(images, labels,
      sample_weight)``, or ``f(batch)`` for a dict; and returns the same
      structure.

    Raises:
        TypeError: a function that cannot take the data's parts.
    """
    import keras

    layer = isinstance(augment, keras.layers.Layer)
    if not callable(augment):
        raise TypeError(
            f"`augment` must be a Keras layer or a function, got {type(augment).__name__}."
        )
    count = int(structure[-1]) if structure.startswith("tuple") else 1
    if not layer:
        try:
            signature = inspect.signature(augment)
        except (TypeError, ValueError):
            signature = None  # a builtin: trust it
        if signature is not None:
            try:
                signature.bind(*range(count))
            except TypeError as error:
                raise TypeError(
                    f"`augment` must take the data's parts as its elements have them, "
                    f"{PARTS[structure]}, and return them; got a function with the "
                    f"signature {signature}."
                ) from error

    def call(batch: dict) -> dict:
        element = from_dict(batch, structure)
        if layer and structure.startswith("tuple"):
            result = (augment(element[0]), *element[1:])
        elif structure.startswith("tuple"):
            result = augment(*element)
        else:
            result = augment(element)
        if structure_of(result) != structure:
            raise TypeError(
                f"`augment` must return the parts it was given, {PARTS[structure]}; got "
                f"{type(result).__name__} for data of that structure."
            )
        return as_dict(result, structure)

    return call
