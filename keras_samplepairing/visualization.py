"""Pictures of what a pairing does: the partner each image of a set gets.

A number says whether a variant helps; a picture says why. ``plot_partners``
draws some anchors of a training set above the partner a ``WholeSetPairing``
or a ``PartnerIndex`` chooses for each, with λ and the pair's similarity,
and, where an index chooses, the images it picks most often (hubness: a few
images can be everyone's nearest or farthest neighbour).

It sits above ``data`` in the import order, and imports matplotlib only when
it draws, so importing the package never needs matplotlib.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_samplepairing.data.index import PartnerIndex
from keras_samplepairing.data.whole_set import WholeSetPairing

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# How many of the most-chosen images the hubness row shows (at most).
MOST_CHOSEN = 5


def _check_count(count: Any) -> int:
    if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
        raise ValueError(f"`count` must be a positive int, got {count!r}.")
    return int(count)


def _anchor_ids(anchors: Any, count: int, size: int) -> np.ndarray:
    """Checked int64 indices into a set of ``size`` images; by default
    ``count`` evenly spaced ones (as ``WholeSetPairing.preview`` takes them)."""
    if anchors is None:
        return np.linspace(0, size - 1, min(count, size)).round().astype(np.int64)
    ids = np.asarray(anchors)
    if ids.ndim == 0:
        ids = ids.reshape(1)
    if (
        ids.ndim != 1
        or not len(ids)
        or not (np.issubdtype(ids.dtype, np.integer) or np.issubdtype(ids.dtype, np.floating))
        or np.any(ids % 1)
    ):
        raise ValueError(f"`anchors` must be a non-empty list of int indices, got {anchors!r}.")
    if np.any(ids < 0) or np.any(ids >= size):
        raise ValueError(
            f"`anchors` must be indices into the {size} images of the set, in [0, {size}); "
            f"got {anchors!r}."
        )
    return ids.astype(np.int64)


def _check_images(images: Any, size: int | None) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(
            "`images` must be (N, H, W, C) channels-last images with C = 1, 3 or 4, got shape "
            f"{images.shape}."
        )
    if size is not None and len(images) != size:
        raise ValueError(
            f"`images` has {len(images)} images but the index was built over {size}: pass the "
            "images the index was built over, in the same order."
        )
    return images


def _check_value_range(value_range: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        low = high = None
    if low is None or not low < high:
        raise ValueError(f"`value_range` must be (low, high) with low < high, got {value_range!r}.")
    return low, high


def _check_labels(labels: Any, size: int) -> np.ndarray | None:
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot rows
        labels = np.argmax(labels, axis=1)
    labels = labels.reshape(len(labels))  # (N,) or (N, 1) class ids
    if len(labels) != size:
        raise ValueError(f"`labels` has {len(labels)} entries for {size} images.")
    return labels


def pick_counts(index: PartnerIndex, pairing: str | None = None, temperature: float = 1.0):
    """How often each image of the set is picked as a partner, over one pick per anchor.

    Args:
        index: the partner index.
        pairing: ``"sample"`` draws among each anchor's ``k`` neighbours by
            softmax(similarity / temperature), so the counts are expected
            picks; anything else (``"most_similar"``, ``"least_similar"``, or
            None for an index on its own) takes the first neighbour.
        temperature: the softmax temperature for ``"sample"``.

    Returns:
        float64 ``(N,)``: picks per image; they sum to the anchors that have a partner.
    """
    neighbours, valid = index.neighbours, index.neighbours >= 0
    if pairing == "sample":
        logits = np.where(valid, index.similarities / temperature, -np.inf).astype(np.float64)
        logits -= np.max(np.where(valid, logits, -np.inf), axis=1, keepdims=True, initial=-np.inf)
        weights = np.where(valid, np.exp(logits), 0.0)
        totals = weights.sum(axis=1, keepdims=True)
        weights = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
        return np.bincount(neighbours[valid], weights=weights[valid], minlength=index.size)
    first = neighbours[:, 0][valid[:, 0]]
    return np.bincount(first, minlength=index.size).astype(np.float64)


def _draws(source: Any, ids: np.ndarray, seed: int | None) -> dict:
    """The preview's arrays for a pairing, or the index's first neighbours."""
    if isinstance(source, WholeSetPairing):
        return source.preview(anchors=ids, seed=seed)
    partners = source.neighbours[ids, 0].astype(np.int64)
    paired = partners >= 0
    return {
        "anchors": ids,
        "partners": np.where(paired, partners, ids),
        "paired": paired,
        "lam": np.full(len(ids), np.nan, np.float32),
        "similarity": np.where(paired, source.similarities[ids, 0], np.nan).astype(np.float32),
    }


def _describe(source: Any) -> tuple[str, str]:
    """The gallery's default title, and the similarity measure's name."""
    if isinstance(source, PartnerIndex):
        s = source.settings
        constraint = s.get("class_constraint", "any")
        within = "" if constraint == "any" else f", class_constraint={constraint!r}"
        return (
            f"PartnerIndex: each image's {s['direction']} neighbour by {s['similarity']} "
            f"(k={source.k}{within}, {source.size} images)",
            s["similarity"],
        )
    o = source.options
    parts = [f"pairing={o.pairing!r}"]
    if o.pairing != "random" or o.lam == "similarity":
        parts.append(f"similarity={o.similarity!r}")
    if o.class_constraint != "any":
        parts.append(f"class_constraint={o.class_constraint!r}")
    parts.append(f"lam={o.lam!r}")
    if o.rate < 1.0:
        parts.append(f"rate={o.rate}")
    return f"WholeSetPairing({', '.join(parts)}), {source.size} images", o.similarity


def _show(ax: Any, image: np.ndarray, value_range: tuple[float, float]) -> None:
    low, high = value_range
    scaled = np.clip((image.astype(np.float32) - low) / (high - low), 0.0, 1.0)
    if scaled.shape[-1] == 1:
        ax.imshow(scaled[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(scaled, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _label_text(labels: np.ndarray | None, i: int) -> str:
    return "" if labels is None else f", label {labels[i]}"


def plot_partners(
    source: WholeSetPairing | PartnerIndex,
    images: Any = None,
    anchors: Any = None,
    count: int = 8,
    path: str | None = None,
    title: str | None = None,
    value_range: tuple[float, float] | None = None,
    labels: Any = None,
    seed: int | None = None,
) -> Figure:
    """A gallery of anchors of a training set and the partner ``source`` chooses for each.

    The top row shows the anchors, the row below the partner of each, titled
    with its index, λ (the anchor's label weight) and the pair's similarity
    in the measure's own scale. For a source with a partner index a third
    row shows the images it picks most often, and the share of all picks
    they take (at random each image would be picked about once).

    Args:
        source: a ``WholeSetPairing`` held in memory (its partners and λ come
            from ``preview``, the same rules its pipeline follows: random
            cycle, index, class constraint, rate, λ strategy), or a
            ``PartnerIndex`` (each anchor's first neighbour, the partner of
            ``pairing="most_similar"`` or ``"least_similar"``; an index has
            no λ).
        images: for a ``PartnerIndex`` only, and then required: the ``(N, H,
            W, C)`` images the index was built over, in its order. A
            ``WholeSetPairing`` shows its own images.
        anchors: indices into the set (default: ``count`` evenly spaced ones).
        count: how many anchors when ``anchors`` is None.
        path: where to write the gallery as a PNG (optional).
        title: the gallery's title (default: what the source is).
        value_range: ``(low, high)`` of the pixel values, drawn as black to
            white (default: a pairing's ``value_range`` option; ``(0, 255)``
            for an index).
        labels: optional ``(N,)`` class ids (or one-hot rows) to print beside
            each image's index (default: an index's own labels, if it was
            built with a class constraint).
        seed: the draw's seed for a ``WholeSetPairing`` (default: its seed).

    Returns:
        The ``matplotlib.figure.Figure`` (made without pyplot, so nothing
        global changes; a notebook shows it when returned).

    Raises:
        TypeError: ``source`` is neither a ``WholeSetPairing`` nor a
            ``PartnerIndex``.
        ValueError: a ``PartnerIndex`` without ``images``, ``images`` given
            with a ``WholeSetPairing``, images that do not match the set,
            anchors out of range, a bad ``count`` or ``value_range``, or a
            streamed ``WholeSetPairing``.
    """
    if isinstance(source, WholeSetPairing):
        if images is not None:
            raise ValueError(
                "`images` is for a PartnerIndex: a WholeSetPairing shows its own images "
                "(leave `images` out)."
            )
        if not source.in_memory:
            raise ValueError(
                "`source` streams its set: plot_partners needs a WholeSetPairing held in memory."
            )
        pixels = np.asarray(source.images())
        if source.options.data_format == "channels_first":
            pixels = np.moveaxis(pixels, 1, -1)
        pixels = _check_images(pixels, None)
        index = source.index
        default_range = source.options.value_range
    elif isinstance(source, PartnerIndex):
        if images is None:
            raise ValueError(
                "`images` is required with a PartnerIndex: pass the (N, H, W, C) images it was "
                "built over."
            )
        pixels = _check_images(images, source.size)
        index = source
        default_range = (0.0, 255.0)
        if labels is None:
            labels = getattr(source, "labels", None)
    else:
        raise TypeError(
            f"`source` must be a WholeSetPairing or a PartnerIndex, got {type(source).__name__}."
        )
    value_range = _check_value_range(default_range if value_range is None else value_range)
    size = len(pixels)
    labels = _check_labels(labels, size)
    ids = _anchor_ids(anchors, _check_count(count), size)
    drawn = _draws(source, ids, seed)
    default_title, measure = _describe(source)
    counts = None
    if index is not None:
        pairing = source.options.pairing if isinstance(source, WholeSetPairing) else None
        temperature = source.options.temperature if pairing else 1.0
        counts = pick_counts(index, pairing, temperature)
    return _draw_figure(
        pixels, labels, drawn, counts, measure, title or default_title, value_range, path
    )


def _draw_figure(
    pixels: np.ndarray,
    labels: np.ndarray | None,
    drawn: dict,
    counts: np.ndarray | None,
    measure: str,
    title: str,
    value_range: tuple[float, float],
    path: str | None,
) -> Figure:
    from matplotlib.figure import Figure

    n = len(drawn["anchors"])
    # One column width for every row, so the images come out the same size.
    columns = max(n, MOST_CHOSEN) if counts is not None else n
    height = 4.4 + (2.4 if counts is not None else 0.0)
    fig = Figure(figsize=(max(1.6 * columns, 6.0), height), dpi=90, layout="constrained")
    if counts is not None:
        top, bottom = fig.subfigures(2, 1, height_ratios=[4.4, 2.4])
    else:
        top, bottom = fig, None
    axes = top.subplots(2, columns, squeeze=False)
    for ax in axes[:, n:].flat:
        ax.set_axis_off()
    for column in range(n):
        anchor, partner = int(drawn["anchors"][column]), int(drawn["partners"][column])
        _show(axes[0, column], pixels[anchor], value_range)
        axes[0, column].set_title(f"#{anchor}{_label_text(labels, anchor)}", fontsize=9)
        ax = axes[1, column]
        if not drawn["paired"][column]:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(0.5, 0.5, "not paired", ha="center", va="center", transform=ax.transAxes)
            ax.set_title("λ 1.00" if np.isfinite(drawn["lam"][column]) else "", fontsize=9)
            continue
        _show(ax, pixels[partner], value_range)
        lines = [f"#{partner}{_label_text(labels, partner)}"]
        details = []
        if np.isfinite(drawn["lam"][column]):
            details.append(f"λ {drawn['lam'][column]:.2f}")
        if np.isfinite(drawn["similarity"][column]):
            details.append(f"{measure} {drawn['similarity'][column]:.2f}")
        if details:
            lines.append(" · ".join(details))
        ax.set_title("\n".join(lines), fontsize=9)
    axes[0, 0].set_ylabel("anchor", fontsize=10)
    axes[1, 0].set_ylabel("its partner", fontsize=10)
    top.suptitle(title, fontsize=11)
    if bottom is not None:
        _draw_most_chosen(bottom, columns, pixels, labels, counts, value_range)
    if path is not None:
        fig.savefig(path, dpi=90, facecolor="white")
    return fig


def _draw_most_chosen(
    fig: Any,
    columns: int,
    pixels: np.ndarray,
    labels: np.ndarray | None,
    counts: np.ndarray,
    value_range: tuple[float, float],
) -> None:
    """The row of the most-picked images, titled with their share of all picks."""
    total = float(counts.sum())
    order = np.argsort(-counts, kind="stable")
    shown = [int(i) for i in order[:MOST_CHOSEN] if counts[i] > 0]
    axes = fig.subplots(1, columns, squeeze=False)[0]
    for ax in axes:
        ax.set_axis_off()
    if not shown or total <= 0:
        fig.suptitle("No image is picked as a partner.", fontsize=10)
        return
    share = counts[shown].sum() / total
    uniform = len(shown) / len(counts)
    words = (
        "most-chosen image takes" if len(shown) == 1 else f"{len(shown)} most-chosen images take"
    )
    fig.suptitle(
        f"How often partners are picked: the {words} {share:.0%} of all {total:.0f} picks "
        f"(at random they would take {uniform:.1%})",
        fontsize=10,
    )
    axes[0].set_ylabel("most chosen", fontsize=10)
    for ax, image in zip(axes, shown, strict=False):
        ax.set_axis_on()
        _show(ax, pixels[image], value_range)
        times = counts[image]
        picked = f"{times:.0f}×" if float(times).is_integer() else f"{times:.1f}× (expected)"
        ax.set_title(f"#{image}{_label_text(labels, image)}\npicked {picked}", fontsize=9)
