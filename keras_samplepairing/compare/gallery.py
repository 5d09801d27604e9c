"""The pairs galleries: what a whole-set variant's partners look like.

A number says whether a variant helps; a picture says why. For every
whole-set variant of a comparison (random and semantic), the run with the
first seed saves a gallery of a few training images, the partner the
variant chose for each and λ (and, where a partner index chooses, how often
the most-chosen images are picked), beside the chart. A model-feature
variant's gallery shows the partners of its last index, at the end of
training.
"""

from __future__ import annotations

import os
import re
from typing import Any

GALLERY_COUNT = 8


def gallery_path(out: str, cell_slug: str, variant: str) -> str:
    """``<out>/pairs-<variant>.png``, or ``pairs-<cell>-<variant>.png`` in a grid."""
    name = f"pairs-{variant}.png" if not cell_slug else f"pairs-{cell_slug}-{variant}.png"
    return os.path.join(out, re.sub(r"[^A-Za-z0-9._-]+", "-", name))


def draw_pairs(pairing: Any, path: str, title: str, value_range: tuple) -> tuple[str | None, str]:
    """Saves ``pairing``'s gallery (``keras_samplepairing.visualization.plot_partners``).

    A gallery never stops a run: when it cannot be drawn, the reason is
    returned instead.

    Args:
        pairing: the run's ``WholeSetPairing``.
        path: the PNG to write.
        title: the gallery's title.
        value_range: the images' value range.

    Returns:
        ``(path, "")``, or ``(None, why not)``.
    """
    try:
        from keras_samplepairing.visualization import plot_partners
    except ImportError as error:
        return None, f"keras_samplepairing.visualization.plot_partners is not available ({error})"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        figure = plot_partners(
            pairing, count=GALLERY_COUNT, path=path, title=title, value_range=tuple(value_range)
        )
    except Exception as error:  # a picture must not cost the run
        return None, f"{type(error).__name__}: {error}"
    try:
        import matplotlib.pyplot as plt

        plt.close(figure)
    except Exception:  # noqa: S110 - closing is housekeeping
        pass
    return path, ""
