"""Keras models that train with SamplePairing."""

from keras_samplepairing.models.pairing_model import PairingModel

__all__ = ["PairingModel"]
