"""Feature vectors for every image of a training set, in one batched pass."""

from __future__ import annotations

from typing import Any

import numpy as np


def truncated_model(model: Any, layer_name: str) -> Any:
    """The part of ``model`` up to the layer named ``layer_name``, sharing its
    weights: features of the model being trained, for a partner index that
    ``PartnerIndexRefresh`` rebuilds as the model learns."""
    import keras

    try:
        layer = model.get_layer(layer_name)
    except ValueError as error:
        names = [layer.name for layer in model.layers]
        raise ValueError(
            f"`layer_name` {layer_name!r} is not a layer of the model: {names}."
        ) from error
    return keras.Model(model.inputs, layer.output)


def whole_set_features(
    images: np.ndarray,
    features: Any = "pooled",
    value_range: tuple[float, float] = (0.0, 255.0),
    data_format: str = "channels_last",
    batch_size: int = 1024,
) -> np.ndarray:
    """``(N, D)`` float32 features of ``images``, the same as the batch path
    computes: ``"pooled"`` (8x8 area averages), ``"histogram"``, or a Keras
    model called on the images as given (by ``predict``, on any backend).

    Args:
        images: ``(N, ...)`` array of the whole set.
        features: ``"pooled"``, ``"histogram"`` or a Keras model.
        value_range: pixel range, for histograms.
        data_format: the images' layout.
        batch_size: images per pass.
    """
    if callable(features):
        out = features.predict(images, batch_size=batch_size, verbose=0)
        out = np.asarray(out, np.float32)
        if out.ndim < 2 or len(out) != len(images):
            raise ValueError(
                f"`features` model must map the {len(images)} images to (N, D, ...) features, "
                f"got shape {out.shape}."
            )
        return out.reshape(len(out), -1)
    import tensorflow as tf

    from keras_samplepairing.ops.features import histogram_features, pooled_features

    chunks = []
    for start in range(0, len(images), batch_size):
        batch = tf.constant(images[start : start + batch_size])
        if data_format == "channels_first":
            batch = tf.transpose(batch, [0, 2, 3, 1])
        if features == "histogram":
            chunks.append(histogram_features(batch, value_range=value_range).numpy())
        else:
            chunks.append(pooled_features(batch).numpy())
    return np.concatenate(chunks).astype(np.float32)
