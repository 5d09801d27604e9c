"""What the schedule's clock holds, and what it says about a batch.

The schedule (``SamplePairingSchedule``) writes these fields into one int64
vector; pipelines and compiled draws read it at run time and ask, with the
pure functions here, whether pairing is on for a batch.
"""

from __future__ import annotations

from typing import Any

from keras_samplepairing.ops.schedule import schedule_state

# The fields the schedule sets and their initial values: detached (always
# on). They are kept in one int64 vector, read with one op per batch.
FIELDS = {
    "attached": 0,
    "current": 1,
    "by_step": 0,
    "warmup": 0,
    "on": 1,
    "off": 0,
    "finetune": 0,
    "total": -1,
    "steps": -1,
    "first_epoch": 0,
    "epoch": 0,
    "fit_start_step": 0,
    "epoch_start_step": 0,
    "generation": 0,
}
FIELD_INDEX = {name: i for i, name in enumerate(FIELDS)}


def field(fields: Any, name: str) -> Any:
    """The field ``name`` of a clock's fields vector."""
    return fields[FIELD_INDEX[name]]


def _state_at(fields: Any, step: Any, epoch: Any) -> Any:
    """The schedule's state at this step (``unit="step"``) or epoch."""
    import tensorflow as tf

    return schedule_state(
        tf.where(field(fields, "by_step") > 0, step, epoch),
        field(fields, "warmup"),
        field(fields, "on"),
        field(fields, "off"),
        field(fields, "finetune"),
        field(fields, "total"),
    )


def clock_enabled_at(fields: Any, position: Any) -> Any:
    """Whether a clock with these ``fields`` has pairing on for the batch at
    ``position`` (from ``ScheduleClock.stamp``). Pure TensorFlow ops."""
    import tensorflow as tf

    position = tf.cast(position, tf.int64)
    on = _state_at(fields, position[0], position[1])
    return tf.logical_or(field(fields, "attached") <= 0, on)


def clock_enabled(fields: Any, index: Any = None) -> tuple[Any, Any]:
    """``(on, step)`` for the batch with this enumerate ``index`` (None: the
    step being trained now, and step -1). Pure TensorFlow ops, so a caller can
    compile them with the rest of the draw.

    The index counts batches of one iterator: over the whole ``fit`` for a
    repeated dataset with ``steps_per_epoch`` (Keras keeps one iterator), or
    over one epoch when Keras makes a new iterator each epoch; the step is
    worked out for both, and ``step`` says which was assumed.
    """
    import tensorflow as tf

    attached = field(fields, "attached") > 0
    if index is None:
        on = field(fields, "current") > 0
        return tf.logical_or(tf.logical_not(attached), on), tf.constant(-1, tf.int64)
    index = tf.cast(index, tf.int64)
    steps = field(fields, "steps")
    first_epoch, epoch = field(fields, "first_epoch"), field(fields, "epoch")
    # One iterator over the whole fit: the index runs on past the epochs
    # already trained. One iterator per epoch: it restarts.
    whole_fit = tf.logical_and(steps > 0, index >= (epoch - first_epoch) * steps)
    step = tf.where(
        whole_fit,
        field(fields, "fit_start_step") + index,
        field(fields, "epoch_start_step") + index,
    )
    epoch = tf.where(whole_fit, first_epoch + index // tf.maximum(steps, 1), epoch)
    on = _state_at(fields, step, epoch)
    return tf.logical_or(tf.logical_not(attached), on), step
