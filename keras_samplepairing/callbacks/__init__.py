"""Keras callbacks: the paper's on/off schedule, and rebuilding a partner index
as the model learns."""

from keras_samplepairing.callbacks.refresh import PartnerIndexRefresh
from keras_samplepairing.callbacks.schedule import SamplePairingSchedule

__all__ = ["PartnerIndexRefresh", "SamplePairingSchedule"]
