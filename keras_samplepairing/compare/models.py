"""The model a comparison trains: a built-in one, or the user's, checked.

Built-ins span capacity, each sized by the image shape (one 2x pooling per
halving while the side is >= 8, at most 3):

- ``compact``: the small CNN of the README's tables (and the demo's network
  on 8x8 digits): rescaling, two 32-channel convolutions and a pooling, then
  a wider convolution, global average pooling and the logits;
- ``wide``: twice the channels and a dense 128-unit layer before the logits;
- ``resnet``: a small ResNet, one residual block of two convolutions with
  batch normalisation per stage.

Each names two layers: ``encoder_output``, where the feature-level variants
mix (every later layer depends on it alone), and ``features``, the
penultimate layer that model-feature variants pair by. The user's model is a
function ``(input_shape, num_classes) -> keras.Model`` returning logits
(uncompiled; images arrive in the data's value range), with the two layers
named by ``split_layer`` and ``feature_layer`` where variants need them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_samplepairing.compare.callables import (
    callable_name,
    did_you_mean,
    is_reference,
    load_callable,
)

if TYPE_CHECKING:
    import keras

# Channels of the compact CNN's convolution blocks; one block per 2x pooling.
WIDTHS = (32, 64, 128, 256)
MAX_POOLS = 3
SPLIT = "encoder_output"
FEATURES = "features"
BUILT_IN_MODELS = ("compact", "wide", "resnet")
DEFAULT_MODEL = "compact"


def pools_for(image_shape: tuple[int, int, int]) -> int:
    """How many 2x poolings the network has: halve while the side is >= 8 (at most 3)."""
    side, pools = min(image_shape[:2]), 0
    while side >= 8 and pools < MAX_POOLS:
        side //= 2
        pools += 1
    return pools


def _rescale(x: Any, value_range: tuple) -> Any:
    import keras

    low, high = value_range
    return keras.layers.Rescaling(1.0 / (high - low), offset=-low / (high - low))(x)


def _block(x: Any, width: int, pool: bool, name: str | None = None) -> Any:
    import keras

    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(x)
    if not pool:
        return keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=name)(x)
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(x)
    return keras.layers.MaxPooling2D(name=name)(x)


def _cnn(
    image_shape: tuple[int, int, int],
    num_classes: int,
    value_range: tuple,
    widths: tuple[int, ...],
    dense: int | None,
) -> keras.Model:
    import keras

    pools = pools_for(image_shape)
    inputs = keras.Input(image_shape, name="images")
    x = _block(_rescale(inputs, value_range), widths[0], pools > 0, name=SPLIT)
    for stage in range(1, pools):
        x = _block(x, widths[stage], pool=True)
    x = keras.layers.Conv2D(widths[max(pools, 1)], 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name=None if dense else FEATURES)(x)
    if dense:
        x = keras.layers.Dense(dense, activation="relu", name=FEATURES)(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="logits")(x))


def compact(image_shape: tuple, num_classes: int, value_range: tuple = (0.0, 255.0)) -> keras.Model:
    """The compact CNN (the README's tables), from images in ``value_range`` to logits."""
    return _cnn(tuple(image_shape), num_classes, value_range, WIDTHS, None)


def wide(image_shape: tuple, num_classes: int, value_range: tuple = (0.0, 255.0)) -> keras.Model:
    """The compact CNN with twice the channels and a dense 128-unit layer before the logits."""
    return _cnn(tuple(image_shape), num_classes, value_range, tuple(2 * w for w in WIDTHS), 128)


def _residual(x: Any, width: int, stride: int, name: str | None = None) -> Any:
    import keras

    shortcut = x
    y = keras.layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False)(x)
    y = keras.layers.ReLU()(keras.layers.BatchNormalization()(y))
    y = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(y)
    y = keras.layers.BatchNormalization()(y)
    if stride != 1 or shortcut.shape[-1] != width:
        shortcut = keras.layers.Conv2D(width, 1, strides=stride, use_bias=False)(shortcut)
        shortcut = keras.layers.BatchNormalization()(shortcut)
    return keras.layers.ReLU(name=name)(keras.layers.Add()([y, shortcut]))


