"""The static options of a SamplePairing transform, validated once."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable
from typing import Any

from keras_samplepairing.ops.boxes import BOX_FORMATS
from keras_samplepairing.ops.mixing import LAMBDA_STRATEGIES, MIXINGS
from keras_samplepairing.ops.pairing import CLASS_CONSTRAINTS, PAIRINGS
from keras_samplepairing.ops.similarity import SIMILARITIES
from keras_samplepairing.ops.targets import LABEL_MODES

FEATURES = ("pooled", "histogram")
DATA_FORMATS = ("channels_last", "channels_first")


def _choice(name: str, value: Any, allowed: tuple) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"`{name}` must be one of {allowed}, got {value!r}.")


def _unit_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number in [0, 1], got {value!r}.")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"`{name}` must be in [0, 1], got {value}.")
    return float(value)


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a positive number, got {value!r}.")
    if not value > 0:
        raise ValueError(f"`{name}` must be > 0, got {value}.")
    return float(value)


@dataclasses.dataclass(frozen=True)
class PairingOptions:
    """Everything that decides how a batch is paired and mixed.

    The fields are documented on ``keras_samplepairing.SamplePairing``. They
    are checked here, when a layer or map function is made, so a bad option
    fails at construction with the option's name in the message.
    """

    lam: float | str = 0.5
    alpha: float = 1.0
    lam_range: tuple[float, float] = (0.0, 1.0)
    rate: float = 1.0
    label_mode: str = "first"
    num_classes: int | None = None
    pairing: str = "random"
    similarity: str = "cosine"
    features: str | Callable = "pooled"
    temperature: float = 1.0
    class_constraint: str = "any"
    mixing: str = "linear"
    grid_size: int = 4
    value_range: tuple[float, float] = (0.0, 255.0)
    data_format: str = "channels_last"
    bounding_box_format: str = "xyxy"
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.lam, str):
            _choice("lam", self.lam, LAMBDA_STRATEGIES)
        else:
            object.__setattr__(self, "lam", _unit_number("lam", self.lam))
        object.__setattr__(self, "alpha", _positive("alpha", self.alpha))
        if not (isinstance(self.lam_range, (tuple, list)) and len(self.lam_range) == 2):
            raise ValueError(f"`lam_range` must be a pair (min, max), got {self.lam_range!r}.")
        low = _unit_number("lam_range[0]", self.lam_range[0])
        high = _unit_number("lam_range[1]", self.lam_range[1])
        if low > high:
            raise ValueError(f"`lam_range` must have min <= max, got {self.lam_range!r}.")
        object.__setattr__(self, "lam_range", (low, high))
        object.__setattr__(self, "rate", _unit_number("rate", self.rate))
        _choice("label_mode", self.label_mode, LABEL_MODES)
        if self.num_classes is not None and (
            isinstance(self.num_classes, bool)
            or not isinstance(self.num_classes, numbers.Integral)
            or self.num_classes < 1
        ):
            raise ValueError(f"`num_classes` must be a positive int, got {self.num_classes!r}.")
        _choice("pairing", self.pairing, PAIRINGS)
        _choice("similarity", self.similarity, SIMILARITIES)
        if not callable(self.features):
            _choice("features", self.features, FEATURES)
        object.__setattr__(self, "temperature", _positive("temperature", self.temperature))
        _choice("class_constraint", self.class_constraint, CLASS_CONSTRAINTS)
        _choice("mixing", self.mixing, MIXINGS)
        if self.mixing != "linear" and self.lam != "beta":
            raise ValueError(
                f"`mixing={self.mixing!r}` varies λ inside each sample, so it needs a "
                f"random λ: pass `lam='beta'` (got `lam={self.lam!r}`)."
            )
        if (
            isinstance(self.grid_size, bool)
            or not isinstance(self.grid_size, numbers.Integral)
            or self.grid_size < 1
        ):
            raise ValueError(f"`grid_size` must be a positive int, got {self.grid_size!r}.")
        if not (
            isinstance(self.value_range, (tuple, list))
            and len(self.value_range) == 2
            and float(self.value_range[0]) < float(self.value_range[1])
        ):
            raise ValueError(
                f"`value_range` must be (low, high) with low < high, got {self.value_range!r}."
            )
        object.__setattr__(self, "value_range", tuple(float(v) for v in self.value_range))
        _choice("data_format", self.data_format, DATA_FORMATS)
        _choice("bounding_box_format", self.bounding_box_format, BOX_FORMATS)
        smoothing = _unit_number("label_smoothing", self.label_smoothing)
        if smoothing >= 1.0:
            raise ValueError(f"`label_smoothing` must be in [0, 1), got {smoothing}.")
        object.__setattr__(self, "label_smoothing", smoothing)

    @property
    def needs_similarity(self) -> bool:
        """Whether pairing or λ depends on the similarity matrix."""
        return self.pairing != "random" or self.lam == "similarity"
