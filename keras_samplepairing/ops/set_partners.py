"""Partners from the whole training set: which image each anchor is mixed with.

The whole-set counterparts of ``partners.py``: the same rules (never the
image itself, a row without an allowed partner left unpaired) over the
whole set's tables instead of one batch. Each function returns
``(partners, has_partner)``: int32 set indices and a bool mask; an anchor
without an allowed partner holds its own index.

- ``epoch_order``: an epoch's shuffled order of the set and a random single
  cycle over it (the paper: every image a partner once, never its own).
- ``index_partners``: from a partner index's neighbour table (most or least
  similar, or drawn by softmax(similarity / temperature)).
- ``class_partners``: a uniformly random partner of the same class or of
  another class, from tables of the set sorted by class.
"""

from __future__ import annotations

from typing import Any

from keras_samplepairing.ops.namespace import namespace
from keras_samplepairing.ops.random import gumbel_noise


def cycle_of(keys: Any) -> Any:
    """The single cycle that visits the indices in the order of ``keys``: each
    index's partner is the next in that order, the last's the first.

    Args:
        keys: float ``(N,)`` sort keys (random draws).

    Returns:
        int32 ``(N,)``: each index's partner (never itself for N >= 2).
    """
    xp = namespace(keys)
    order = xp.argsort(keys)
    position = xp.argsort(order)
    return xp.take(xp.roll(order, shift=-1, axis=0), position, axis=0)


def epoch_order(seed: Any, size: int) -> tuple[Any, Any]:
    """One epoch over a set of ``size`` images: ``(order, cycle_partners)``.

    Args:
        seed: stateless seed, shape ``[2]`` (one per epoch).
        size: N, the number of images.

    Returns:
        int32 ``(N,)`` the shuffled order in which the images are batched, and
        int32 ``(N,)`` each position's partner under a random single cycle over
        the whole set (independent of the order).
    """
    xp = namespace(seed)
    order_seed, cycle_seed = xp.split_seed(xp.seed_tensor(seed), 2)
    order = xp.argsort(xp.random_keys(order_seed, [size]))
    partner_of = cycle_of(xp.random_keys(cycle_seed, [size]))
    return order, xp.take(partner_of, order, axis=0)


def index_partners(
    seed: Any,
    anchors: Any,
    neighbours: Any,
    counts: Any,
    similarities: Any,
    pairing: str,
    temperature: float = 1.0,
) -> tuple[Any, Any]:
    """Partners from the anchors' rows of a partner index.

    Args:
        seed: stateless seed, shape ``[2]``.
        anchors: int32 ``(B,)`` set indices.
        neighbours: int32 ``(B, k)``, each anchor's neighbours, best first.
        counts: int32 ``(B,)``, how many of them are valid (the rest are -1).
        similarities: float32 ``(B, k)``, their similarity.
        pairing: ``"most_similar"`` and ``"least_similar"`` take the first (the
            index holds the nearest or the farthest first); ``"sample"`` draws
            from softmax(similarity / temperature) over the valid ones
            (Gumbel-max).
        temperature: > 0, for ``"sample"``.

    Returns:
        ``(partners, has_partner)``.
    """
    xp = namespace(neighbours)
    rows = xp.shape(neighbours)[0]
    column = xp.full([rows], 0, "int32")
    if pairing == "sample":
        width = neighbours.shape[1]
        valid = xp.arange(width)[None, :] < counts[:, None]
        scores = similarities / temperature + gumbel_noise(seed, [rows, width])
        column = xp.argmax(xp.where(valid, scores, -float("inf")), axis=1)
    partners = xp.take_along_rows(neighbours, column)
    has_partner = counts > 0
    return xp.where(has_partner, partners, anchors), has_partner


def class_partners(
    seed: Any,
    anchors: Any,
    tables: dict,
    constraint: str,
    size: int,
) -> tuple[Any, Any]:
    """A uniformly random partner of the anchor's class (``"same"``, never the
    anchor) or of another class (``"different"``).

    Args:
        seed: stateless seed, shape ``[2]``.
        anchors: int32 ``(B,)`` set indices.
        tables: the set sorted by class: ``"order"`` (N,) the indices sorted by
            class; per index, ``"start"`` (where its class begins in
            ``order``), ``"count"`` (its class's size) and ``"rank"`` (its own
            position within its class).
        constraint: ``"same"`` or ``"different"``.
        size: N.

    Returns:
        ``(partners, has_partner)``.
    """
    xp = namespace(anchors)
    start = xp.take(tables["start"], anchors, axis=0)
    count = xp.take(tables["count"], anchors, axis=0)
    draw = xp.random_keys(seed, xp.shape(anchors))
    if constraint == "same":
        choices = count - 1
        rank = xp.take(tables["rank"], anchors, axis=0)
        pick = xp.cast(draw * xp.cast(choices, "float32"), "int32")
        position = start + pick + xp.cast(pick >= rank, "int32")  # skip itself
    else:
        choices = size - count
        pick = xp.cast(draw * xp.cast(choices, "float32"), "int32")
        position = pick + xp.where(pick >= start, count, 0)  # skip its class
    has_partner = choices > 0
    position = xp.clip(position, 0, size - 1)
    partners = xp.take(tables["order"], position, axis=0)
    return xp.where(has_partner, partners, anchors), has_partner