def resnet(image_shape: tuple, num_classes: int, value_range: tuple = (0.0, 255.0)) -> keras.Model:
    """A small ResNet: a 32-channel stem, one residual block per stage (32,
    64, 128 channels, strided where the image allows), global pooling, logits."""
    import keras

    image_shape = tuple(image_shape)
    pools = pools_for(image_shape)
    inputs = keras.Input(image_shape, name="images")
    x = keras.layers.Conv2D(32, 3, padding="same", use_bias=False)(_rescale(inputs, value_range))
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    x = _residual(x, 32, 1, name=SPLIT)
    for stage, width in enumerate((64, 128), start=1):
        x = _residual(x, width, 2 if stage <= pools else 1)
    x = keras.layers.GlobalAveragePooling2D(name=FEATURES)(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="logits")(x))


_BUILDERS: dict[str, Callable] = {"compact": compact, "wide": wide, "resnet": resnet}
# Time per epoch relative to compact (digits, 300 images, 2 CPU cores): the
# first estimate scales by it until a run of the model has been timed.
_COSTS = {"compact": 1.0, "wide": 2.2, "resnet": 4.5}


def architecture(image_shape: tuple[int, int, int], num_classes: int) -> str:
    """The compact CNN in one line, ``|`` where the encoder ends and the head begins."""
    pools = pools_for(image_shape)
    parts = [f"Rescaling, 2x Conv{WIDTHS[0]}" + (", MaxPool" if pools else "")]
    head = [f"2x Conv{WIDTHS[stage]}, MaxPool" for stage in range(1, pools)]
    head.append(f"Conv{WIDTHS[max(pools, 1)]}, GlobalAvgPool, Dense{num_classes}")
    return f"{parts[0]} | {', '.join(head)}"


@dataclasses.dataclass(frozen=True)
class ModelChoice:
    """The model of a comparison (or of one cell of a grid).

    Attributes:
        name: a built-in name, ``module:function``, or the function's name.
        function: ``(input_shape, num_classes) -> keras.Model`` for the
            user's model; None for a built-in.
        split_layer: where feature-level variants mix (None: those variants
            are skipped).
        feature_layer: whose output the model-feature variants pair by
            (None: those variants are skipped).
    """

    name: str
    function: Callable | None = None
    split_layer: str | None = None
    feature_layer: str | None = None

    @property
    def built_in(self) -> bool:
        """Whether it is one of ``BUILT_IN_MODELS``."""
        return self.function is None

    @property
    def cost(self) -> float:
        """Time per epoch relative to ``compact`` (1.0 for the user's)."""
        return _COSTS.get(self.name, 1.0)

    def build(
        self, image_shape: tuple, num_classes: int, value_range: tuple = (0.0, 255.0)
    ) -> keras.Model:
        """A new model (new weights, drawn from Keras's seed)."""
        if self.function is None:
            return _BUILDERS[self.name](tuple(image_shape), num_classes, tuple(value_range))
        return self.function(tuple(image_shape), num_classes)

    def describe(self) -> dict[str, Any]:
        """What the results file records (resuming compares it)."""
        return {
            "name": self.name,
            "split_layer": self.split_layer,
            "feature_layer": self.feature_layer,
        }

    def architecture(self, image_shape: tuple, num_classes: int) -> str | None:
        """A built-in's architecture in one line (None for the user's: see
        ``check_model``)."""
        image_shape = tuple(image_shape)
        if self.name == "compact":
            return architecture(image_shape, num_classes)
        pools = pools_for(image_shape)
        if self.name == "wide":
            return f"compact with twice the channels, Dense128 before Dense{num_classes}"
        if self.name == "resnet":
            return (
                f"Rescaling, Conv32-BN-ReLU, residual blocks of 32 | 64, 128 channels "
                f"({pools} strided), GlobalAvgPool, Dense{num_classes}"
            )
        return None


