"""The schedule's clock: how a ``tf.data`` pipeline reads the on/off state per batch.

A pipeline makes a batch before training reaches it (prefetching, parallel
maps), so the state current when the batch is made is not the state of the
step the batch is trained at. The clock gives each batch its own position,
the ``(step, epoch)`` at which ``fit`` trains it, and the pipeline pairs it
or not by the schedule's state there.

``stamp`` works out the position of each batch as ``fit`` feeds it, from
where its pass starts (or, for a dataset of unknown length, by counting
batches in a sequential stage): one iterator for the whole fit, a new
iterator each epoch, an iterator kept across epochs and started again when
a finite dataset runs out, a ``repeat`` after the stamp, epochs cut short
when data runs out, an epoch's iterator read only in part (a ``take``
after the stamp).
It relies on two facts of Keras's ``fit``: every batch a training iterator
makes is trained (an iterator is only replaced once it has run out), and a
new iterator starts at an epoch's beginning, after ``on_epoch_begin`` (so
the pass after one read in part starts there). A batch from an iterator of
an earlier ``fit`` (or of the one Keras opens to build a model) is told
apart by the fit's generation and changes nothing.

A map over ``Dataset.enumerate()`` has only the batch's index in its own
iterator. The clock turns it into a step where the index alone says which
(one iterator for the whole fit, or one per epoch) and notes, per step, the
step it assumed; ``SamplePairingSchedule`` checks those notes against the
steps it trained and raises when a batch was paired for another step (a
finite dataset kept across epochs, ``enumerate`` before ``repeat``).
"""

from __future__ import annotations

from typing import Any

from keras_samplepairing.engine.autograph import without_autograph
from keras_samplepairing.engine.clock_fields import FIELDS, clock_enabled, clock_enabled_at, field

# Steps remembered for the check of a map over enumerate(): a batch's note
# stays until the step RING_SIZE later writes its own.
RING_SIZE = 1 << 14
# How far a pass that never ends moves the count on: past any count it can reach.
UNENDING_PASS_COUNT = 1 << 40
UNFOLLOWABLE = (
    "A pass over a stamped dataset (ds.apply(pair), or a WholeSetPairing's dataset) "
    "was read only in part and the next began in the same epoch: a take, zip or "
    "interleave after it, then a repeat. The schedule cannot tell which step those "
    "batches are trained at. Apply take, zip and interleave before the stamp."
)


