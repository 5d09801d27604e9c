"""Which variant helps? A comparison runner with honest numbers.

``compare(...)`` (or ``python -m keras_samplepairing compare``) trains one
model per (variant, seed) on the same data, with the same model, basic
augmentation, optimizer, learning-rate schedule, epochs and seeds, and
reports each variant's final-epoch test error with a t-interval over seeds
and its paired difference from the baseline, adjusted by Holm for the number
of comparisons. The model, augmentation, recipe and data can be the user's,
and a grid of recipes maps where pairing helps and where it hurts.

The names below are imported on first use, so the command line answers
``--help`` and ``--list`` without loading TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ComparisonData": "keras_samplepairing.compare.data",
    "load_data": "keras_samplepairing.compare.datasets",
    "load_digits_split": "keras_samplepairing.compare.datasets",
    "compare": "keras_samplepairing.compare.runner",
    "execute": "keras_samplepairing.compare.runner",
    "prepare": "keras_samplepairing.compare.plan",
    "main": "keras_samplepairing.compare.cli",
    "compare_paired": "keras_samplepairing.compare.stats",
    "holm": "keras_samplepairing.compare.stats",
    "summarize": "keras_samplepairing.compare.stats",
    "DEFAULT_VARIANTS": "keras_samplepairing.compare.variants",
    "VARIANTS": "keras_samplepairing.compare.variants",
    "Variant": "keras_samplepairing.compare.variants",
    "describe_variants": "keras_samplepairing.compare.variants",
    "select_variants": "keras_samplepairing.compare.variants",
    "TrainConfig": "keras_samplepairing.compare.training",
    "build_model": "keras_samplepairing.compare.models",
    "compact": "keras_samplepairing.compare.models",
    "wide": "keras_samplepairing.compare.models",
    "resnet": "keras_samplepairing.compare.models",
    "PixelShift": "keras_samplepairing.compare.augmentations",
    "basic_augmentation": "keras_samplepairing.compare.augmentations",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
