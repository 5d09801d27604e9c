"""SamplePairing image augmentation for Keras 3 / TensorFlow."""

from keras_samplepairing import ops
from keras_samplepairing.data import SamplePairingMap, samplepairing_map
from keras_samplepairing.layers import SamplePairing

__version__ = "0.1.0"

__all__ = ["SamplePairing", "SamplePairingMap", "ops", "samplepairing_map"]
