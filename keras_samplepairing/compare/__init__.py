"""Which variant helps? A comparison runner with honest numbers.

``compare(...)`` (or ``python -m keras_samplepairing compare``) trains one
small model per (variant, seed) on the same data, with the same model,
optimizer, epochs, basic augmentation, schedule and seeds, and reports each
variant's final-epoch test error with a t-interval over seeds and its paired
difference from the baseline, adjusted by Holm for the number of
comparisons.
"""

from keras_samplepairing.compare.data import ComparisonData, load_data
from keras_samplepairing.compare.runner import compare, execute, main, prepare
from keras_samplepairing.compare.stats import compare_paired, holm, summarize
from keras_samplepairing.compare.variants import (
    DEFAULT_VARIANTS,
    VARIANTS,
    Variant,
    describe_variants,
    select_variants,
)

__all__ = [
    "DEFAULT_VARIANTS",
    "VARIANTS",
    "ComparisonData",
    "Variant",
    "compare",
    "compare_paired",
    "describe_variants",
    "execute",
    "holm",
    "load_data",
    "main",
    "prepare",
    "select_variants",
    "summarize",
]
