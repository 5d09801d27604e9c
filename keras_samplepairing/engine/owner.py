"""What every owner of the engine sets up: its options' engine, seeds and switch.

Owners inside a model (layers, ``PairingModel``) keep Keras state it tracks,
saves and runs in every backend's compiled step: a ``SeedGenerator`` and a
boolean ``keras.Variable``. Owners in ``tf.data`` (the map, the whole-set
pipeline) keep TensorFlow state and a schedule's clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from keras_samplepairing.engine.clock import ScheduleClock
from keras_samplepairing.engine.engine import PairingEngine
from keras_samplepairing.engine.state import SeedStream, Switch
from keras_samplepairing.ops.options import PairingOptions


@dataclasses.dataclass
class OwnerState:
    """An owner's engine and the state it reads.

    Attributes:
        engine: the owner's ``PairingEngine``.
        stream: its seeds.
        switch: its on/off switch.
        seed_generator: the Keras ``SeedGenerator`` (owners in a model), or None.
        enabled_variable: the Keras boolean variable behind the switch
            (owners in a model), or None.
        clock: the schedule's clock (owners in ``tf.data``), or None.
    """

    engine: PairingEngine
    stream: SeedStream
    switch: Switch
    seed_generator: Any = None
    enabled_variable: Any = None
    clock: ScheduleClock | None = None


def owner_state(
    options: PairingOptions,
    seed: int | None,
    *,
    in_model: bool,
    jit_compile: bool = True,
    feature_fn: Callable | None = None,
    min_rank: int = 4,
) -> OwnerState:
    """The engine and state of one owner.

    Args:
        options: the validated options.
        seed: the owner's integer seed (None: a random one).
        in_model: Keras state for an owner inside a model (a layer, a model);
            TensorFlow state and a clock for an owner in ``tf.data``.
        jit_compile: compile the per-pixel mix with XLA.
        feature_fn: optional ``images -> features`` overriding ``options.features``.
        min_rank: the smallest rank of the batch (4 images, 2 hidden features).
    """
    generator = variable = clock = None
    if in_model:
        import keras

        generator = keras.random.SeedGenerator(seed)
        # Read at run time, so a schedule can switch pairing off and on
        # without retracing or recompiling.
        variable = keras.Variable(True, dtype="bool", trainable=False, name="enabled")
        switch = Switch(variable)
    else:
        switch = Switch()
        clock = ScheduleClock()
    stream = SeedStream(seed, generator)
    engine = PairingEngine(
        options,
        stream,
        switch,
        jit_compile=jit_compile,
        feature_fn=feature_fn,
        min_rank=min_rank,
        clock=clock,
    )
    return OwnerState(engine, stream, switch, generator, variable, clock)
