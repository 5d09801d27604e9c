"""SamplePairing image augmentation for Keras 3, on every backend."""

from keras_samplepairing import ops
from keras_samplepairing.callbacks import PartnerIndexRefresh, SamplePairingSchedule
from keras_samplepairing.data import (
    PartnerIndex,
    SamplePairingMap,
    WholeSetPairing,
    pair_with_dataset,
    samplepairing_map,
    truncated_model,
)
from keras_samplepairing.layers import FeatureSamplePairing, SamplePairing
from keras_samplepairing.models import PairingModel
from keras_samplepairing.ops.options import PairingOptions

__version__ = "0.1.0"

__all__ = [
    "FeatureSamplePairing",
    "PairingModel",
    "PairingOptions",
    "PartnerIndex",
    "PartnerIndexRefresh",
    "SamplePairing",
    "SamplePairingMap",
    "SamplePairingSchedule",
    "WholeSetPairing",
    "ops",
    "pair_with_dataset",
    "samplepairing_map",
    "truncated_model",
]
