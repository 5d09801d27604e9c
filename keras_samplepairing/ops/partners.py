"""Partners within a batch: which image each image is mixed with.

The functions return ``(partners, has_partner)``: int32 ``(B,)`` partner
indices and a bool ``(B,)`` mask of the rows that have an allowed partner.
A row without one (a batch of one, or a class constraint that no other
image meets) is left unpaired: returned unchanged, never mixed with a
partner the user did not ask for. Its index in ``partners`` is its own, so
every index is valid to gather with.
"""

from __future__ import annotations

from typing import Any

from keras_samplepairing.ops.namespace import namespace
from keras_samplepairing.ops.random import gumbel_noise

PAIRINGS = ("random", "most_similar", "least_similar", "sample")
CLASS_CONSTRAINTS = ("any", "same", "different")


def random_partners(seed: Any, batch_size: Any) -> Any:
    """A random single-cycle permutation: nobody is their own partner.

    The batch is shuffled into a random order and each image takes the next
    one in that order as its partner (the last takes the first). Every image
    is a partner exactly once, and for B >= 2 no image is paired with itself;
    for B = 1 the one index is its own (the caller leaves it unpaired).
    Shuffling is ``argsort`` of uniform noise, since XLA has no shuffle op.

    Args:
        seed: stateless seed, shape ``[2]``.
        batch_size: B, a scalar.

    Returns:
        int32 ``(B,)`` partner indices.
    """
    xp = namespace(seed)
    order = xp.argsort(xp.uniform(seed, [batch_size]))
    position = xp.argsort(order)
    return xp.take(xp.roll(order, shift=-1, axis=0), position, axis=0)


def class_candidates(class_ids: Any, constraint: str, candidate_ids: Any = None) -> Any:
    """``(B, M)`` boolean matrix of allowed pairs, or None for ``"any"``.

    Args:
        class_ids: int ``(B,)`` anchor classes.
        constraint: one of ``CLASS_CONSTRAINTS``.
        candidate_ids: int ``(M,)`` candidate classes; default ``class_ids``.
    """
    if constraint not in CLASS_CONSTRAINTS:
        raise ValueError(
            f"`class_constraint` must be one of {CLASS_CONSTRAINTS}, got {constraint!r}."
        )
    if constraint == "any":
        return None
    xp = namespace(class_ids)
    others = class_ids if candidate_ids is None else candidate_ids
    same = xp.equal(class_ids[:, None], others[None, :])
    return same if constraint == "same" else xp.logical_not(same)


def scored_partners(scores: Any, candidates: Any = None) -> tuple[Any, Any]:
    """Each row's highest-scoring allowed candidate other than itself.

    Args:
        scores: ``(B, B)`` float scores; higher is preferred.
        candidates: optional ``(B, B)`` boolean mask of allowed pairs.

    Returns:
        ``(partners, has_partner)``: int32 ``(B,)`` indices (a row's own
        where it has no allowed candidate) and the bool ``(B,)`` mask of rows
        that have one.
    """
    xp = namespace(scores)
    batch = xp.shape(scores)[0]
    allowed = xp.logical_not(xp.eye(batch, dtype="bool"))
    if candidates is not None:
        allowed = xp.logical_and(allowed, candidates)
    masked = xp.where(allowed, scores, -float("inf"))
    # A sentinel column keeps the arg max defined for an empty batch (XLA and
    # TensorFlow's kernels refuse an arg max over an empty axis).
    masked = xp.concatenate([masked, xp.full([batch, 1], -float("inf"), "float32")], axis=1)
    best = xp.argmax(masked, axis=1)
    has_partner = xp.any(allowed, axis=1)
    return xp.where(has_partner, best, xp.arange(batch)), has_partner


def select_partners(
    pairing: str,
    seed: Any,
    batch_size: Any,
    similarity: Any = None,
    candidates: Any = None,
    temperature: float = 1.0,
) -> tuple[Any, Any]:
    """Partners by the strategy named ``pairing``.

    - ``"random"``: a random single-cycle permutation (see
      ``random_partners``); with class ``candidates``, a uniformly random
      allowed partner.
    - ``"most_similar"`` / ``"least_similar"``: the arg max / arg min of the
      row of ``similarity``, excluding the image itself.
    - ``"sample"``: a draw from ``softmax(similarity / temperature)`` over the
      row, excluding the image itself (Gumbel-max, so XLA needs no
      multinomial op). ``temperature -> 0`` approaches ``"most_similar"``,
      large temperatures approach uniform.

    Args:
        pairing: one of ``PAIRINGS``.
        seed: stateless seed, shape ``[2]``.
        batch_size: B, a scalar.
        similarity: ``(B, B)`` matrix; required unless ``pairing="random"``.
        candidates: optional ``(B, B)`` boolean matrix of allowed pairs.
        temperature: > 0, for ``"sample"``.

    Returns:
        ``(partners, has_partner)``, see ``scored_partners``.
    """
    if pairing not in PAIRINGS:
        raise ValueError(f"`pairing` must be one of {PAIRINGS}, got {pairing!r}.")
    xp = namespace(seed)
    if pairing == "random":
        if candidates is None:
            # A batch of one has nobody else to pair with.
            return random_partners(seed, batch_size), xp.full([batch_size], batch_size >= 2, "bool")
        noise = xp.uniform(seed, [batch_size, batch_size])
        return scored_partners(noise, candidates)
    if similarity is None:
        raise ValueError(f"`pairing={pairing!r}` needs a similarity matrix.")
    if pairing == "most_similar":
        scores = similarity
    elif pairing == "least_similar":
        scores = -similarity
    else:
        if not temperature > 0:
            raise ValueError(f"`temperature` must be > 0, got {temperature}.")
        scores = similarity / temperature + gumbel_noise(seed, [batch_size, batch_size])
    return scored_partners(scores, candidates)
