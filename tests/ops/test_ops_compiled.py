"""What XLA makes of the shared compiled pipeline: one pass writes the batch.

These read the optimised HLO of the functions the layers and the map share,
so they hold whatever the machine's speed: the apply writes the output and
no other full-size buffer and draws nothing; the draw makes no full-size
buffer at all.
"""

import dataclasses
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
    draw_hlo = compiled.compiled_draw.experimental_get_compiler_ir(
        images, None, seed, tf.constant(True), None
    )(stage="optimized_hlo")
    assert full_size_results(entry_and_computations(draw_hlo)[0]) == []


def test_one_draw_for_every_pairing_that_draws_alike():
    # XLA compiles the draw whatever jit_compile says (a Beta draw takes 1 to
    # 2 s), and the draw reads no option that only the apply reads: pairings
    # with and without jit_compile, or with other label options, share one
    # draw; labels are left out of it unless a class constraint reads them;
    # eager calls of the draw and apply on their own (get_random_transformation,
    # transform_*) call the same functions from a graph, where the layer's call
    # compiled them, instead of having TensorFlow compile them again.
    options = PairingOptions.from_kwargs("test", lam="beta", label_mode="mix", num_classes=4)
    xp = tensorflow_namespace()
    compiled = shared_compiled_pairing(options, xp, jit_compile=True)
    plain = shared_compiled_pairing(options, xp, jit_compile=False)
    assert plain.compiled_draw is compiled.compiled_draw
    assert plain.apply_dense is not compiled.apply_dense
    relabelled = dataclasses.replace(
        options, label_mode="first", num_classes=None, label_smoothing=0.1
    )
    assert shared_compiled_pairing(relabelled, xp).compiled_draw is compiled.compiled_draw
    constrained = dataclasses.replace(options, class_constraint="different")
    assert shared_compiled_pairing(constrained, xp).compiled_draw is not compiled.compiled_draw
    eager = compiled.from_eager()
    assert eager is compiled.from_eager() and eager.options == options
    assert eager.compiled_draw.python_function is compiled.compiled_draw
    assert eager.apply_dense.python_function is compiled.apply_dense
    # Labels of any kind and images of any size (the draw reads the batch size
    # only, here) run one program. The odd λ keeps this draw to this test.
    fresh = shared_compiled_pairing(dataclasses.replace(options, lam=0.37), xp)
    seed, on = tf.constant([1, 2], tf.int64), tf.constant(True)
    for labels in (tf.constant([0, 1, 2, 3]), tf.one_hot([0, 1, 2, 3], 4), None):
        for images in (tf.zeros((4, 2, 2, 1)), tf.zeros((4, 8, 8, 3), tf.uint8)):
            fresh.draw(images, labels, seed, on)
    assert fresh.compiled_draw.experimental_get_tracing_count() == 1
    # Channel and spatial draws read the channels, or the height and width,
    # and nothing else of the images: batches that differ elsewhere (in dtype
    # too: mixed precision, uint8) trace one draw. Traced, not compiled.
    for mixing, sizes in (("channel", [(2, 2, 3), (8, 8, 3)]), ("spatial", [(8, 8, 1), (8, 8, 3)])):
        nonlinear = dataclasses.replace(options, mixing=mixing, alpha=0.37)
        for data_format in ("channels_last", "channels_first"):
            pairing = shared_compiled_pairing(
                dataclasses.replace(nonlinear, data_format=data_format), xp
            )
            for size in sizes:
                shape = (4, *size) if data_format == "channels_last" else (4, size[2], *size[:2])
                for dtype in (tf.float32, tf.float16, tf.uint8):
                    spec = tf.TensorSpec(shape, dtype)
                    tf.function(pairing.draw).get_concrete_function(spec, None, seed, on)
            assert pairing.compiled_draw.experimental_get_tracing_count() == 1, (
                mixing,
                data_format,
            )


class _Recording:
    """Options that note each one read."""

    def __init__(self, options):
        self._options, self.read = options, set()

    def __getattr__(self, name):
        self.read.add(name)
        return getattr(self._options, name)


@pytest.mark.parametrize(
    "options",
    [
        {"label_mode": "mix", "num_classes": 4, "label_smoothing": 0.1},
        {"lam": "beta", "mixing": "spatial", "rate": 0.5, "bounding_box_format": "xywh"},
        {"pairing": "sample", "lam": "similarity", "class_constraint": "same"},
        {"lam": "beta", "mixing": "channel", "passthrough_keys": ("ids",), "features": "histogram"},
    ],
)
def test_the_draw_reads_no_option_that_only_the_apply_reads(options):
    from keras_samplepairing.ops import draw_batch_pairing, draw_pairing
    from keras_samplepairing.ops.draw import PartnerChoice
    from keras_samplepairing.ops.options import APPLY_ONLY

    recording = _Recording(PairingOptions(**options))
    images, labels = tf.zeros((4, 4, 4, 3)), tf.constant([0, 1, 0, 1])
    seed = tf.constant([1, 2], tf.int64)
    draw_batch_pairing(seed, images, recording, labels)
    choice = PartnerChoice(tf.constant([1, 0, 3, 2]), tf.ones([4], tf.bool), tf.fill([4], 0.5))
    draw_pairing(seed, images, choice, recording)
    assert recording.read and not recording.read & set(APPLY_ONLY), recording.read
