"""Names: the user's functions as ``module:function``, and did-you-mean guesses."""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any


def is_reference(text: str) -> bool:
    """Whether ``text`` names a function as ``module:function``."""
    return isinstance(text, str) and ":" in text and not text.startswith(":")


def load_callable(reference: str, argument: str) -> Callable:
    """The function that ``module:function`` names (``package.module:outer.inner``).

    The module is imported as Python would from the current folder, so a
    ``my_models.py`` beside the command works as ``my_models:build``.

    Args:
        reference: ``module:function``.
        argument: the argument's name, for messages (``"model"``).

    Raises:
        ValueError: the module cannot be imported, or has no such function,
            or it is not callable (the message names ``argument``).
    """
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"`{argument}`: {reference!r} must be module:function.")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(
            f"`{argument}`: cannot import {module_name!r} from {reference!r} ({error})."
        ) from error
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValueError(f"`{argument}`: {module_name!r} has no {attribute!r}.")
        found = getattr(found, part)
    if not callable(found):
        raise ValueError(f"`{argument}`: {reference!r} is not a function.")
    return found


def callable_name(function: Callable) -> str:
    """``module:qualified.name`` of a function, as the results file records it."""
    module = getattr(function, "__module__", None) or "?"
    name = getattr(function, "__qualname__", None) or type(function).__name__
    return f"{module}:{name}"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'paper'?)`` for the closest known name, or ``""``."""
    close = difflib.get_close_matches(str(name).lower(), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
