"""The comparison's charts: each cell's test errors, and the grid's regimes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keras_samplepairing.compare.stats import CONFIDENCE


def plot_chart(
    rows: Sequence[Mapping[str, Any]],
    errors: Mapping[str, Mapping[int, float]],
    path: str,
    title: str,
) -> None:
    """Test error per variant: each seed's run, the mean and its CI, and the
    baseline's mean as a dashed line; variants whose difference survives
    Holm's adjustment are coloured (green better, red worse)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height = 1.2 + 0.42 * len(rows)
    fig, ax = plt.subplots(figsize=(7.5, height))
    positions = list(range(len(rows)))[::-1]
    for y, row in zip(positions, rows, strict=True):
        paired = row["vs_baseline"]
        color = "black"
        if paired is not None and paired["survives_holm"]:
            color = "tab:green" if paired["mean_difference"] < 0 else "tab:red"
        values = [100.0 * v for v in errors[row["variant"]].values()]
        ax.scatter(values, [y] * len(values), s=14, color="0.6", zorder=2)
        mean = row["mean_error"]
        interval = None
        if row["ci_low"] is not None:
            interval = [[100.0 * (mean - row["ci_low"])], [100.0 * (row["ci_high"] - mean)]]
        ax.errorbar(
            100.0 * mean,
            y,
            xerr=interval,
            fmt="o",
            color=color,
            capsize=4,
            zorder=3,
        )
        if row["vs_baseline"] is None:
            ax.axvline(100.0 * row["mean_error"], color="0.4", ls="--", lw=1, zorder=1)
    ax.set_yticks(positions, [row["variant"] for row in rows])
    ax.set_xlabel(f"test error after the final epoch (%): seeds, mean and {CONFIDENCE:.0%} CI")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _panel_layout(labels: Sequence[str], grid: Mapping[str, Sequence[str]]) -> tuple[int, int]:
    """Rows and columns of panels: a two-factor grid as its table of values,
    anything else in rows of at most three."""
    if len(grid) == 2:
        first, second = grid.values()
        if len(first) * len(second) == len(labels):
            return len(first), len(second)
    columns = min(3, len(labels))
    return -(-len(labels) // columns), columns


def plot_regimes(
    rows_by_cell: Mapping[str, Sequence[Mapping[str, Any]]],
    grid: Mapping[str, Sequence[str]],
    path: str,
    title: str,
) -> None:
    """Where pairing helps and where it hurts: one panel per cell of the grid,
    each variant's paired change against the cell's baseline (mean and CI, in
    percentage points; left of 0 is better). Filled markers survive Holm's
    adjustment over the whole grid (green better, red worse); open ones do not.

    Args:
        rows_by_cell: each cell's summary rows, in the grid's order.
        grid: the varied factors and their values (lays out the panels).
        path: the PNG to write.
        title: the figure's title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(rows_by_cell)
    names: list[str] = []
    for rows in rows_by_cell.values():
        names += [
            r["variant"] for r in rows if r["vs_baseline"] is not None and r["variant"] not in names
        ]
    names = names or ["(none)"]
    nrows, ncols = _panel_layout(labels, grid)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.6 * ncols + 1.6, 0.9 + (0.5 + 0.3 * len(names)) * nrows),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    positions = {name: y for y, name in enumerate(reversed(names))}
    for index, ax in enumerate(axes.flat):
        if index >= len(labels):
            ax.axis("off")
            continue
        label = labels[index]
        baseline = next((r for r in rows_by_cell[label] if r["vs_baseline"] is None), None)
        for row in rows_by_cell[label]:
            paired = row["vs_baseline"]
            if paired is None:
                continue
            delta = 100.0 * paired["mean_difference"]
            survives = bool(paired["survives_holm"])
            color = ("tab:green" if delta < 0 else "tab:red") if survives else "0.35"
            error = None if paired["half_width"] is None else 100.0 * paired["half_width"]
            ax.errorbar(
                delta,
                positions[row["variant"]],
                xerr=error,
                fmt="o",
                color=color,
                markerfacecolor=color if survives else "white",
                capsize=3,
                zorder=3,
            )
        ax.axvline(0.0, color="0.5", lw=1, ls="--", zorder=1)
        ax.grid(axis="x", alpha=0.3)
        shown = label.replace(", ", "\n")
        if baseline is not None:
            shown += f"\nbaseline {100.0 * baseline['mean_error']:.2f}%"
        ax.set_title(shown, fontsize=8)
    for ax in axes[:, 0]:
        ax.set_yticks(list(positions.values()), list(positions))
    for ax in axes[-1, :]:
        ax.set_xlabel(f"Δ test error vs baseline (pp), {CONFIDENCE:.0%} CI", fontsize=8)
    fig.suptitle(
        f"{title}\nfilled: survives Holm over the grid (green better, red worse)", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
