"""The one path every layer, map, whole-set pipeline and model takes to pair a batch.

``PairingEngine.pair`` converts the batch to tensors once, checks it, gets a
seed, reads the switch (and, in ``tf.data``, the schedule's clock), folds in
the replica, and calls the compiled draw and apply. Partners come from the
batch itself, or from a source given with the batch (the whole training
set, chosen by ``engine.sources``). The namespace follows the batch:
TensorFlow tensors (a ``tf.data`` pipeline under any backend, or the
TensorFlow backend) take TensorFlow; the arrays of JAX and PyTorch take
``keras.ops``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

from keras_samplepairing.engine.checks import (
    SCALAR_TARGETS_WARNING,
    check_batch,
    check_features_run_here,
    scalar_targets_look_like_classes,
)
from keras_samplepairing.engine.clock import ScheduleClock
from keras_samplepairing.engine.clock_fields import clock_enabled, clock_enabled_at
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


def _gate_fn(enabled: Any, fields: Any, index: Any = None, position: Any = None) -> tuple:
    import tensorflow as tf

    if position is not None:
        on, step = clock_enabled_at(fields, position), tf.constant(-1, tf.int64)
    else:
        on, step = clock_enabled(fields, index)
    return tf.logical_and(enabled, on), step


@functools.cache
def _compiled_gate() -> Callable:
    import tensorflow as tf

    # The clock's arithmetic is a dozen scalar ops: one compiled call costs
    # less per batch than running them one by one.
    return tf.function(_gate_fn, jit_compile=True, autograph=False)


class PairingEngine:
    """Pairs batches for one owner (a layer, a map function, a whole-set
    pipeline or a model).

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
        clock: ScheduleClock | None = None,
    ) -> None:
        self.options = options
        self.stream = stream
        self.switch = switch
        self.jit_compile = jit_compile
        self.feature_fn = feature_fn
        self.min_rank = min_rank
        self.clock = clock
        self._compiled: dict = {}
        self._eager_functions: dict = {}
        self._warned_scalar_labels = False

    def compiled(self, xp: ModuleType) -> CompiledPairing:
        """The compiled draw and apply for namespace ``xp`` (made once)."""
        if xp.name not in self._compiled:
            self._compiled[xp.name] = shared_compiled_pairing(
                self.options, xp, self.jit_compile, self.feature_fn
            )
        return self._compiled[xp.name]

    def prepare(self, inputs: Any) -> tuple[dict, Callable, ModuleType]:
        """``(batch, repack, xp)``: the inputs as a checked dict of tensors, a
        function that gives outputs the inputs' structure, and the namespace."""
        xp = batch_namespace(inputs)
        batch, repack = unpack(inputs, xp, self.options.passthrough_keys)
        batch = check_batch(batch, self.options, xp, self.min_rank)
        if not self._warned_scalar_labels and scalar_targets_look_like_classes(
            batch.get("labels"), self.options, xp
        ):
            self._warned_scalar_labels = True
            warnings.warn(SCALAR_TARGETS_WARNING, stacklevel=3)
        return batch, repack, xp

    def pair(
        self,
        inputs: Any,
        active: Any = True,
        *,
        seed: Any = None,
        seed_index: Any = None,
        position: Any = None,
        clock_index: Any = None,
        partners: tuple[PartnerChoice, dict] | None = None,
        transform: Callable | None = None,
        with_pairing: bool = False,
    ) -> Any:
        """Pairs ``inputs`` (any Keras input format) and returns the same structure.

        Args:
            inputs: images, ``(images, labels[, sample_weight])`` or a dict.
            active: False, True or a bool tensor (the training flag).
            seed: optional stateless seed for this batch.
            seed_index: optional element index from ``Dataset.enumerate()``;
                the seed is then derived from it (TensorFlow only).
            position: optional position from ``ScheduleClock.stamp``: the
                schedule's state there decides (TensorFlow only).
            clock_index: optional index of the batch in its iterator, which
                the clock turns into the step it is trained at.
            partners: ``(choice, partner_batch)`` for partners from outside
                the batch (the whole set): each row is mixed with the same
                row of ``partner_batch``; by default, partners within the batch.
            transform: optional ``(batch, seed, enabled, partners) ->
                (outputs, pairing)`` that draws and applies in the owner's own
                terms (a layer's ``get_random_transformation`` and
                ``transform_*``); by default the compiled draw and apply.
            with_pairing: also return the drawn ``Pairing``.

        Returns:
            The outputs in the inputs' structure, and the ``Pairing`` if
            ``with_pairing``.
        """
        batch, repack, xp = self.prepare(inputs)
        if partners is None:  # partners by the batch's own features
            check_features_run_here(self.options, xp)
        else:
            partners = (partners[0], {k: partners[1][k] for k in batch})
        transform = transform or self.compiled(xp)
        if xp.name != "tensorflow":
            outputs, pairing = self._keras_pair(batch, xp, active, seed, partners, transform)
        else:
            import tensorflow as tf

            arguments = (
                batch,
                active,
                seed,
                seed_index,
                position,
                clock_index,
                partners,
                transform,
            )
            if tf.executing_eagerly():
                outputs, pairing = self._eager_call(*arguments)
            else:
                outputs, pairing = self._tensorflow_pair(*arguments)
        outputs = repack(outputs)
        return (outputs, pairing) if with_pairing else outputs

    def _keras_pair(
        self,
        batch: dict,
        xp: ModuleType,
        active: Any,
        seed: Any,
        partners: Any,
        transform: Callable,
    ) -> tuple[dict, Pairing]:
        enabled = xp.asarray(self.switch.variable, "bool")
        if active is not True:
            enabled = xp.logical_and(enabled, xp.asarray(active, "bool"))
        seed = self.stream.next_keras() if seed is None else seed
        return transform(batch, xp.seed_tensor(xp.asarray(seed)), enabled, partners)

    def _eager_call(self, *arguments: Any) -> tuple[dict, Pairing]:
        import tensorflow as tf

        # Eagerly, one graph call does it all: reading the state, drawing and
        # mixing cost one dispatch instead of an eager op each. Traced per
        # input signature: relaxed shapes (reduce_retracing) would lose the
        # label rank and the static image size the ops read. The transform is
        # Python, not data: passed as an argument, a layer's bound method (a
        # new object each call) retraced every call, so each transform gets
        # its own function, found by equality. Arguments left as None are left
        # out of the call: each argument adds to every call's dispatch.
        *values, transform = arguments
        given = tuple(value is not None for value in values)
        function = self._eager_functions.get((transform, given))
        if function is None:

            def pair(*passed: Any) -> tuple[dict, Pairing]:
                passed = iter(passed)
                full = [next(passed) if present else None for present in given]
                return self._tensorflow_pair(*full, transform)

            # A features function of the user's runs inside the draw, which
            # converts it (engine.autograph).
            function = tf.function(pair, autograph=False)
            self._eager_functions[(transform, given)] = function
        return function(*(value for value in values if value is not None))

    def _tensorflow_pair(
        self,
        batch: dict,
        active: Any,
        seed: Any,
        seed_index: Any,
        position: Any,
        clock_index: Any,
        partners: Any,
        transform: Callable,
    ) -> tuple[dict, Pairing]:
        import tensorflow as tf

        if seed is None:
            seed = (
                self.stream.next_tensorflow()
                if seed_index is None
                else self.stream.for_index(seed_index)
            )
        replica = tf.distribute.get_replica_context()
        if replica is not None and replica.num_replicas_in_sync > 1:
            # Every replica draws the same seed; folding in its id keeps the
            # replicas' pairings independent of each other.
            seed = tf.random.experimental.stateless_fold_in(
                seed, tf.cast(replica.replica_id_in_sync_group, tf.int64), alg="philox"
            )
        enabled = self._tensorflow_enabled(active, position, clock_index)
        return transform(batch, tf.cast(seed, tf.int64), enabled, partners)

    def _tensorflow_enabled(self, active: Any, position: Any, clock_index: Any) -> Any:
        """The switch, the training flag and the schedule's clock, as one bool."""
        import tensorflow as tf

        enabled = tf.convert_to_tensor(self.switch.tensorflow_variable())
        if active is not True:
            enabled = tf.logical_and(enabled, tf.cast(active, tf.bool))
        if self.clock is None:
            return enabled
        fields = self.clock.variable().read_value()
        if position is not None:
            on, _ = _compiled_gate()(enabled, fields, position=tf.cast(position, tf.int64))
            return on
        if clock_index is None:
            self.clock.read_by.add("unindexed")
            on, _ = _compiled_gate()(enabled, fields)
            return on
        self.clock.read_by.add("enumerate")
        on, step = _compiled_gate()(enabled, fields, index=tf.cast(clock_index, tf.int64))
        # What the step was taken to be, for the schedule's check.
        with tf.control_dependencies([self.clock.note_step(step)]):
            return tf.identity(on)
