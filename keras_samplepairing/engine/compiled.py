"""The draw and the apply for fixed options, compiled for one array namespace.

On TensorFlow the draw (partners and λ, a few values per sample) is always
compiled with XLA, so a seed gives the same pairing whether or not the apply
(the per-pixel mix, which XLA fuses into one pass over the batch) is
compiled: XLA's float kernels differ from TensorFlow's by an ulp, which
could flip a random choice. Under JAX both run inside ``jax.jit``; under
PyTorch they run eagerly.

XLA has no ragged kernels, so ragged bounding boxes are held out of the
compiled apply and mixed afterwards with the same pairing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras_samplepairing.engine.autograph import graph_features
from keras_samplepairing.ops.apply import apply_pairing, apply_to_bounding_boxes
from keras_samplepairing.ops.draw import (
    Pairing,
    PartnerChoice,
    draw_batch_pairing,
    draw_input,
    draw_pairing,
)
from keras_samplepairing.ops.options import PairingOptions


def _split_ragged_boxes(batch: dict, xp: Any) -> tuple[dict, dict | None]:
    boxes = batch.get("bounding_boxes")
    if isinstance(boxes, dict) and xp.is_ragged(boxes.get("boxes")):
        return {k: v for k, v in batch.items() if k != "bounding_boxes"}, boxes
    return batch, None


class CompiledPairing:
    """The draw and the apply for fixed options.

    Args:
        options: the transform's options.
        namespace: the array namespace module it runs on.
        jit_compile: compile the apply with XLA (TensorFlow) or the whole
            step with ``jax.jit`` (JAX).
        feature_fn: optional ``images -> features`` for similarity,
            overriding ``options.features``.
    """

    def __init__(
        self,
        options: PairingOptions,
        namespace: Any,
        jit_compile: bool = True,
        feature_fn: Callable | None = None,
    ) -> None:
        self.options = options
        # All the draw depends on (shared_compiled_pairing shares it by that),
        # and whether it reads the labels.
        self.draw_options = options.for_draw()
        self._draw_reads_labels = options.class_constraint != "any"
        self.xp = namespace
        self.jit_compile = jit_compile
        self.feature_fn = feature_fn
        if namespace.name == "tensorflow":
            import tensorflow as tf

            # AutoGraph rewrites a features function of the user's alone
            # (engine.autograph): the package's Python has no control flow on
            # tensors.
            if feature_fn is None:
                self.feature_fn = graph_features(options.features)
            self.compiled_draw = tf.function(self._draw, jit_compile=True, autograph=False)
            self.apply_dense = tf.function(self._apply, jit_compile=jit_compile, autograph=False)
            # TensorFlow compiles a function called eagerly apart from the
            # same function called from a graph (1 to 2 s again for a Beta
            # draw); eager callers of the draw and apply on their own
            # (``from_eager``) call them from a graph.
            self._from_eager = None
        else:
            self.compiled_draw = self._draw
            self.apply_dense = self._apply
            if jit_compile and _jax() and not callable(options.features):
                import jax

                # A features model is left out: jit would freeze its weights.
                self.compiled_draw = jax.jit(self._draw)
                self.apply_dense = jax.jit(self._apply)

    def draw(
        self,
        images: Any,
        labels: Any,
        seed: Any,
        enabled: Any,
        choice: PartnerChoice | None = None,
    ) -> Pairing:
        """Draws one pairing (see ``ops.draw_batch_pairing`` and ``ops.draw_pairing``).

        Args:
            images: the batch's images; their values are read only for
                similarity, their height, width and channels only by
                ``mixing="spatial"`` or ``"channel"``.
            labels: its labels, or None; read only by a class constraint.
            seed: stateless seed.
            enabled: scalar bool; False leaves every row unpaired.
            choice: partners from outside the batch, row by row; None pairs
                within the batch.
        """
        if choice is not None or not self._draw_reads_labels:
            labels = None  # unread: left out, labels of any shape share one program
        images = draw_input(images, self.draw_options)
        return self.compiled_draw(images, labels, seed, enabled, choice)

    def _draw(
        self,
        images: Any,
        labels: Any,
        seed: Any,
        enabled: Any,
        choice: PartnerChoice | None = None,
    ) -> Pairing:
        options = self.draw_options
        if choice is None:  # partners within the batch
            return draw_batch_pairing(
                seed, images, options, labels, enabled, feature_fn=self.feature_fn
            )
        return draw_pairing(seed, images, choice, options, enabled)

    def _apply(self, batch: dict, pairing: Pairing, partner_batch: dict | None) -> dict:
        return apply_pairing(batch, pairing, self.options, partner_batch)

    def from_eager(self) -> CompiledPairing:
        """This draw and apply, for callers that run them eagerly one at a
        time (a layer's ``get_random_transformation`` and ``transform_*``):
        on TensorFlow they are called from a graph, so they run the programs
        XLA compiled for the layer's ``call`` instead of compiling their own."""
        if self.xp.name != "tensorflow":
            return self
        if self._from_eager is None:
            import copy

            import tensorflow as tf

            twin = copy.copy(self)
            twin.compiled_draw = tf.function(self.compiled_draw, autograph=False)
            twin.apply_dense = tf.function(self.apply_dense, autograph=False)
            self._from_eager = twin
        return self._from_eager

    def apply(self, batch: dict, pairing: Pairing, partner_batch: dict | None = None) -> dict:
        """Applies ``pairing`` to every target of ``batch`` (see ``apply_pairing``)."""
        dense, boxes = _split_ragged_boxes(batch, self.xp)
        partner_boxes = None
        if boxes is not None and partner_batch is not None:
            partner_batch, partner_boxes = _split_ragged_boxes(partner_batch, self.xp)
        outputs = self.apply_dense(dense, pairing, partner_batch)
        if boxes is not None:
            outputs["bounding_boxes"] = apply_to_bounding_boxes(boxes, pairing, partner_boxes)
        return outputs

    def __call__(
        self,
        batch: dict,
        seed: Any,
        enabled: Any,
        partners: tuple[PartnerChoice, dict] | None = None,
    ) -> tuple[dict, Pairing]:
        """Draws and applies one pairing; returns the outputs and the pairing.

        Args:
            batch: the checked batch.
            seed: stateless seed.
            enabled: scalar bool; False leaves every row unpaired.
            partners: ``(choice, partner_batch)`` for partners from outside
                the batch, row by row; None pairs within the batch.
        """
        xp = self.xp
        seed = xp.seed_tensor(seed)
        enabled = xp.asarray(enabled, "bool")
        choice, partner_batch = (None, None) if partners is None else partners
        pairing = self.draw(batch["images"], batch.get("labels"), seed, enabled, choice)
        return self.apply(batch, pairing, partner_batch), pairing


def _jax() -> bool:
    import keras

    return keras.config.backend() == "jax"


_SHARED: dict = {}
_SHARED_DRAWS: dict = {}


def shared_compiled_pairing(
    options: PairingOptions,
    namespace: Any,
    jit_compile: bool = True,
    feature_fn: Callable | None = None,
) -> CompiledPairing:
    """The ``CompiledPairing`` for these options, shared by every caller.

    TensorFlow and JAX cache compiled programs per function object, so
    layers and maps with equal options share one function and compile once
    per input signature instead of once each. The function holds no state
    (seeds and switches are arguments), which makes sharing safe. Options
    holding a Keras model are not shared, so no model is kept alive here.
    """
    if callable(options.features):
        return CompiledPairing(options, namespace, jit_compile, feature_fn)
    key = (options, namespace.name, jit_compile, feature_fn)
    if key not in _SHARED:
        compiled = CompiledPairing(options, namespace, jit_compile, feature_fn)
        if namespace.name == "tensorflow":
            # XLA compiles the draw whatever jit_compile says, and the draw
            # reads no option that only the apply reads (labels, boxes): one
            # draw, compiled once per input signature, for all of them.
            draw_key = (compiled.draw_options, feature_fn)
            compiled.compiled_draw = _SHARED_DRAWS.setdefault(draw_key, compiled.compiled_draw)
        _SHARED[key] = compiled
    return _SHARED[key]
