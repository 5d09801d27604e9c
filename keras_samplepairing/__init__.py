"""SamplePairing image augmentation for Keras 3, on every backend."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

__version__ = "0.1.0"

# Each public name and the module it lives in.
_PUBLIC = {
    "FeatureSamplePairing": "keras_samplepairing.layers",
    "PairingModel": "keras_samplepairing.models",
    "PairingOptions": "keras_samplepairing.ops.options",
    "PartnerIndex": "keras_samplepairing.data",
    "PartnerIndexRefresh": "keras_samplepairing.callbacks",
    "SamplePairing": "keras_samplepairing.layers",
    "SamplePairingMap": "keras_samplepairing.data",
    "SamplePairingSchedule": "keras_samplepairing.callbacks",
    "WholeSetPairing": "keras_samplepairing.data",
    "ops": "keras_samplepairing",
    "pair_with_dataset": "keras_samplepairing.data",
    "plot_partners": "keras_samplepairing.visualization",
    "samplepairing_map": "keras_samplepairing.data",
    "truncated_model": "keras_samplepairing.data",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'keras_samplepairing' has no attribute {name!r}")
    module = importlib.import_module(_PUBLIC[name])
    value = module if name == "ops" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


# Set by the command for the processes it starts (a comparison's workers).
COMMAND_ENVIRONMENT = "KERAS_SAMPLEPAIRING_COMMAND"


def _running_as_command() -> bool:
    """Whether this import starts the package's own command
    (``python -m keras_samplepairing ...`` or the console script), or one of
    the processes it starts."""
    if os.environ.get(COMMAND_ENVIRONMENT) == "1":
        return True
    argv = getattr(sys, "orig_argv", [])
    as_module = any(
        flag == "-m" and target == "keras_samplepairing"
        for flag, target in zip(argv, argv[1:], strict=False)
    )
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    return as_module or script == "keras-samplepairing"


# A library import loads every public name at once, so the layers are
# registered with Keras's saving before a model that holds them is loaded.
# The command loads only what it runs, quietly: its --help needs no
# TensorFlow, and TensorFlow's start-up lines are hidden unless asked for.
if not _running_as_command():
    for _name in __all__:
        __getattr__(_name)
    del _name
