"""What XLA makes of the shared compiled pipeline: one pass writes the batch.

These read the optimised HLO of the functions the layers and the map share,
so they hold whatever the machine's speed: the apply writes the output and
no other full-size buffer and draws nothing; the draw makes no full-size
buffer at all.
"""

import re

import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing.engine.compiled import shared_compiled_pairing
from keras_samplepairing.ops.namespace import tensorflow_namespace
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
    images = tf.zeros(SHAPE, dtype)
    labels = tf.constant(np.arange(SHAPE[0]) % 4, tf.int32)
    compiled = shared_compiled_pairing(options, tensorflow_namespace())
    seed = tf.constant([1, 2], tf.int64)
    pairing = compiled.draw(images, labels, seed, tf.constant(True))
    batch = {"images": images, "labels": labels}
    hlo = compiled.apply_dense.experimental_get_compiler_ir(batch, pairing, None)(
        stage="optimized_hlo"
    )
    entry, _ = entry_and_computations(hlo)
    results = full_size_results(entry)
    # Exactly one batch-sized result: the fused mix writing the output.
    assert [op for op, _ in results] == ["fusion"], results
    # The apply draws nothing: every random number is in the (small) draw.
    assert "rng" not in hlo and "u32[" not in hlo
    draw_hlo = compiled.draw.experimental_get_compiler_ir(
        images, labels, seed, tf.constant(True), None
    )(stage="optimized_hlo")
    assert full_size_results(entry_and_computations(draw_hlo)[0]) == []


def test_one_draw_compiled_once_with_or_without_xla_and_called_eagerly():
    # XLA compiles the draw either way (a Beta draw takes 1 to 2 s): a layer
    # with jit_compile=False shares the draw of one with True, and eager
    # calls of the draw and apply on their own (get_random_transformation,
    # transform_*) call the same functions from a graph, where the layer's
    # call compiled them, instead of having TensorFlow compile them again.
    options = PairingOptions.from_kwargs("test", lam="beta", label_mode="mix", num_classes=4)
    xp = tensorflow_namespace()
    compiled = shared_compiled_pairing(options, xp, jit_compile=True)
    plain = shared_compiled_pairing(options, xp, jit_compile=False)
    assert plain.draw is compiled.draw and plain.apply_dense is not compiled.apply_dense
    eager = compiled.from_eager()
    assert eager is compiled.from_eager() and eager.options == options
    assert eager.draw.python_function is compiled.draw
    assert eager.apply_dense.python_function is compiled.apply_dense
