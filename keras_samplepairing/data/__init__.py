"""SamplePairing in ``tf.data`` pipelines: the map function over batches and
partners from the whole training set."""

from keras_samplepairing.data.index import PartnerIndex
from keras_samplepairing.data.map import SamplePairingMap, samplepairing_map
from keras_samplepairing.data.features import truncated_model, whole_set_features
from keras_samplepairing.data.whole_set import WholeSetPairing, pair_with_dataset

# The earlier name, kept for code that imports it.
set_features = whole_set_features

__all__ = [
    "PartnerIndex",
    "SamplePairingMap",
    "WholeSetPairing",
    "pair_with_dataset",
    "samplepairing_map",
    "set_features",
    "whole_set_features",
    "truncated_model",
]
