"""SamplePairing image augmentation for Keras 3 / TensorFlow."""

from keras_samplepairing import ops
from keras_samplepairing.data import SamplePairingMap, samplepairing_map
from keras_samplepairing.layers import FeatureSamplePairing, SamplePairing
from keras_samplepairing.pairing_model import PairingModel

__version__ = "0.1.0"

__all__ = [
    "FeatureSamplePairing",
    "PairingModel",
    "SamplePairing",
    "SamplePairingMap",
    "ops",
    "samplepairing_map",
]
