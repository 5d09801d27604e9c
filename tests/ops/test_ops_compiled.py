"""What XLA makes of the shared compiled pipeline: one pass writes the batch.

These read the optimised HLO of the function the layers and the map share,
so they hold whatever the machine's speed: no full-size temporaries beyond
the output, and no random draw recomputed per pixel inside the mix.
"""

import re

import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing.ops.compiled import shared_compiled_pairing
from keras_samplepairing.ops.options import PairingOptions

SHAPE = (8, 16, 16, 3)
RESULT = re.compile(r"^\s*(?:ROOT )?%\S+ = \w+\[([\d,]*)\]\S* ([\w-]+)\(")
CALLS = re.compile(r"calls=%([\w.-]+)")


def entry_and_computations(hlo: str) -> tuple[list[str], dict[str, str]]:
    entry = hlo[hlo.index("\nENTRY") :].splitlines()[1:]
    blocks = re.findall(r"^%(\S+) \(.*?\n(.*?)^}", hlo, flags=re.S | re.M)
    return entry, dict(blocks)


def full_size_results(entry: list[str]) -> list[tuple[str, str]]:
    """``(op, called computation)`` of each entry instruction with a batch-sized result."""
    size = int(np.prod(SHAPE))
    found = []
    for line in entry:
        match = RESULT.match(line)
        if not match:
            continue
        dims, op = match.groups()
        calls = CALLS.search(line)
        elements = int(np.prod([int(d) for d in dims.split(",")])) if dims else 1
        if elements == size and op not in ("parameter", "bitcast", "get-tuple-element"):
            found.append((op, calls.group(1) if calls else None))
    return found


@pytest.mark.parametrize(
    "options, dtype",
    [
        ({}, "float32"),
        ({}, "uint8"),
        ({"pairing": "most_similar"}, "float32"),
        ({"lam": "beta", "label_mode": "mix", "num_classes": 4}, "float32"),
        ({"rate": 0.5, "label_mode": "mix", "num_classes": 4}, "float32"),
    ],
)
def test_one_full_size_buffer_and_no_per_pixel_draws(options, dtype):
    options = PairingOptions(**options)
    batch = {
        "images": tf.zeros(SHAPE, dtype),
        "labels": tf.constant(np.arange(SHAPE[0]) % 4, tf.int32),
    }
    function = shared_compiled_pairing(options).function
    hlo = function.experimental_get_compiler_ir(
        batch, tf.constant([1, 2], tf.int64), tf.constant(True)
    )(stage="optimized_hlo")
    entry, computations = entry_and_computations(hlo)
    results = full_size_results(entry)
    # Exactly one batch-sized result: the fused mix writing the output.
    assert [op for op, _ in results] == ["fusion"], results
    if options.rate == 1.0:
        # Random bits (uint32) inside the mix would mean a draw made per pixel.
        assert "u32[" not in computations[results[0][1]]
