"""The schedule's clock: how a ``tf.data`` pipeline reads the on/off state per batch."""

from __future__ import annotations

from typing import Any

from keras_samplepairing.ops.schedule import schedule_state


class ScheduleClock:
    """The schedule as a ``tf.data`` map reads it: on or off per batch.

    A map sees a batch when it is made, which runs ahead of training by the
    prefetch depth. With the batch's index from ``Dataset.enumerate()`` the
    map decides from the step at which that batch will be trained on, so the
    pairing state of every batch is exactly what the schedule says (and
    logs). Without an index it reads the state of the step being trained
    when the batch is made.

    The index counts batches of one iterator: over the whole ``fit`` for a
    repeated dataset with ``steps_per_epoch`` (Keras keeps one iterator),
    or over one epoch when Keras makes a new iterator each epoch; the
    position of the batch is worked out for both.
    """

    # Each field and its initial value: detached (always on) until a fit
    # starts. They are kept in one int64 vector, read with one op per batch.
    _INITIAL = {
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
    }
    _INDEX = {name: i for i, name in enumerate(_INITIAL)}

    def __init__(self) -> None:
        self._variable = None
        self._values = dict(self._INITIAL)

    def _state(self) -> Any:
        if self._variable is None:
            import tensorflow as tf

            with tf.init_scope():  # made while tracing, it lives outside it
                self._variable = tf.Variable(
                    list(self._values.values()), dtype=tf.int64, trainable=False, name="schedule"
                )
        return self._variable

    def set(self, **values: Any) -> None:
        """Sets the named fields (the schedule's parameters and position)."""
        for name, value in values.items():
            self._values[name] = int(value)
        if self._variable is not None or values.get("attached"):
            self._state().assign(list(self._values.values()))

    def variable(self) -> Any:
        """The clock's state, one int64 vector a graph reads per batch."""
        return self._state()

    def enabled(self, index: Any = None) -> Any:
        """A scalar bool op: is pairing on for the batch with this index."""
        return clock_enabled(self._state().read_value(), index)


def clock_enabled(state: Any, index: Any = None) -> Any:
    """Whether a ``ScheduleClock`` in ``state`` has pairing on for the batch
    with this index (None: the current step). Pure TensorFlow ops, so a
    caller can compile it with the rest of the draw."""
    import tensorflow as tf

    def field(name: str) -> Any:
        return state[ScheduleClock._INDEX[name]]

    if index is None:
        on = field("current") > 0
    else:
        index = tf.cast(index, tf.int64)
        steps = field("steps")
        first_epoch, epoch = field("first_epoch"), field("epoch")
        # One iterator over the whole fit: the index runs on past the epochs
        # already trained. One iterator per epoch: it restarts.
        whole_fit = tf.logical_and(steps > 0, index >= (epoch - first_epoch) * steps)
        step = tf.where(
            whole_fit, field("fit_start_step") + index, field("epoch_start_step") + index
        )
        epoch = tf.where(whole_fit, first_epoch + index // tf.maximum(steps, 1), epoch)
        on = schedule_state(
            tf.where(field("by_step") > 0, step, epoch),
            field("warmup"),
            field("on"),
            field("off"),
            field("finetune"),
            field("total"),
        )
    return tf.logical_or(field("attached") <= 0, on)
