"""Partners from the whole set as pure functions: exact on constructed tables, compiled by XLA."""

import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing.ops.set_partners import (
    class_partners,
    cycle_of,
    epoch_order,
    index_partners,
)

SEED = tf.constant([3, 4], tf.int64)


def test_cycle_of_follows_the_order_of_the_keys():
    # Sorted, the keys visit 1, 2, 0: 1's partner is 2, 2's is 0, 0's is 1.
    partners = cycle_of(tf.constant([0.3, 0.1, 0.2])).numpy()
    np.testing.assert_array_equal(partners, [1, 2, 0])


def test_an_epoch_is_a_shuffled_order_and_one_cycle_over_the_whole_set():
    order, cycle = (t.numpy() for t in tf.function(epoch_order, jit_compile=True)(SEED, 50))
    assert sorted(order) == list(range(50)) and sorted(cycle) == list(range(50))
    partner_of = np.empty(50, int)
    partner_of[order] = cycle
    assert np.all(partner_of != np.arange(50))
    seen, node = set(), 0
    while node not in seen:  # one cycle through all 50, not several small ones
        seen.add(node)
        node = partner_of[node]
    assert len(seen) == 50
    # Stateless: the same seed, the same epoch. (XLA and TensorFlow's kernels
    # round float draws apart, so eager calls are compared with eager ones.)
    np.testing.assert_array_equal(epoch_order(SEED, 50)[0], epoch_order(SEED, 50)[0])
    assert not np.array_equal(epoch_order(SEED + 1, 50)[0], epoch_order(SEED, 50)[0])


def test_index_partners_take_the_first_or_draw_among_the_valid_ones():
    anchors = tf.constant([0, 1, 2], tf.int32)
    neighbours = tf.constant([[5, 6, 7], [8, -1, -1], [-1, -1, -1]], tf.int32)
    counts = tf.constant([3, 1, 0], tf.int32)
    similarities = tf.constant([[0.9, 0.5, 0.1], [0.2, -np.inf, -np.inf], [-np.inf] * 3])
    partners, has = index_partners(SEED, anchors, neighbours, counts, similarities, "most_similar")
    np.testing.assert_array_equal(partners.numpy(), [5, 8, 2])  # no neighbour: its own index
    np.testing.assert_array_equal(has.numpy(), [True, True, False])
    sample = tf.function(index_partners, jit_compile=True)
    for seed in range(20):  # hot: any valid neighbour, never a -1 column
        drawn, _ = sample(
            tf.constant([seed, 1], tf.int64),
            anchors,
            neighbours,
            counts,
            similarities,
            "sample",
            100.0,
        )
        assert drawn.numpy()[0] in (5, 6, 7) and drawn.numpy()[1] == 8
    cold, _ = index_partners(SEED, anchors, neighbours, counts, similarities, "sample", 1e-4)
    assert cold.numpy()[0] == 5


@pytest.mark.parametrize("constraint", ["same", "different"])
def test_class_partners_keep_to_the_allowed_classes(constraint):
    labels = np.array([0, 1, 0, 2, 1, 0, 1, 1])  # class 2 has one image
    order = np.argsort(labels, kind="stable")
    values, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
    dense = np.searchsorted(values, labels)
    rank = np.empty(8, int)
    rank[order] = np.arange(8) - starts[dense[order]]
    tables = {
        "order": tf.constant(order, tf.int32),
        "start": tf.constant(starts[dense], tf.int32),
        "count": tf.constant(counts[dense], tf.int32),
        "rank": tf.constant(rank, tf.int32),
    }
    anchors = tf.range(8, dtype=tf.int32)
    for seed in range(10):
        partners, has = class_partners(
            tf.constant([seed, 0], tf.int64), anchors, tables, constraint, 8
        )
        partners, has = partners.numpy(), has.numpy()
        same = labels[partners] == labels
        if constraint == "same":
            np.testing.assert_array_equal(has, labels != 2)  # the lone image has nobody
            assert np.all(same[has]) and np.all(partners[has] != np.arange(8)[has])
            assert partners[3] == 3
        else:
            assert np.all(has) and not np.any(same)
