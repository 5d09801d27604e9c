"""The comparison's statistics: means, t-intervals, paired differences, Holm.

Every number here is over seeds. A variant and the baseline are compared
seed by seed (the same seed gives both the same initial weights, shifts and
shuffling where they share them), so the paired differences carry the
comparison; with one seed there is no spread and every interval or p-value
is None ("n/a"), never a number.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

CONFIDENCE = 0.95
ALPHA = 0.05


@dataclasses.dataclass(frozen=True)
class Summary:
    """Mean and t-interval of one variant's values over seeds.

    Attributes:
        n: number of seeds.
        mean: their mean.
        std: sample standard deviation (ddof=1); None for n = 1.
        half_width: half-width of the ``confidence`` t-interval,
            ``t(1 - (1 - confidence)/2, n - 1) * std / sqrt(n)``; None for n = 1.
    """

    n: int
    mean: float
    std: float | None
    half_width: float | None


@dataclasses.dataclass(frozen=True)
class Paired:
    """A variant against the baseline, seed by seed.

    Attributes:
        seeds: the seeds both have, ascending.
        mean_difference: mean of (variant - baseline) over those seeds.
        half_width: the difference's t-interval half-width (None for n = 1).
        relative: ``mean_difference / baseline mean`` over the same seeds
            (None when the baseline's mean is 0).
        wins: seeds where the variant's value is lower (better).
        ties: seeds where they are equal.
        losses: seeds where it is higher.
        p_value: two-sided paired t-test p-value (None for n = 1).
    """

    seeds: tuple[int, ...]
    mean_difference: float
    half_width: float | None
    relative: float | None
    wins: int
    ties: int
    losses: int
    p_value: float | None

    @property
    def n(self) -> int:
        """Number of paired seeds."""
        return len(self.seeds)


def t_quantile(confidence: float, n: int) -> float:
    """The two-sided ``confidence`` quantile of Student's t with n - 1 degrees of freedom."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> Summary:
    """Mean, standard deviation and t-interval half-width of ``values``.

    Args:
        values: one value per seed (at least one).
        confidence: the interval's coverage, in (0, 1).

    Raises:
        ValueError: no values, a non-finite value, or a bad ``confidence``.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"`values` must be a non-empty list of numbers, got {values!r}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`values` must be finite, got {values!r}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"`confidence` must be in (0, 1), got {confidence!r}.")
    n, mean = int(array.size), float(array.mean())
    if n == 1:
        return Summary(1, mean, None, None)
    std = float(array.std(ddof=1))
    return Summary(n, mean, std, t_quantile(confidence, n) * std / math.sqrt(n))


def paired_t_p_value(differences: Sequence[float]) -> float | None:
    """Two-sided p-value of the paired t-test that the mean difference is 0.

    None for fewer than 2 differences. When all differences are equal (to
    12 decimals: test errors are counts over the test set, whose differences
    differ in the last bits) the t statistic has no spread, and its limit,
    p = 0, would call "one image worse on every seed" certain. The exact
    two-sided sign test answers instead: 1.0 when they are all 0, else
    ``2 · 0.5^n`` (5 seeds: 0.0625). With any spread the t-test answers, and
    can be the smaller of the two.
    """
    from scipy import stats

    array = np.round(np.asarray(differences, dtype=np.float64), 12)
    n = int(array.size)
    if n < 2:
        return None
    std = float(array.std(ddof=1))
    mean = float(array.mean())
    if std == 0.0 or np.all(array == array[0]):
        return 1.0 if mean == 0.0 else min(1.0, 2.0 * 0.5**n)
    t = mean / (std / math.sqrt(n))
    return float(2.0 * stats.t.sf(abs(t), n - 1))


def compare_paired(
    variant: Mapping[int, float],
    baseline: Mapping[int, float],
    confidence: float = CONFIDENCE,
) -> Paired:
    """A variant's values against the baseline's, on the seeds both have.

    Args:
        variant: value by seed (lower is better: an error).
        baseline: the baseline's value by seed.
        confidence: the difference's interval coverage.

    Raises:
        ValueError: the two share no seed.
    """
    seeds = tuple(sorted(set(variant) & set(baseline)))
    if not seeds:
        raise ValueError(
            f"No seed in common: the variant has {sorted(variant)}, the baseline {sorted(baseline)}."
        )
    ours = np.array([variant[s] for s in seeds], dtype=np.float64)
    theirs = np.array([baseline[s] for s in seeds], dtype=np.float64)
    differences = ours - theirs
    summary = summarize(differences.tolist(), confidence)
    base_mean = float(theirs.mean())
    return Paired(
        seeds=seeds,
        mean_difference=summary.mean,
        half_width=summary.half_width,
        relative=None if base_mean == 0.0 else summary.mean / base_mean,
        wins=int(np.sum(ours < theirs)),
        ties=int(np.sum(ours == theirs)),
        losses=int(np.sum(ours > theirs)),
        p_value=paired_t_p_value(differences.tolist()),
    )


def holm(
    p_values: Mapping[Hashable, float | None], alpha: float = ALPHA
) -> dict[Hashable, tuple[float | None, bool | None]]:
    """Holm's step-down adjustment of several p-values for multiplicity.

    With m p-values sorted ascending, ``p_(i)`` (i = 1..m) is adjusted to
    ``max_{j <= i} min(1, (m - j + 1) · p_(j))``; a difference survives when
    its adjusted p-value is <= ``alpha``. This controls the chance of any
    false "yes" among the m comparisons at ``alpha``.

    Args:
        p_values: p-value by name (any key: a grid names its comparisons
            ``(cell, variant)``); None (one seed) takes no part in the
            adjustment. NumPy scalars are numbers.
        alpha: the family-wise error rate.

    Returns:
        By name, ``(adjusted p-value, survives)``; ``(None, None)`` where the
        p-value was None.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"`alpha` must be a number, got {alpha!r}.")
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}.")
    given: dict[Hashable, float] = {}
    for name, p in p_values.items():
        if p is None:
            continue
        # NumPy scalars (np.float32 is no Python float) are numbers too.
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p-value of {name!r} must be a number in [0, 1], got {p!r}.")
        given[name] = float(p)
    order = sorted(given, key=lambda name: given[name])
    m = len(order)
    result: dict[Hashable, tuple[float | None, bool | None]] = {
        name: (None, None) for name in p_values if p_values[name] is None
    }
    running = 0.0
    for rank, name in enumerate(order):
        running = max(running, min(1.0, (m - rank) * given[name]))
        result[name] = (running, running <= alpha)
    return {name: result[name] for name in p_values}
