"""Partner indices: which image of the batch each image is mixed with.

All functions return an int32 vector ``partners`` of length B where
``partners[i]`` is the index of image ``i``'s partner.
"""

from __future__ import annotations

import tensorflow as tf

from keras_samplepairing.ops.random import gumbel_noise

PAIRINGS = ("random", "most_similar", "least_similar", "sample")
CLASS_CONSTRAINTS = ("any", "same", "different")


def random_partners(seed: tf.Tensor, batch_size: tf.Tensor) -> tf.Tensor:
    """A random single-cycle permutation: nobody is their own partner.

    The batch is shuffled into a random order and each image takes the next
    one in that order as its partner (the last takes the first). Every image
    is a partner exactly once, and for B >= 2 no image is paired with itself;
    B = 1 pairs the image with itself. Shuffling is ``argsort`` of uniform
    noise, since XLA has no ``RandomShuffle``.

    Args:
        seed: stateless seed, shape ``[2]``.
        batch_size: B, a scalar.

    Returns:
        int32 ``(B,)`` partner indices.
    """
    order = tf.argsort(tf.random.stateless_uniform([batch_size], seed))
    position = tf.argsort(order)
    return tf.gather(tf.roll(order, shift=-1, axis=0), position)


def class_candidates(class_ids: tf.Tensor, constraint: str) -> tf.Tensor | None:
    """``(B, B)`` boolean matrix of allowed pairs, or None for ``"any"``."""
    if constraint not in CLASS_CONSTRAINTS:
        raise ValueError(
            f"`class_constraint` must be one of {CLASS_CONSTRAINTS}, got {constraint!r}."
        )
    if constraint == "any":
        return None
    same = tf.equal(class_ids[:, None], class_ids[None, :])
    return same if constraint == "same" else tf.logical_not(same)


def scored_partners(
    scores: tf.Tensor, candidates: tf.Tensor | None, fallback: tf.Tensor
) -> tf.Tensor:
    """Picks each row's highest-scoring candidate other than itself.

    Rows with no candidate (a batch of one, or a class constraint that no
    other image meets) take their ``fallback`` partner instead.

    Args:
        scores: ``(B, B)`` float scores; higher is preferred.
        candidates: optional ``(B, B)`` boolean mask of allowed pairs.
        fallback: int32 ``(B,)`` partners for rows without candidates.

    Returns:
        int32 ``(B,)`` partner indices.
    """
    if scores.shape[0] == 0:  # XLA has no arg max over an empty axis
        return fallback
    batch = tf.shape(scores)[0]
    allowed = tf.logical_not(tf.eye(batch, dtype=tf.bool))
    if candidates is not None:
        allowed = tf.logical_and(allowed, candidates)
    masked = tf.where(allowed, scores, tf.constant(-float("inf"), scores.dtype))
    best = tf.argmax(masked, axis=1, output_type=tf.int32)
    return tf.where(tf.reduce_any(allowed, axis=1), best, fallback)


def select_partners(
    pairing: str,
    seed: tf.Tensor,
    batch_size: tf.Tensor,
    similarity: tf.Tensor | None = None,
    candidates: tf.Tensor | None = None,
    temperature: float = 1.0,
) -> tf.Tensor:
    """Partner indices by the strategy named ``pairing``.

    - ``"random"``: a random single-cycle permutation (see
      ``random_partners``); with class ``candidates``, a uniformly random
      allowed partner.
    - ``"most_similar"`` / ``"least_similar"``: the arg max / arg min of the
      row of ``similarity``, excluding the image itself.
    - ``"sample"``: a draw from ``softmax(similarity / temperature)`` over the
      row, excluding the image itself (Gumbel-max, so XLA needs no
      multinomial op). ``temperature -> 0`` approaches ``"most_similar"``,
      large temperatures approach uniform.

    Rows where no partner satisfies ``candidates`` fall back to the random
    single-cycle partner.

    Args:
        pairing: one of ``PAIRINGS``.
        seed: stateless seed, shape ``[2]``.
        batch_size: B, a scalar.
        similarity: ``(B, B)`` matrix; required unless ``pairing="random"``.
        candidates: optional ``(B, B)`` boolean matrix of allowed pairs.
        temperature: > 0, for ``"sample"``.

    Returns:
        int32 ``(B,)`` partner indices.
    """
    if pairing not in PAIRINGS:
        raise ValueError(f"`pairing` must be one of {PAIRINGS}, got {pairing!r}.")
    cycle_seed, noise_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    fallback = random_partners(cycle_seed, batch_size)
    if pairing == "random":
        if candidates is None:
            return fallback
        noise = tf.random.stateless_uniform([batch_size, batch_size], noise_seed)
        return scored_partners(noise, candidates, fallback)
    if similarity is None:
        raise ValueError(f"`pairing={pairing!r}` needs a similarity matrix.")
    if pairing == "most_similar":
        scores = similarity
    elif pairing == "least_similar":
        scores = -similarity
    else:
        if not temperature > 0:
            raise ValueError(f"`temperature` must be > 0, got {temperature}.")
        scores = similarity / temperature + gumbel_noise(noise_seed, tf.shape(similarity))
    return scored_partners(scores, candidates, fallback)
