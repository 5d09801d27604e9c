import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing.ops import class_candidates, random_partners, select_partners
from keras_samplepairing.ops.draw import draw_input
from keras_samplepairing.ops.options import PairingOptions


@pytest.mark.parametrize("batch", [2, 3, 8, 33])
def test_random_partners_is_a_single_cycle_without_fixed_points(batch):
    partners = random_partners(tf.constant([1, 2]), batch).numpy()
    assert sorted(partners) == list(range(batch))
    assert np.all(partners != np.arange(batch))
    # Following partners from 0 visits everyone once: one cycle.
    seen, i = set(), 0
    while i not in seen:
        seen.add(i)
        i = partners[i]
    assert len(seen) == batch


def test_random_partners_of_one_is_itself():
    assert random_partners(tf.constant([1, 2]), 1).numpy().tolist() == [0]


def test_random_partners_depend_on_seed():
    a = random_partners(tf.constant([1, 2]), 16).numpy()
    b = random_partners(tf.constant([1, 3]), 16).numpy()
    assert not np.array_equal(a, b)


def _two_clusters():
    # Rows 0-3 near (1, 0), rows 4-7 near (0, 1), each with a distinct neighbour.
    base = np.array([[1, 0]] * 4 + [[0, 1]] * 4, "float32")
    offsets = np.array([0.0, 0.01, 0.1, 0.11, 0.0, 0.01, 0.1, 0.11], "float32")
    return tf.constant(base + offsets[:, None] * np.array([0, 1], "float32"))


def test_most_and_least_similar_on_clusters():
    features = _two_clusters()
    sim = -tf.reduce_sum(tf.square(features[:, None] - features[None]), -1)
    most = select_partners("most_similar", tf.constant([0, 1]), 8, sim)[0].numpy()
    least = select_partners("least_similar", tf.constant([0, 1]), 8, sim)[0].numpy()
    assert most.tolist() == [1, 0, 3, 2, 5, 4, 7, 6]
    assert np.all(most != np.arange(8)) and np.all(least != np.arange(8))
    assert np.all((least < 4) != (np.arange(8) < 4))  # the other cluster


def test_sample_with_low_temperature_approaches_most_similar():
    sim = -tf.reduce_sum(tf.square(_two_clusters()[:, None] - _two_clusters()[None]), -1)
    most = select_partners("most_similar", tf.constant([0, 1]), 8, sim)[0].numpy()
    for s in range(5):
        cold, _ = select_partners("sample", tf.constant([s, 1]), 8, sim, temperature=1e-4)
        assert cold.numpy().tolist() == most.tolist()
    hot = [
        select_partners("sample", tf.constant([s, 9]), 8, sim, temperature=100.0)[0].numpy()
        for s in range(20)
    ]
    assert len({tuple(h) for h in hot}) > 1
    assert all(np.all(h != np.arange(8)) for h in hot)


@pytest.mark.parametrize("constraint", ["same", "different"])
@pytest.mark.parametrize("pairing", ["random", "most_similar", "sample"])
def test_class_constraints_hold_on_every_row(constraint, pairing):
    ids = tf.constant([0, 0, 1, 1, 2, 2, 0, 1])
    sim = tf.random.stateless_uniform([8, 8], [4, 4])
    candidates = class_candidates(ids, constraint)
    for s in range(5):
        partners, has = select_partners(pairing, tf.constant([s, 0]), 8, sim, candidates)
        partners = partners.numpy()
        assert has.numpy().all()
        same = ids.numpy()[partners] == ids.numpy()
        assert np.all(same) if constraint == "same" else not np.any(same)
        assert np.all(partners != np.arange(8))


@pytest.mark.parametrize("pairing", ["random", "most_similar", "sample"])
def test_rows_without_an_allowed_partner_stay_unpaired(pairing):
    # Class 2 has one member: with "same" it has nobody; the others pair within class.
    ids = tf.constant([0, 0, 1, 1, 2])
    sim = tf.random.stateless_uniform([5, 5], [1, 2])
    partners, has = select_partners(
        pairing, tf.constant([3, 3]), 5, sim, class_candidates(ids, "same")
    )
    assert has.numpy().tolist() == [True, True, True, True, False]
    assert partners.numpy().tolist() == [1, 0, 3, 2, 4]  # its own index: valid to gather
    # One class only: "different" has no candidate anywhere.
    partners, has = select_partners(
        pairing,
        tf.constant([3, 3]),
        6,
        tf.zeros([6, 6]),
        class_candidates(tf.zeros([6], tf.int32), "different"),
    )
    assert not has.numpy().any() and partners.numpy().tolist() == list(range(6))


def test_a_batch_of_one_or_none_has_no_partner():
    partners, has = select_partners("random", tf.constant([1, 2]), 1)
    assert partners.numpy().tolist() == [0] and has.numpy().tolist() == [False]
    partners, has = select_partners("most_similar", tf.constant([1, 2]), 0, tf.zeros([0, 0]))
    assert partners.shape == (0,) and has.shape == (0,)


def test_bad_names():
    with pytest.raises(ValueError, match="pairing"):
        select_partners("nearest", tf.constant([0, 0]), 4)
    with pytest.raises(ValueError, match="class_constraint"):
        class_candidates(tf.constant([0, 1]), "other")
    with pytest.raises(ValueError, match="temperature"):
        select_partners("sample", tf.constant([0, 0]), 2, tf.zeros([2, 2]), temperature=0.0)


def test_a_seed_draws_the_same_pairing_whatever_its_integer_dtype():
    from keras_samplepairing import PairingOptions
    from keras_samplepairing.ops import draw_batch_pairing

    images = tf.constant(np.arange(8 * 2 * 2 * 1, dtype="float32").reshape(8, 2, 2, 1))
    options = PairingOptions(pairing="most_similar", lam="beta", rate=0.7)
    drawn = [
        draw_batch_pairing(seed, images, options)
        for seed in (tf.constant([1, 2]), tf.constant([1, 2], tf.int64), np.array([1, 2]))
    ]
    for other in drawn[1:]:
        np.testing.assert_array_equal(other.partners, drawn[0].partners)
        np.testing.assert_array_equal(other.weights, drawn[0].weights)


@pytest.mark.parametrize(
    "options, shape, expected",
    [
        ({}, (4, 8, 6, 3), (4, 0, 0, 0)),
        ({}, (4, 5), (4, 0)),
        ({"lam": "beta", "mixing": "channel"}, (4, 8, 6, 3), (4, 0, 0, 3)),
        (
            {"lam": "beta", "mixing": "channel", "data_format": "channels_first"},
            (4, 3, 8, 6),
            (4, 3, 0, 0),
        ),
        ({"lam": "beta", "mixing": "spatial"}, (4, 8, 6, 3), (4, 8, 6, 0)),
        (
            {"lam": "beta", "mixing": "spatial", "data_format": "channels_first"},
            (4, 3, 8, 6),
            (4, 0, 8, 6),
        ),
    ],
)
def test_a_draw_without_similarity_reads_only_the_dimensions_its_weights_need(
    options, shape, expected
):
    view = draw_input(tf.zeros(shape, tf.uint8), PairingOptions(**options))
    assert tuple(view.shape) == expected and view.dtype == tf.float32
    images = tf.zeros((4, 8, 6, 3), tf.uint8)  # similarity compares the pixels
    assert draw_input(images, PairingOptions(pairing="most_similar")) is images
