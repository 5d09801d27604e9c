"""Timing in rounds, so every number says how sure it is.

A benchmark run times its cases in ``rounds``: in each round every case of a
group is called ``per_round`` times, round-robin with the others, and the
round's value of a case is the median of those calls. A ratio between two
rows is taken within each round (the two were timed side by side, so a noisy
spell of a shared machine hits both) and reported as the median over the
rounds with the min-max beside it. Targets are judged on the median.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

# Fewer rounds than this give a min-max range that says little.
MIN_ROUNDS = 5


def check_rounds(rounds: int) -> int:
    """``rounds`` if it is an int of at least ``MIN_ROUNDS``, else a ``ValueError``."""
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < MIN_ROUNDS:
        raise ValueError(f"`rounds` must be an int >= {MIN_ROUNDS}, got {rounds!r}.")
    return rounds


def spread(key: str, values: Sequence[float]) -> dict:
    """``{key: median, key_range: [min, max], key_rounds: values}``: one
    number measured once per round."""
    values = [float(v) for v in values]
    return {
        key: statistics.median(values),
        f"{key}_range": [min(values), max(values)],
        f"{key}_rounds": values,
    }


def timing(rounds_ms: Sequence[float]) -> dict:
    """A row's time fields: the median over rounds, their min-max, each round's value."""
    rounds_ms = [float(v) for v in rounds_ms]
    return {
        "median_ms": statistics.median(rounds_ms),
        "min_ms": min(rounds_ms),
        "max_ms": max(rounds_ms),
        "rounds_ms": rounds_ms,
    }


def ratio(key: str, numerators: Sequence[float], denominators: Sequence[float]) -> dict:
    """``spread`` of the ratio of two rows' values, round by round."""
    if len(numerators) != len(denominators):
        raise ValueError(
            f"A ratio needs values of the same rounds, got {len(numerators)} and "
            f"{len(denominators)}."
        )
    return spread(key, [a / b for a, b in zip(numerators, denominators, strict=True)])


def time_rounds(
    cases: Sequence[tuple[str, Callable[[], object]]],
    rounds: int,
    per_round: int,
    warmup: int = 2,
) -> dict[str, list[float]]:
    """Each case's value in each round, in milliseconds.

    Args:
        cases: ``(name, fn)`` pairs, timed round-robin: each pass calls every
            case once.
        rounds: how many rounds.
        per_round: calls of each case per round; the round's value is their
            median.
        warmup: untimed calls of each case first (compiling, filling caches).

    Returns:
        ``{name: [round value, ...]}``.
    """
    for _, fn in cases:
        for _ in range(warmup):
            fn()
    found: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(rounds):
        calls: dict[str, list[float]] = {name: [] for name, _ in cases}
        for _ in range(per_round):
            for name, fn in cases:
                start = time.perf_counter()
                fn()
                calls[name].append((time.perf_counter() - start) * 1e3)
        for name, times in calls.items():
            found[name].append(statistics.median(times))
    return found


def range_text(row: dict, key: str, spec: str = ".2f", unit: str = "") -> str:
    """``"min–max"`` of a spread ``key`` of ``row`` (empty when it has none)."""
    low_high = row.get(f"{key}_range")
    if low_high is None:
        return ""
    low, high = low_high
    return f"{format(low, spec)}–{format(high, spec)}{unit}"
