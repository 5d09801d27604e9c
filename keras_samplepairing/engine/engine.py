"""The one path every layer, map and model takes to pair a batch.

Converts the batch to tensors once, checks it, gets a seed, reads the
switch, folds in the replica, and calls the compiled draw and apply. The
namespace follows the batch: TensorFlow tensors (a ``tf.data`` pipeline under
any backend, or the TensorFlow backend) take TensorFlow; the arrays of JAX
and PyTorch take ``keras.ops``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

from keras_samplepairing.engine.checks import check_batch, check_features_run_here
from keras_samplepairing.engine.compiled import CompiledPairing, shared_compiled_pairing
from keras_samplepairing.engine.state import SeedStream, Switch, tensorflow_loaded
from keras_samplepairing.engine.structure import unpack
from keras_samplepairing.ops.draw import Pairing, PartnerChoice
from keras_samplepairing.ops.namespace import namespace, tensorflow_namespace
from keras_samplepairing.ops.options import PairingOptions


def _first_leaf(inputs: Any) -> Any:
    while isinstance(inputs, (dict, tuple, list)):
        if not inputs:
            return None
        inputs = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs[0]
    return inputs


def batch_namespace(inputs: Any) -> ModuleType:
    """TensorFlow inside a TensorFlow graph or for TensorFlow tensors, else the
    namespace of the inputs (``keras.ops`` for JAX and PyTorch arrays)."""
    leaf = _first_leaf(inputs)
    if tensorflow_loaded():
        import tensorflow as tf

        if not tf.executing_eagerly() or tf.is_tensor(leaf):
            return tensorflow_namespace()
    return namespace(leaf)


def _gate_fn(enabled: Any, state: Any, index: Any = None) -> Any:
    import tensorflow as tf

    from keras_samplepairing.engine.clock import clock_enabled

    return tf.logical_and(enabled, clock_enabled(state, index))


@functools.cache
def _compiled_gate() -> Callable:
    import tensorflow as tf

    return tf.function(_gate_fn, jit_compile=True)


def _gate(*args: Any) -> Any:
    return _compiled_gate()(*args)


class PairingEngine:
    """Pairs batches for one owner (a layer, a map function or a model).

    Args:
        options: the transform's options.
        stream: the owner's seeds.
        switch: the owner's on/off switch.
        jit_compile: compile the per-pixel mix with XLA.
        feature_fn: optional ``images -> features`` for similarity, overriding
            ``options.features`` (hidden features are compared as they are).
        min_rank: the smallest rank the batch may have (4 for images, 2 for
            hidden features).
        clock: optional ``ScheduleClock`` read per batch in ``tf.data``.
    """

    def __init__(
        self,
        options: PairingOptions,
        stream: SeedStream,
        switch: Switch,
        jit_compile: bool = True,
        feature_fn: Callable | None = None,
        min_rank: int = 4,
        clock: Any = None,
    ) -> None:
        self.options = options
        self.stream = stream
        self.switch = switch
        self.jit_compile = jit_compile
        self.feature_fn = feature_fn
        self.min_rank = min_rank
        self.clock = clock
        self._compiled: dict = {}
        self._eager: dict = {}

    def compiled(self, xp: ModuleType) -> CompiledPairing:
        """The compiled draw and apply for namespace ``xp`` (made once)."""
        if xp.name not in self._compiled:
            self._compiled[xp.name] = shared_compiled_pairing(
                self.options, xp, self.jit_compile, self.feature_fn
            )
        return self._compiled[xp.name]

    def prepare(self, inputs: Any) -> tuple[dict, Callable, ModuleType]:
        """``(batch, repack, xp)``: the inputs as a checked dict of tensors."""
        xp = batch_namespace(inputs)
        batch, repack = unpack(inputs, xp, self.options.passthrough_keys)
        return check_batch(batch, self.options, xp, self.min_rank), repack, xp

    def pair(
        self, inputs: Any, active: Any = True, index: Any = None, clock_index: Any = None
    ) -> Any:
        """Pairs ``inputs`` (any Keras input format) and returns the same structure.

        Args:
            inputs: images, ``(images, labels[, sample_weight])`` or a dict.
            active: False, True or a bool tensor (the training flag).
            index: optional element index from ``Dataset.enumerate()``; the
                seed is then derived from it (TensorFlow only).
            clock_index: optional index of the batch in its iterator, which
                the clock turns into the step it is trained at.
        """
        batch, repack, xp = self.prepare(inputs)
        outputs, _ = self.pair_batch(batch, xp, active, index, clock_index)
        return repack(outputs)

    def pair_batch(
        self,
        batch: dict,
        xp: ModuleType,
        active: Any = True,
        index: Any = None,
        clock_index: Any = None,
    ) -> tuple[dict, Pairing]:
        """Pairs a checked dict of tensors; returns the outputs and the pairing."""
        check_features_run_here(self.options, xp)  # the batch's own features
        compiled = self.compiled(xp)
        if xp.name != "tensorflow":
            enabled = xp.asarray(self.switch.variable, "bool")
            if active is not True:
                enabled = xp.logical_and(enabled, xp.asarray(active, "bool"))
            return compiled(batch, self.stream.next_keras(), enabled)
        import tensorflow as tf

        if not tf.executing_eagerly():
            return self._tensorflow_pair(compiled, batch, active, index, clock_index)
        # Eagerly, one graph call does it all: reading the state, drawing and
        # mixing cost one dispatch instead of an eager op each.
        key = id(compiled)
        if key not in self._eager:
            self._eager[key] = tf.function(
                lambda b, a, i, c: self._tensorflow_pair(compiled, b, a, i, c),
                reduce_retracing=True,
            )
        return self._eager[key](batch, active, index, clock_index)

    def _tensorflow_pair(
        self, compiled: CompiledPairing, batch: dict, active: Any, index: Any, clock_index: Any
    ) -> tuple[dict, Pairing]:
        import tensorflow as tf

        seed = self.stream.next_tensorflow() if index is None else self.stream.for_index(index)
        replica = tf.distribute.get_replica_context()
        if replica is not None and replica.num_replicas_in_sync > 1:
            # Every replica draws the same seed; folding in its id keeps the
            # replicas' pairings independent of each other.
            seed = tf.random.experimental.stateless_fold_in(
                seed, tf.cast(replica.replica_id_in_sync_group, tf.int64), alg="philox"
            )
        return compiled(batch, seed, self._tensorflow_enabled(active, clock_index))

    def _tensorflow_enabled(self, active: Any, clock_index: Any) -> Any:
        """The switch, the training flag and the schedule's clock, as one bool."""
        import tensorflow as tf

        enabled = tf.convert_to_tensor(self.switch.tensorflow_variable())
        if active is not True:
            enabled = tf.logical_and(enabled, tf.cast(active, tf.bool))
        if self.clock is None:
            return enabled
        # The clock's arithmetic is a dozen scalar ops: one compiled call
        # costs less per batch than running them one by one.
        state = self.clock.variable().read_value()
        if clock_index is None:
            return _gate(enabled, state)
        return _gate(enabled, state, tf.cast(clock_index, tf.int64))

    def pair_with_partners(
        self, batch: dict, partner_batch: dict, choice: PartnerChoice, seed: Any, clock_index: Any
    ) -> tuple[dict, Pairing]:
        """Mixes each row of ``batch`` with the same row of ``partner_batch``
        (partners drawn from the whole training set), in a ``tf.data`` graph.

        The draw of which rows pair and with what λ is the batch path's
        (``draw_pairing``), and so is the apply.
        """
        compiled = self.compiled(tensorflow_namespace())
        enabled = self._tensorflow_enabled(True, clock_index)
        return compiled.pair_with(batch, partner_batch, choice, seed, enabled)
