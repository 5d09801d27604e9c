"""SamplePairing on hidden features (feature-level mixing)."""

from __future__ import annotations

from typing import Any

import keras

from keras_samplepairing.layers.sample_pairing import SamplePairing
from keras_samplepairing.ops.features import flat_features


@keras.saving.register_keras_serializable(package="keras_samplepairing")
class FeatureSamplePairing(SamplePairing):
    """SamplePairing applied to hidden activations, as Manifold Mixup does.

    Place it between two blocks of a model. During ``fit`` it mixes each
    sample's hidden features with a partner's,
    ``h' = λ·h1 + (1 - λ)·h2``, and gradients flow through the mix to both
    samples; at inference (``predict``, ``evaluate``, export) it is exactly
    the identity. Labels never pass through it, so it follows the paper's
    label rule (the first sample's label) and ``model.fit`` needs no change.
    For labels mixed with the same λ and partner, use
    ``keras_samplepairing.PairingModel``.

    It takes one tensor of any rank >= 2 with the batch first: feature vectors
    ``(B, D)`` or feature maps ``(B, H, W, C)``. Similarity pairing compares
    the hidden features themselves (flattened). ``mixing="channel"`` mixes
    the last axis per channel; ``"spatial"`` needs 4-D feature maps.

    Args:
        **kwargs: ``SamplePairing``'s arguments, except those about labels,
            boxes and masks (``label_mode``, ``num_classes``,
            ``class_constraint``, ``label_smoothing``) and image features
            (``features``, ``value_range``), which do not apply here.

    Example:

    >>> inputs = keras.Input((32, 32, 3))
    >>> x = keras.layers.Conv2D(16, 3, activation="relu")(inputs)
    >>> x = FeatureSamplePairing(seed=0)(x)  # mixes feature maps in training
    >>> outputs = keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(x))
    >>> model = keras.Model(inputs, outputs)
    """

    # Similarity compares the hidden features themselves.
    _feature_fn = staticmethod(flat_features)
    _min_rank = 2

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("class_constraint", "any") != "any":
            raise ValueError(
                "`class_constraint` needs labels, which FeatureSamplePairing never sees; "
                "use PairingModel to pair hidden features by label."
            )
        if callable(kwargs.get("features")):
            raise ValueError(
                "`features` does not apply to FeatureSamplePairing: similarity compares the "
                "hidden features themselves."
            )
        super().__init__(**kwargs)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if isinstance(inputs, (dict, tuple, list)):
            raise TypeError(
                "FeatureSamplePairing takes one tensor of hidden features (batch first), got "
                f"a {type(inputs).__name__}."
            )
        return super().call(inputs, training)
