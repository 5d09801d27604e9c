"""Keras layers: configuration, seeds and the training flag over the ops."""

from keras_samplepairing.layers.feature_sample_pairing import FeatureSamplePairing
from keras_samplepairing.layers.sample_pairing import SamplePairing

__all__ = ["FeatureSamplePairing", "SamplePairing"]