class ScheduleClock:
    """The schedule as a ``tf.data`` pipeline reads it: on or off per batch.

    ``SamplePairingSchedule`` writes its parameters and where ``fit`` is
    (``set``); a pipeline reads them at run time, so the schedule reaches it
    without retracing. Until a schedule attaches, every batch is on.
    """

    def __init__(self) -> None:
        self._variable = None
        self._pipeline = None
        self._ring = None
        self._values = dict(FIELDS)
        # How pipelines read this clock, noted when they are traced.
        self.read_by: set[str] = set()

    # Written by the schedule.

    def _fields(self) -> Any:
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
            self._fields().assign(list(self._values.values()))

    def attach(self, **values: Any) -> None:
        """A new fit begins: sets the schedule's fields under a new generation,
        so batches of earlier fits' iterators change nothing, and forgets the
        steps noted by maps over enumerate()."""
        self.set(**values, attached=True, generation=self._values["generation"] + 1)
        if self._ring is not None:
            self._ring.assign(self._ring_initial())

    def variable(self) -> Any:
        """The fields, one int64 vector a graph reads per batch."""
        return self._fields()

    # Read by pipelines.

    def stamp(self, dataset: Any) -> Any:
        """``dataset`` with each element preceded by its position: an int64
        ``[3]`` vector ``(step, epoch, count)``, the step and epoch of ``fit``
        at which it is trained, and a count of the elements this clock has
        stamped (a seed index that differs from pass to pass).

        Where the dataset's length is known (finite or infinite), the
        clock's state is read when a pass starts and written where it ends
        (an empty part concatenated after the pass notes it, if it is read
        past its end): each element's position is its pass's start plus its
        index. Where the length is unknown, each element moves the state on
        (a write a batch, about 0.3 ms). Maps after the stamp may run in
        parallel; one iterator at a time reads a clock's stamped datasets,
        as ``fit`` does.
        """
        import tensorflow as tf

        self.read_by.add("stamp")
        known = int(dataset.cardinality())

        def tagged(value: Any) -> Any:
            def tag(*element: Any) -> tuple:
                return value, element[0] if len(element) == 1 else element

            return dataset.map(without_autograph(tag))

        # The one-element head runs once before each pass: a new iterator, or
        # a repeat after the stamp. flat_map runs its function for the head
        # only after the pass before has run out.
        if known == tf.data.UNKNOWN_CARDINALITY:

            def begin_pass(_: Any) -> Any:
                return self._begin_pass()

            def with_position(generation: Any, element: Any) -> tuple:
                return self._next_position(generation), element

            # Counted after the flat_map: a stateful map inside it took 0.5 ms a batch.
            head = tf.data.Dataset.range(1).map(without_autograph(begin_pass))
            return head.flat_map(without_autograph(tagged)).map(without_autograph(with_position))

        def begin_known_pass(_: Any) -> Any:
            return self._begin_pass(length=known)

        def pass_then_end(start: Any) -> Any:
            def end(_: Any) -> Any:
                return self._end_pass(start, known)

            def nothing(_: Any) -> Any:
                return tagged(start).take(0)

            # Read only once the pass has run out: notes where it ended, adds nothing.
            ended = tf.data.Dataset.range(1).map(without_autograph(end))
            return tagged(start).concatenate(ended.flat_map(without_autograph(nothing)))

        def with_position_in_pass(index: Any, start_and_element: tuple) -> tuple:
            start, element = start_and_element
            return _position_in_pass(start, index), element

        # One pass a stamped iterator: enumerate counts within the pass.
        head = tf.data.Dataset.range(1).map(without_autograph(begin_known_pass))
        passes = head.flat_map(without_autograph(pass_then_end)).enumerate()
        result = passes.map(without_autograph(with_position_in_pass))
        # Keras feeds a dataset of known length differently (one iterator
        # across epochs); the stamp must not hide it.
        return result.apply(tf.data.experimental.assert_cardinality(known))

    def _pipeline_state(self) -> Any:
        # What stamped pipelines keep between passes (or batches): generation,
        # next step, next epoch, step in epoch, count, and whether a pass is open.
        if self._pipeline is None:
            import tensorflow as tf

            with tf.init_scope():
                self._pipeline = tf.Variable(
                    [-1, 0, 0, 0, 0, 0], dtype=tf.int64, trainable=False, name="schedule_pipeline"
                )
        return self._pipeline

    def _begin_pass(self, length: int | None = None) -> Any:
        """Where a pass starts. Without ``length``: writes the start and returns
        the fit's generation (``_next_position`` moves on from there). With
        it: reserves the pass's counts (a pass that never ends: far enough for
        any later pass), marks the pass open until ``_end_pass`` notes where
        it ended, and returns the start, ``(step, epoch, step_in_epoch, count,
        steps, generation)``."""
        import tensorflow as tf

        fields = self._fields().read_value()
        state = self._pipeline_state()
        current = state.read_value()

        generation = field(fields, "generation")
        first_pass = tf.not_equal(current[0], generation)
        next_step = tf.where(first_pass, field(fields, "fit_start_step"), current[1])
        next_epoch = tf.where(first_pass, field(fields, "first_epoch"), current[2])
        in_epoch = tf.where(first_pass, tf.zeros([], tf.int64), current[3])
        # A pass not read past its end (Keras reads an epoch's batches and no
        # more; a take() after the stamp) has not noted where it ended. Keras
        # starts a new iterator at an epoch's beginning: so does the next pass.
        # One that began in this epoch cannot be followed (a take, zip or
        # interleave after the stamp, then a repeat): refused while fit runs.
        open_pass = tf.logical_and(tf.logical_not(first_pass), current[5] > 0)
        followable = tf.logical_not(
            tf.logical_and(
                tf.logical_and(open_pass, field(fields, "attached") > 0),
                current[1] >= field(fields, "epoch_start_step"),
            )
        )
        check = tf.debugging.Assert(followable, [UNFOLLOWABLE])
        next_step = tf.where(open_pass, field(fields, "epoch_start_step"), next_step)
        # Where the epoch fit has begun starts at this pass's first step, the
        # pass is there.
        at_epoch = tf.equal(field(fields, "epoch_start_step"), next_step)
        next_epoch = tf.where(at_epoch, field(fields, "epoch"), next_epoch)
        in_epoch = tf.where(at_epoch, tf.zeros([], tf.int64), in_epoch)
        count = current[4]
        if length is None:  # each element moves the state on: never left open
            update = [generation, next_step, next_epoch, in_epoch, count, tf.constant(0, tf.int64)]
        else:
            reserved = UNENDING_PASS_COUNT if length == tf.data.INFINITE_CARDINALITY else length
            opened = tf.constant(1, tf.int64)
            update = [generation, next_step, next_epoch, in_epoch, count + reserved, opened]
        with tf.control_dependencies([check, state.assign(tf.stack(update))]):
            if length is None:
                return tf.identity(generation)
            return tf.stack(
                [next_step, next_epoch, in_epoch, count, field(fields, "steps"), generation]
            )

    def _end_pass(self, start: Any, length: int) -> Any:
        """Notes where a pass of ``length`` that began at ``start`` ended,
        unless another pass has reserved counts since."""
        import tensorflow as tf

        state = self._pipeline_state()
        current = state.read_value()
        step, epoch, in_epoch, count = tf.unstack(_position_in_pass(start, length, in_epoch=True))
        last_begun = tf.logical_and(tf.equal(current[0], start[5]), tf.equal(current[4], count))
        ended = tf.stack([current[0], step, epoch, in_epoch, count, tf.zeros([], tf.int64)])
        with tf.control_dependencies([state.assign(tf.where(last_begun, ended, current))]):
            return tf.zeros([], tf.int64)

    def _next_position(self, generation: Any) -> Any:
        import tensorflow as tf

        fields = self._fields().read_value()
        state = self._pipeline_state()
        current = state.read_value()
        live = tf.equal(current[0], generation)
        step, epoch, in_epoch, count = current[1], current[2], current[3] + 1, current[4]
        steps = field(fields, "steps")
        ends_epoch = tf.logical_and(steps > 0, in_epoch >= steps)
        advanced = tf.stack(
            [
                current[0],
                step + 1,
                tf.where(ends_epoch, epoch + 1, epoch),
                tf.where(ends_epoch, tf.zeros([], tf.int64), in_epoch),
                count + 1,
                current[5],
            ]
        )
        # A batch of an iterator from an earlier fit leaves the state alone.
        update = state.assign(tf.where(live, advanced, current))
        with tf.control_dependencies([update]):
            return tf.stack([step, epoch, count])

    def enabled_at(self, position: Any) -> Any:
        """A scalar bool op: is pairing on for a batch at this ``stamp`` position."""
        return clock_enabled_at(self._fields().read_value(), position)

    def enabled(self, index: Any = None) -> Any:
        """A scalar bool op: is pairing on for the batch with this enumerate index
        (None: the state of the step being trained now)."""
        on, _ = clock_enabled(self._fields().read_value(), index)
        return on

    # Maps over enumerate(): the steps they assumed, checked by the schedule.

    def _ring_initial(self) -> Any:
        import numpy as np

        return np.full([RING_SIZE], -1, np.int64)

    def _notes(self) -> Any:
        if self._ring is None:
            import tensorflow as tf

            with tf.init_scope():
                self._ring = tf.Variable(
                    self._ring_initial(), trainable=False, name="schedule_steps"
                )
        return self._ring

    def note_step(self, step: Any) -> Any:
        """Notes that a batch was paired for ``step`` (an op to run with it)."""
        import tensorflow as tf

        ring = self._notes()
        return ring.scatter_update(
            tf.IndexedSlices(
                tf.reshape(step, [1]), tf.reshape(tf.math.floormod(step, RING_SIZE), [1])
            )
        )

    def steps_paired_elsewhere(self, first: int, count: int) -> list[int]:
        """Of the ``count`` steps from ``first`` that fit trained, those whose
        batch a map over enumerate() paired for another step."""
        if self._ring is None or count <= 0:
            return []
        notes = self._ring.numpy()
        count = min(count, RING_SIZE // 2)
        start = first + max(0, count - RING_SIZE // 2)
        steps = range(start, first + count)
        return [step for step in steps if notes[step % RING_SIZE] != step]


def _position_in_pass(start: Any, index: Any, in_epoch: bool = False) -> Any:
    """The position of the element ``index`` of a pass that starts at ``start``
    (``(step, epoch, step_in_epoch, count, steps, ...)``): ``(step, epoch, count)``,
    or with ``in_epoch`` ``(step, epoch, step_in_epoch, count)``."""
    import tensorflow as tf

    index = tf.cast(index, tf.int64)
    step, epoch, in_epoch_start, count, steps = tf.unstack(start[:5])
    into_epoch = in_epoch_start + index
    # With the epoch's length known, the pass runs on into the epochs after.
    per_epoch = tf.maximum(steps, 1)
    epochs_on = tf.where(steps > 0, into_epoch // per_epoch, tf.zeros([], tf.int64))
    into_epoch = tf.where(steps > 0, into_epoch % per_epoch, into_epoch)
    if in_epoch:
        return tf.stack([step + index, epoch + epochs_on, into_epoch, count + index])
    return tf.stack([step + index, epoch + epochs_on, count + index])
