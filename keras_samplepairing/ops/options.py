"""The options of SamplePairing: each defined once, with its default and meaning.

``PairingOptions`` validates them once, when a layer, map or model is made,
so a bad option fails at construction with its name in the message. The
``SamplePairing`` layer writes them out in its signature and the ``Args`` of
its docstring, where a reader (or an IDE) looks for them; a test holds both,
and the layer's config, to this table.
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
from collections.abc import Callable, Iterable
from typing import Any

from keras_samplepairing.ops.boxes import BOX_FORMATS
from keras_samplepairing.ops.mixing import LAMBDA_STRATEGIES, MIXINGS
from keras_samplepairing.ops.partners import CLASS_CONSTRAINTS, PAIRINGS
from keras_samplepairing.ops.similarity import SIMILARITIES
from keras_samplepairing.ops.targets import LABEL_MODES

FEATURES = ("pooled", "histogram")
DATA_FORMATS = ("channels_last", "channels_first")
# What only the apply reads (how labels, boxes and pass-through keys are
# written): the draw, partners and weights, is the same whatever they are.
APPLY_ONLY = (
    "label_mode",
    "num_classes",
    "label_smoothing",
    "bounding_box_format",
    "passthrough_keys",
)


def _option(default: Any, doc: str) -> Any:
    return dataclasses.field(default=default, metadata={"doc": doc})


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


def positive_int(name: str, value: Any) -> int:
    """``value`` as a Python int >= 1 (NumPy integers included), or a ValueError
    naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
    return int(value)


def _pair(name: str, value: Any) -> tuple[float, float]:
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"`{name}` must be a pair (min, max), got {value!r}.")
    return value[0], value[1]


