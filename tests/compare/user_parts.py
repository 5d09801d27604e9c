"""A user's own parts for the comparison's tests, importable as module:function."""

import keras
import numpy as np


def tiny_model(input_shape, num_classes):
    """A small functional CNN returning logits, with a split and a feature layer."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="split")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(16, activation="relu", name="hidden")(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


def sequential_model(input_shape, num_classes):
    """The same as a Sequential model."""
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Rescaling(1.0 / 255.0),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="split"),
            keras.layers.GlobalAveragePooling2D(name="pool"),
            keras.layers.Dense(num_classes),
        ]
    )


def skip_model(input_shape, num_classes):
    """A connection passes around the layer 'middle': no clean cut there."""
    inputs = keras.Input(input_shape)
    a = keras.layers.Conv2D(4, 3, padding="same", name="first")(inputs)
    b = keras.layers.Conv2D(4, 3, padding="same", name="middle")(a)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Add()([a, b]))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


def softmax_model(input_shape, num_classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))


def wrong_shape_model(input_shape, num_classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes + 1)(x))


def nan_model(input_shape, num_classes):
    """Builds and predicts, but its loss is NaN from the first step."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Lambda(lambda t: t * np.float32("nan"))(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


def broken_model(input_shape, num_classes):
    raise RuntimeError("this model does not build")


def flip_augment(seed):
    """A factory: a seeded horizontal flip (shape-preserving)."""
    return keras.layers.RandomFlip("horizontal", seed=seed)


def crop_augment(seed):
    """A factory whose augmentation changes the image shape (refused)."""
    return keras.layers.CenterCrop(4, 4)
