"""The schedule's clock: the position a stamp gives each batch."""

import pytest
import tensorflow as tf

from keras_samplepairing.engine.clock import UNENDING_PASS_COUNT, ScheduleClock


def _positions(dataset) -> list:
    return [position.numpy().tolist() for position, _ in dataset]


def _length(kind: str, n: int):
    data = tf.data.Dataset.range(n)
    if kind == "endless":
        return data.repeat()
    return data if kind == "known" else data.filter(lambda x: True)


@pytest.mark.parametrize("kind", ["known", "unknown"])
def test_a_stamp_counts_on_across_passes_and_iterators(kind):
    # A pass of known length is worked out from its start, one of unknown
    # length batch by batch: the same positions.
    clock = ScheduleClock()
    clock.attach(steps=2)  # two steps an epoch
    stamped = clock.stamp(_length(kind, 3))
    # (step, epoch, count); a repeat after the stamp runs on into the next epochs.
    assert _positions(stamped.repeat(2)) == [
        [0, 0, 0],
        [1, 0, 1],
        [2, 1, 2],
        [3, 1, 3],
        [4, 2, 4],
        [5, 2, 5],
    ]
    # A new iterator of the same fit goes on from there.
    assert _positions(stamped) == [[6, 3, 6], [7, 3, 7], [8, 4, 8]]
    # A new fit starts its steps over and keeps counting.
    clock.attach(steps=2)
    assert _positions(stamped) == [[0, 0, 9], [1, 0, 10], [2, 1, 11]]


def test_a_pass_that_never_ends_leaves_later_passes_their_own_counts():
    clock = ScheduleClock()
    stamped = clock.stamp(tf.data.Dataset.range(3).repeat())
    assert _positions(stamped.take(4)) == [[0, 0, 0], [1, 0, 1], [2, 0, 2], [3, 0, 3]]
    count = UNENDING_PASS_COUNT
    assert _positions(stamped.take(2)) == [[0, 0, count], [1, 0, count + 1]]
    assert int(stamped.cardinality()) == tf.data.INFINITE_CARDINALITY


@pytest.mark.parametrize("kind", ["known", "unknown", "endless"])
def test_a_pass_read_in_part_leaves_the_next_at_its_epochs_start(kind):
    # take() after the stamp: Keras makes a new iterator each epoch, each
    # reading 3 batches of a pass of 5 (or of one that never ends).
    clock = ScheduleClock()
    clock.attach(steps=3)
    stamped = clock.stamp(_length(kind, 5)).take(3)
    passes = []
    for epoch in range(3):
        clock.set(epoch=epoch, epoch_start_step=3 * epoch)
        passes.append(_positions(stamped))
    steps_and_epochs = [[position[:2] for position in positions] for positions in passes]
    assert steps_and_epochs == [
        [[step, step // 3] for step in range(3 * e, 3 * e + 3)] for e in (0, 1, 2)
    ]
    counts = [position[2] for positions in passes for position in positions]
    assert len(set(counts)) == 9  # each batch its own seed


def test_a_pass_begun_in_this_epoch_and_left_open_is_refused_while_fit_runs():
    # take after the stamp, then repeat: which step would the next pass be at?
    clock = ScheduleClock()
    clock.attach(steps=4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Apply take, zip and interleave"):
        _positions(clock.stamp(tf.data.Dataset.range(5)).take(3).repeat(2))
    clock.set(attached=False)  # no fit: the positions do not matter, nothing is refused
    assert len(_positions(clock.stamp(tf.data.Dataset.range(5)).take(3).repeat(2))) == 6