@dataclasses.dataclass(frozen=True)
class PairingOptions:
    """Everything that decides how a batch is paired and mixed."""

    lam: float | str = _option(
        0.5,
        "The first image's share λ. A number in [0, 1] (0.5, the paper), "
        '`"beta"` (λ ~ Beta(alpha, alpha) per sample) or `"similarity"` '
        "(λ = 1 - s/2 from the pair's similarity s in [0, 1]: 0.5 for "
        "identical partners, 1 for unrelated ones).",
    )
    alpha: float = _option(1.0, 'Beta concentration for `lam="beta"`, > 0.')
    lam_range: tuple[float, float] = _option((0.0, 1.0), "`(min, max)` every λ is clipped into.")
    rate: float = _option(
        1.0,
        "The share of the batch that is paired, in [0, 1]; each sample is "
        "paired with probability `rate`, the others pass through unchanged "
        "with their labels.",
    )
    label_mode: str = _option(
        "first",
        '`"first"` keeps the first image\'s labels untouched (the paper; any '
        'dtype); `"mix"` returns float `λ·y1 + (1 - λ)·y2`, one-hot encoding '
        "class indices with `num_classes`. With a λ that varies inside the "
        "image, a pair's label weight is the mean of its λ map. Sample "
        "weights follow the labels.",
    )
    num_classes: int | None = _option(
        None,
        'Number of classes; required for `label_mode="mix"` or '
        "`label_smoothing` with class indices.",
    )
    pairing: str = _option(
        "random",
        '`"random"` (the paper), `"most_similar"`, `"least_similar"` or '
        '`"sample"` (partner drawn from softmax(similarity / temperature)); '
        "never the image itself.",
    )
    similarity: str = _option(
        "cosine",
        '`"cosine"`, `"euclidean"` (1 / (1 + mean squared difference)) or '
        '`"kl"` (exp(-KL(anchor || partner))).',
    )
    features: str | Callable = _option(
        "pooled",
        'What similarity is computed on: `"pooled"` (images area-averaged to '
        '8x8, flattened), `"histogram"` (per-channel 16-bin intensity '
        "histograms over `value_range`), or a Keras model mapping the images, "
        "as given, to `(B, ...)` features. A model is called without gradient "
        "and saved with the layer, weights included.",
    )
    temperature: float = _option(1.0, 'Softmax temperature for `pairing="sample"`, > 0.')
    class_constraint: str = _option(
        "any",
        '`"any"` (the paper), `"same"` or `"different"`: which labels a '
        "partner may have. Needs labels. A sample with no allowed partner in "
        "its batch is left unpaired (returned unchanged).",
    )
    mixing: str = _option(
        "linear",
        '`"linear"` (one λ per sample), `"channel"` (one λ per sample and '
        'channel) or `"spatial"` (a smooth λ field, a `grid_size` grid '
        'upsampled bilinearly); the last two need `lam="beta"`.',
    )
    grid_size: int = _option(4, 'Grid side of the `"spatial"` λ field.')
    value_range: tuple[float, float] = _option(
        (0.0, 255.0), "`(low, high)` of pixel values, for histograms."
    )
    data_format: str | None = _option(
        None,
        '`"channels_last"` or `"channels_first"`; defaults to `keras.config.image_data_format()`.',
    )
    bounding_box_format: str = _option(
        "xyxy",
        'The boxes\' Keras format (`"xyxy"`, `"yxyx"`, `"xywh"`, '
        '`"center_xywh"`, `"rel_*"`, ...). Boxes are never moved (both images '
        "of a pair share one size), so any format stays valid for the mix.",
    )
    label_smoothing: float = _option(
        0.0,
        "ε in [0, 1). If > 0, labels come back as float one-hot labels "
        "smoothed once after mixing, `y·(1 - ε) + ε/K` (also for "
        '`label_mode="first"`; class indices need `num_classes`); binary '
        "targets `(B,)` or `(B, 1)` as binary cross-entropy smooths them, "
        "`y·(1 - ε) + ε/2`. Do not smooth again in the loss.",
    )
    passthrough_keys: tuple[str, ...] = _option(
        (),
        "Keys of a dict batch returned unchanged, for metadata that must not "
        "follow the mix (e.g. ids). Any other key besides the images, labels, "
        "sample weights, boxes and masks raises: a per-sample value left "
        "unmixed would silently belong to the wrong image.",
    )

    def __post_init__(self) -> None:
        if isinstance(self.lam, str):
            _choice("lam", self.lam, LAMBDA_STRATEGIES)
        else:
            self._set("lam", _unit_number("lam", self.lam))
        self._set("alpha", _positive("alpha", self.alpha))
        low, high = _pair("lam_range", self.lam_range)
        low, high = _unit_number("lam_range[0]", low), _unit_number("lam_range[1]", high)
        if low > high:
            raise ValueError(f"`lam_range` must have min <= max, got {self.lam_range!r}.")
        self._set("lam_range", (low, high))
        self._set("rate", _unit_number("rate", self.rate))
        _choice("label_mode", self.label_mode, LABEL_MODES)
        if self.num_classes is not None:
            self._set("num_classes", positive_int("num_classes", self.num_classes))
        _choice("pairing", self.pairing, PAIRINGS)
        _choice("similarity", self.similarity, SIMILARITIES)
        if not callable(self.features):
            _choice("features", self.features, FEATURES)
        self._set("temperature", _positive("temperature", self.temperature))
        _choice("class_constraint", self.class_constraint, CLASS_CONSTRAINTS)
        _choice("mixing", self.mixing, MIXINGS)
        if self.mixing != "linear" and self.lam != "beta":
            raise ValueError(
                f"`mixing={self.mixing!r}` varies λ inside each sample, so it needs a "
                f"random λ: pass `lam='beta'` (got `lam={self.lam!r}`)."
            )
        self._set("grid_size", positive_int("grid_size", self.grid_size))
        low, high = _pair("value_range", self.value_range)
        if not float(low) < float(high):
            raise ValueError(
                f"`value_range` must be (low, high) with low < high, got {self.value_range!r}."
            )
        self._set("value_range", (float(low), float(high)))
        if self.data_format is None:
            import keras

            self._set("data_format", keras.config.image_data_format())
        _choice("data_format", self.data_format, DATA_FORMATS)
        _choice("bounding_box_format", self.bounding_box_format, BOX_FORMATS)
        smoothing = _unit_number("label_smoothing", self.label_smoothing)
        if smoothing >= 1.0:
            raise ValueError(f"`label_smoothing` must be in [0, 1), got {smoothing}.")
        self._set("label_smoothing", smoothing)
        keys = self.passthrough_keys
        if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
            raise TypeError(f"`passthrough_keys` must be a tuple of strings, got {keys!r}.")
        self._set("passthrough_keys", tuple(keys))

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every option's name, in definition order."""
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def from_kwargs(cls, owner: str, **kwargs: Any) -> PairingOptions:
        """Options from keyword arguments; an unknown one is named, with the
        closest valid name suggested."""
        check_names(owner, kwargs, cls.names())
        return cls(**kwargs)

    def for_draw(self) -> PairingOptions:
        """These options with those only the apply reads (``APPLY_ONLY``) at
        their defaults: all that a draw depends on."""
        defaults = {f.name: f.default for f in dataclasses.fields(self) if f.name in APPLY_ONLY}
        return dataclasses.replace(self, **defaults)

    @property
    def needs_similarity(self) -> bool:
        """Whether pairing or λ depends on the similarity matrix."""
        return self.pairing != "random" or self.lam == "similarity"

    def to_config(self) -> dict:
        """The options as JSON-friendly config (a model in ``features`` is the
        caller's to serialize)."""
        config = {}
        for name in self.names():
            value = getattr(self, name)
            config[name] = list(value) if isinstance(value, tuple) else value
        return config


def check_names(owner: str, kwargs: dict, valid: Iterable[str]) -> None:
    """Raises a TypeError naming the first keyword ``owner`` does not take,
    with the closest valid name when one is close."""
    valid = list(valid)
    for name in kwargs:
        if name in valid:
            continue
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TypeError(f"{owner} got an unknown option {name!r}.{hint}")
