"""SamplePairing in ``tf.data`` pipelines: the map function over batches and
partners from the whole training set."""

from keras_samplepairing.data.map import SamplePairingMap, samplepairing_map
from keras_samplepairing.data.whole_set import pair_with_dataset

__all__ = ["SamplePairingMap", "pair_with_dataset", "samplepairing_map"]
