"""The one model every variant trains: a small CNN sized by the image shape.

It is built from two parts, so the feature-level variants mix between them
without changing the network: the encoder (rescaling to [0, 1] and the first
convolution block) and the head (the remaining blocks, global average pooling
and the class logits). For 8x8 digits this is the demo's network.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras

# Channels of the convolution blocks; one block per 2x pooling.
WIDTHS = (32, 64, 128, 256)
MAX_POOLS = 3


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What every variant trains with: the same for all of them.

    Attributes:
        epochs: training epochs; the test error is read after the last one.
        batch_size: images per batch.
        learning_rate: Adam's initial rate, decayed to 0 by a cosine schedule
            over all steps.
        shift: the basic augmentation's random translation, as a share of
            the image side (0.125: one pixel of an 8x8 digit).
        schedule: run every mixing variant under the paper's on/off schedule
            (warm-up and fine-tuning off), scaled to ``epochs``.
    """

    epochs: int
    batch_size: int = 32
    learning_rate: float = 2e-3
    shift: float = 0.125
    schedule: bool = True

    def describe(self) -> dict[str, Any]:
        """The settings as the results file records them."""
        return dataclasses.asdict(self)


def pools_for(image_shape: tuple[int, int, int]) -> int:
    """How many 2x poolings the network has: halve while the side is >= 8 (at most 3)."""
    side, pools = min(image_shape[:2]), 0
    while side >= 8 and pools < MAX_POOLS:
        side //= 2
        pools += 1
    return pools


def _block(x: Any, width: int, pool: bool) -> Any:
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(x)
    return keras.layers.MaxPooling2D()(x) if pool else x


def encoder_block(x: Any, image_shape: tuple[int, int, int], value_range: tuple) -> Any:
    """Rescaling to [0, 1] and the first convolution block (pooled if the image allows)."""
    low, high = value_range
    x = keras.layers.Rescaling(1.0 / (high - low), offset=-low / (high - low))(x)
    return _block(x, WIDTHS[0], pools_for(image_shape) > 0)


def head_block(x: Any, image_shape: tuple[int, int, int], num_classes: int) -> Any:
    """The remaining blocks, a wider convolution, global pooling and the logits."""
    pools = pools_for(image_shape)
    for stage in range(1, pools):
        x = _block(x, WIDTHS[stage], pool=True)
    x = keras.layers.Conv2D(WIDTHS[max(pools, 1)], 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.layers.Dense(num_classes)(x)


def build_model(
    image_shape: tuple[int, int, int],
    num_classes: int,
    value_range: tuple[float, float],
    input_layer: keras.layers.Layer | None = None,
    hidden_layer: keras.layers.Layer | None = None,
) -> keras.Model:
    """The CNN as one functional model, from float images to logits.

    Args:
        image_shape: ``(H, W, C)``.
        num_classes: number of logits.
        value_range: the pixels' ``(low, high)``, rescaled to [0, 1].
        input_layer: optional layer right after the input (pixel-level mixing).
        hidden_layer: optional layer between the encoder and the head
            (feature-level mixing).
    """
    inputs = keras.Input(image_shape, name="images")
    x = inputs if input_layer is None else input_layer(inputs)
    x = encoder_block(x, image_shape, value_range)
    if hidden_layer is not None:
        x = hidden_layer(x)
    return keras.Model(inputs, head_block(x, image_shape, num_classes))


def build_parts(
    image_shape: tuple[int, int, int], num_classes: int, value_range: tuple[float, float]
) -> tuple[keras.Model, keras.Model]:
    """The same CNN as ``(encoder, head)`` models, for ``PairingModel``."""
    inputs = keras.Input(image_shape, name="images")
    encoder = keras.Model(inputs, encoder_block(inputs, image_shape, value_range))
    hidden = keras.Input(encoder.output_shape[1:])
    head = keras.Model(hidden, head_block(hidden, image_shape, num_classes))
    return encoder, head


def architecture(image_shape: tuple[int, int, int], num_classes: int) -> str:
    """The CNN in one line, ``|`` where the encoder ends and the head begins."""
    pools = pools_for(image_shape)
    parts = [f"Rescaling, 2x Conv{WIDTHS[0]}" + (", MaxPool" if pools else "")]
    head = [f"2x Conv{WIDTHS[stage]}, MaxPool" for stage in range(1, pools)]
    head.append(f"Conv{WIDTHS[max(pools, 1)]}, GlobalAvgPool, Dense{num_classes}")
    return f"{parts[0]} | {', '.join(head)}"


def steps_per_epoch(train_size: int, batch_size: int) -> int:
    """Batches per epoch (the last one may be partial)."""
    return math.ceil(train_size / batch_size)


def compile_model(model: keras.Model, config: TrainConfig, train_size: int) -> None:
    """Adam with cosine decay over the whole run, categorical cross-entropy on
    logits (every pipeline feeds one-hot or mixed labels), XLA-compiled."""
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate,
        decay_steps=config.epochs * steps_per_epoch(train_size, config.batch_size),
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        jit_compile=True,
    )
