"""Checking the user's numbers and flags: a clear error naming the argument,
NumPy scalars accepted wherever a number is."""

from __future__ import annotations

import math
import numbers
from typing import Any


def count(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (NumPy integers too).

    Raises:
        TypeError, ValueError: naming ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}.")
    return int(value)


def number(name: str, value: Any, low: float, high: float | None = None) -> float:
    """``value`` as a float in ``[low, high]`` (NumPy scalars too).

    Raises:
        TypeError, ValueError: naming ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise TypeError(f"`{name}` must be a number, got {value!r}.")
    value = float(value)
    if value < low or (high is not None and value > high):
        bound = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
        raise ValueError(f"`{name}` must be {bound}, got {value:g}.")
    return value


def flag(name: str, value: Any) -> bool:
    """``value``, which must be True or False (not a truthy stand-in)."""
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be True or False, got {value!r}.")
    return value