def model_choice(
    model: Any, split_layer: str | None = None, feature_layer: str | None = None
) -> ModelChoice:
    """The model a comparison trains, from a name, ``module:function`` or a function.

    Built-ins name their own layers (``encoder_output`` and ``features``);
    ``split_layer`` and ``feature_layer`` name the user's model's, and
    ``feature_layer`` defaults to ``split_layer``.

    Raises:
        ValueError, TypeError: an unknown name (with a guess), a reference
            that does not import, or something that is not a function.
    """
    import keras

    for name, value in (("split_layer", split_layer), ("feature_layer", feature_layer)):
        if value is not None and not (isinstance(value, str) and value):
            raise TypeError(f"`{name}` must be a layer name, got {value!r}.")
    if isinstance(model, ModelChoice):
        return model
    if isinstance(model, str) and not is_reference(model):
        if model not in _BUILDERS:
            raise ValueError(
                f"`model`: unknown model {model!r}{did_you_mean(model, BUILT_IN_MODELS)}; "
                f"use {', '.join(BUILT_IN_MODELS)} or module:function."
            )
        # A built-in names its own layers (the given names are the user's model's).
        return ModelChoice(model, None, SPLIT, FEATURES)
    if isinstance(model, str):
        function, name = load_callable(model, "model"), model
    elif callable(model) and not isinstance(model, keras.Model):
        function, name = model, callable_name(model)
    else:
        raise TypeError(
            "`model` must be 'compact', 'wide', 'resnet', 'module:function' or a function "
            f"(input_shape, num_classes) -> keras.Model, got {model!r}."
        )
    return ModelChoice(name, function, split_layer, feature_layer or split_layer)


def _is_softmax(layer: Any) -> bool:
    import keras

    if isinstance(layer, keras.layers.Softmax):
        return True
    activation = getattr(layer, "activation", None)
    return activation is keras.activations.softmax or getattr(activation, "__name__", "") == (
        "softmax"
    )


def check_model(
    choice: ModelChoice, images: np.ndarray, num_classes: int, value_range: tuple
) -> str:
    """Builds the model once and checks it can be trained as the comparison does.

    Args:
        choice: the model.
        images: a few training images, ``(n, H, W, C)``.
        num_classes: K.
        value_range: the images' value range.

    Returns:
        The architecture in one line (its layers and parameter count).

    Raises:
        ValueError: the function does not build a Keras model, its output is
            not ``(batch, K)`` logits (a final softmax is refused), or a
            named layer is missing or is no clean cut through the network.
    """
    import keras

    try:
        model = choice.build(images.shape[1:], num_classes, value_range)
    except Exception as error:  # the user's code: any failure is theirs to see
        raise ValueError(
            f"`model` {choice.name!r} failed to build for input shape {images.shape[1:]} and "
            f"{num_classes} classes: {type(error).__name__}: {error}"
        ) from error
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"`model` {choice.name!r} must return a keras.Model, got {type(model).__name__}."
        )
    outputs = keras.ops.convert_to_numpy(model(images, training=False))
    if outputs.shape != (len(images), num_classes):
        raise ValueError(
            f"`model` {choice.name!r} gives outputs of shape {outputs.shape[1:]} per batch of "
            f"{len(images)}; it must give ({num_classes},) logits, one per class."
        )
    rows_are_probabilities = np.all(outputs >= 0) and np.allclose(outputs.sum(-1), 1.0, atol=1e-4)
    if (model.layers and _is_softmax(model.layers[-1])) or rows_are_probabilities:
        raise ValueError(
            f"`model` {choice.name!r} ends in a softmax; return logits (the comparison's loss "
            "is cross-entropy from logits): drop the final activation."
        )
    for argument in ("split_layer", "feature_layer"):
        name = getattr(choice, argument)
        if name is not None:
            _named_layer(model, name, argument, images.shape[1:])
    if choice.split_layer is not None:
        from keras_samplepairing.compare.rewiring import split_at

        split_at(model, choice.split_layer, images.shape[1:])
    weights = sum(int(np.prod(w.shape)) for w in model.weights)
    kinds = [type(layer).__name__ for layer in model.layers]
    return f"{len(kinds)} layers ({', '.join(dict.fromkeys(kinds))}), {weights} weights"


def _named_layer(model: keras.Model, name: str, argument: str, image_shape: tuple) -> Any:
    from keras_samplepairing.compare.rewiring import check_rewirable

    check_rewirable(model)
    try:
        return model.get_layer(name)
    except ValueError as error:
        names = [layer.name for layer in model.layers]
        raise ValueError(
            f"`{argument}`: the model has no layer {name!r}; its layers: {', '.join(names)}."
        ) from error


def build_model(
    model: Any = DEFAULT_MODEL,
    image_shape: tuple = (8, 8, 1),
    num_classes: int = 10,
    value_range: tuple = (0.0, 255.0),
) -> keras.Model:
    """A new model by name (``compact``, ``wide``, ``resnet``), ``module:function``
    or function: the comparison's, for the demo and for users."""
    return model_choice(model).build(image_shape, num_classes, value_range)
