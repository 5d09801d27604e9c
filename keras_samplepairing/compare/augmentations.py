"""The basic augmentation every variant of a comparison trains with.

It is applied to each batch of images before any mixing, the same way for
every variant: to an image and to its partner independently (whole-set
variants), to the batch before it is paired (in-batch variants). Each run
gets a new instance seeded by the run's seed, applied to batches in order, so
a seed augments the same way from run to run.

Built-ins (``shift`` is a share of the image side, 0.125 by default: one
pixel of an 8x8 digit, four of a 32x32 image):

- ``none``: the images as they are;
- ``pixel-shift``: whole-pixel shifts: each image padded with zeros by
  ``round(shift · side)`` pixels on every side and cropped back at a
  uniformly drawn whole-pixel offset;
- ``translate``: ``keras.layers.RandomTranslation(shift, shift,
  fill_mode="constant")``: sub-pixel shifts, bilinear (the README's tables);
- ``flip-shift``: a random horizontal flip, then ``pixel-shift`` (for
  natural images, not digits or letters).

The user's own is a factory ``(seed) -> augment``, where ``augment`` takes a
batch of float32 images ``(B, H, W, C)`` and returns images of the same
shape (a Keras preprocessing layer is one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from keras_samplepairing.compare.callables import (
    callable_name,
    did_you_mean,
    is_reference,
    load_callable,
)

BUILT_IN_AUGMENTATIONS = ("none", "pixel-shift", "translate", "flip-shift")
# The default, from the grids (README "Which variant?"): whole-pixel shifts
# gave the lower baseline error in every cell of both, so a variant is judged
# against the stronger recipe. The first tables (format 1) used "translate".
DEFAULT_AUGMENTATION = "pixel-shift"
DEFAULT_SHIFT = 0.125
# Keeps the flip's random stream apart from the shift's of the same run and
# from the next seed's.
_FLIP_SEED_OFFSET = 0x5F3759DF


def shift_pixels(shift: float, image_shape: tuple) -> int:
    """Whole pixels of ``pixel-shift``: ``round(shift · side)``, at least 1."""
    return max(1, round(float(shift) * min(image_shape[:2])))


class PixelShift:
    """Whole-pixel random shifts of a batch, per image (a seeded instance).

    Each image is padded with zeros by ``pixels`` on every side and cropped
    back to its size at an offset drawn uniformly from ``0..2·pixels`` in
    each direction: a shift by a whole number of pixels in ``[-pixels,
    pixels]``, no interpolation.

    Args:
        pixels: the largest shift, >= 1.
        seed: the random stream's seed.
    """

    def __init__(self, pixels: int, seed: int | None = None) -> None:
        import keras

        if isinstance(pixels, bool) or not isinstance(pixels, (int, np.integer)) or pixels < 1:
            raise ValueError(f"`pixels` must be an int >= 1, got {pixels!r}.")
        self.pixels = int(pixels)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def __call__(self, images: Any) -> Any:
        import keras
        import tensorflow as tf

        images = tf.convert_to_tensor(images)
        p = self.pixels
        shape = tf.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        padded = tf.pad(images, [[0, 0], [p, p], [p, p], [0, 0]])
        offsets = keras.random.randint((batch, 2), 0, 2 * p + 1, seed=self.seed_generator)
        offsets = tf.cast(offsets, tf.int32)
        rows = offsets[:, :1] + tf.range(height)[None, :]
        columns = offsets[:, 1:] + tf.range(width)[None, :]
        cropped = tf.gather(padded, rows, axis=1, batch_dims=1)
        return tf.gather(cropped, columns, axis=2, batch_dims=1)


def _build(name: str, seed: int, shift: float, image_shape: tuple) -> Callable:
    import keras

    if name == "none":
        return lambda images: images
    if name == "translate":
        return keras.layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed)
    pixel_shift = PixelShift(shift_pixels(shift, image_shape), seed=seed)
    if name == "pixel-shift":
        return pixel_shift
    flip = keras.layers.RandomFlip("horizontal", seed=(seed + _FLIP_SEED_OFFSET) % 2**31)
    return lambda images: pixel_shift(flip(images))


@dataclasses.dataclass(frozen=True)
class AugmentChoice:
    """The basic augmentation of a comparison (or of one cell of a grid).

    Attributes:
        name: a built-in name, ``module:function`` or the factory's name.
        factory: the user's ``(seed) -> augment``; None for a built-in.
    """

    name: str
    factory: Callable | None = None

    def make(self, seed: int, shift: float, image_shape: tuple) -> Callable:
        """A new seeded instance: ``images -> images``."""
        if self.factory is None:
            return _build(self.name, int(seed), shift, tuple(image_shape))
        return self.factory(int(seed))

    def describe(self, shift: float, image_shape: tuple) -> dict[str, Any]:
        """What the results file records (resuming compares it)."""
        described: dict[str, Any] = {"name": self.name}
        if self.name in ("pixel-shift", "flip-shift"):
            described["pixels"] = shift_pixels(shift, image_shape)
        return described

    def pipeline(self, seed: int, shift: float, image_shape: tuple) -> Callable:
        """A new seeded instance for a ``tf.data`` map: ``(images, labels) ->
        (images, labels)``, the images cast back to their dtype."""
        augment = self.make(seed, shift, image_shape)

        def apply(images: Any, labels: Any) -> tuple:
            import tensorflow as tf

            return tf.cast(augment(images), images.dtype), labels

        return apply


def augment_choice(augment: Any) -> AugmentChoice:
    """The basic augmentation from a name, ``module:function`` or a factory.

    Raises:
        ValueError, TypeError: an unknown name (with a guess), a reference
            that does not import, or something that is not a function.
    """
    if isinstance(augment, AugmentChoice):
        return augment
    if isinstance(augment, str) and not is_reference(augment):
        if augment not in BUILT_IN_AUGMENTATIONS:
            raise ValueError(
                f"`augment`: unknown augmentation {augment!r}"
                f"{did_you_mean(augment, BUILT_IN_AUGMENTATIONS)}; use "
                f"{', '.join(BUILT_IN_AUGMENTATIONS)} or module:function."
            )
        return AugmentChoice(augment)
    if isinstance(augment, str):
        return AugmentChoice(augment, load_callable(augment, "augment"))
    if callable(augment):
        return AugmentChoice(callable_name(augment), augment)
    raise TypeError(
        f"`augment` must be {', '.join(map(repr, BUILT_IN_AUGMENTATIONS))}, 'module:function' "
        f"or a function (seed) -> augment, got {augment!r}."
    )


def check_augmentation(choice: AugmentChoice, images: np.ndarray, shift: float) -> None:
    """Applies a new instance to a few images: it must keep their shape.

    Raises:
        ValueError: the factory fails, or its augmentation fails, returns
            something other than images, or changes their shape.
    """
    import tensorflow as tf

    try:
        augment = choice.make(0, shift, images.shape[1:])
        result = augment(tf.constant(images))
    except Exception as error:  # the user's code: any failure is theirs to see
        raise ValueError(
            f"`augment` {choice.name!r} failed on a batch of images {images.shape}: "
            f"{type(error).__name__}: {error}"
        ) from error
    shape = tuple(getattr(result, "shape", ()))
    if shape != tuple(images.shape):
        raise ValueError(
            f"`augment` {choice.name!r} changes the images' shape from {tuple(images.shape)} to "
            f"{shape if shape else type(result).__name__}; the basic augmentation must return "
            "images of the same shape (crop back what it pads)."
        )


def basic_augmentation(
    seed: int = 0,
    augment: Any = DEFAULT_AUGMENTATION,
    shift: float = DEFAULT_SHIFT,
    image_shape: tuple = (8, 8, 1),
) -> Callable:
    """A new seeded basic augmentation for a ``tf.data`` map of ``(images,
    labels)`` batches: the comparison's default unless named (the demo's).

    Args:
        seed: the instance's seed.
        augment: a built-in name, ``module:function`` or a factory.
        shift: the largest shift, a share of the image side.
        image_shape: ``(H, W, C)`` (sizes a pixel shift).
    """
    return augment_choice(augment).pipeline(seed, shift, image_shape)


def describe_augmentation(augment: Any = DEFAULT_AUGMENTATION, shift: float = DEFAULT_SHIFT) -> str:
    """The augmentation in words, for what the demo prints."""
    name = augment_choice(augment).name
    words = {
        "none": "none",
        "pixel-shift": f"pixel-shift (whole-pixel random shifts up to {shift:g} of the side)",
        "translate": f"translate (keras.layers.RandomTranslation({shift:g}), sub-pixel shifts)",
        "flip-shift": "flip-shift (a random horizontal flip, then whole-pixel shifts)",
    }
    return words.get(name, name)
