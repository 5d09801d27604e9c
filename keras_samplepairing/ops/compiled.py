"""The pipeline behind one compiled function, shared by the layers and the map."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from keras_samplepairing.ops.boxes import mix_boxes
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.pipeline import sample_pairing


class CompiledPairing:
    """``sample_pairing`` for fixed options, as one ``tf.function``.

    With ``jit_compile=True`` XLA fuses the partner gather and the mix into
    one pass over the batch; plain TensorFlow would run each elementwise op
    as its own pass with its own full-size temporary. Inside an outer
    XLA-compiled function (a model compiled with ``jit_compile=True``) the
    function is simply inlined.

    XLA has no ragged kernels, so ragged bounding boxes are held out of the
    compiled call and mixed afterwards with the partners and λ it chose.

    Args:
        options: the transform's options.
        jit_compile: compile with XLA.
        feature_fn: optional ``images -> features`` for similarity, overriding
            ``options.features``.
    """

    def __init__(
        self, options: PairingOptions, jit_compile: bool = True, feature_fn: Callable | None = None
    ) -> None:
        self.options = options
        self.jit_compile = jit_compile
        self.feature_fn = feature_fn
        self.function = tf.function(self._pair, jit_compile=jit_compile)

    def _pair(self, batch: dict, seed: tf.Tensor, enabled: tf.Tensor) -> tuple[dict, dict]:
        return sample_pairing(
            batch, seed, self.options, enabled=enabled, feature_fn=self.feature_fn
        )

    def __call__(self, batch: dict, seed: tf.Tensor, enabled: tf.Tensor) -> tuple[dict, dict]:
        """Pairs ``batch`` (tensors, as ``check_batch`` returns it); see ``sample_pairing``."""
        boxes = batch.get("bounding_boxes")
        ragged = isinstance(boxes, dict) and isinstance(boxes.get("boxes"), tf.RaggedTensor)
        if ragged:
            batch = {k: v for k, v in batch.items() if k != "bounding_boxes"}
        outputs, info = self.function(batch, tf.cast(seed, tf.int64), tf.cast(enabled, tf.bool))
        if ragged:
            outputs["bounding_boxes"] = mix_boxes(
                boxes, info["partners"], info["weights"], info["paired"]
            )
        return outputs, info


_SHARED: dict = {}


def shared_compiled_pairing(
    options: PairingOptions, jit_compile: bool = True, feature_fn: Callable | None = None
) -> CompiledPairing:
    """The ``CompiledPairing`` for these options, shared by every caller.

    TensorFlow caches XLA executables per function object, so layers and map
    functions with equal options share one function and compile once per
    input signature instead of once each. The function holds no state (seeds
    and switches are arguments), which makes sharing safe. Options holding a
    Keras model are not shared, so no model is kept alive here.
    """
    if callable(options.features):
        return CompiledPairing(options, jit_compile, feature_fn)
    key = (options, jit_compile, feature_fn)
    if key not in _SHARED:
        _SHARED[key] = CompiledPairing(options, jit_compile, feature_fn)
    return _SHARED[key]
