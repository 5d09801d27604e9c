"""The comparison's report: summary rows, Holm's adjustment over a grid, the tables.

Each cell of a grid is compared with its own baseline; Holm's adjustment
runs over every comparison of the grid at once, so "survives" means the same
whether a grid has one cell or twenty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keras_samplepairing.compare.stats import (
    ALPHA,
    CONFIDENCE,
    compare_paired,
    holm,
    summarize,
)


def summary_rows(
    errors: Mapping[str, Mapping[int, float]],
    times: Mapping[str, Mapping[int, float]],
    baseline: str,
    descriptions: Mapping[str, str] | None = None,
    alpha: float = ALPHA,
) -> list[dict[str, Any]]:
    """One row per variant: its errors over seeds and its paired comparison.

    Args:
        errors: final test error by variant, then by seed; the baseline's
            entry first or anywhere (it is the row the others are compared
            with). Rows keep this order.
        times: wall time (seconds) of each run, by variant and seed.
        baseline: the baseline's name.
        descriptions: one line per variant, copied into its row.
        alpha: the family-wise error rate of Holm's adjustment.

    Returns:
        Rows with ``variant``, ``description``, ``n``, ``seeds``,
        ``mean_error``, ``std``, ``ci_half_width``, ``ci_low``, ``ci_high``,
        ``ci_cut``, ``time_per_run_s``, ``time_total_s`` and
        ``vs_baseline`` (None for the baseline; else ``n``,
        ``mean_difference``, ``half_width``, ``relative``, ``wins``,
        ``ties``, ``losses``, ``p_value``, ``p_holm``, ``survives_holm``).

    Raises:
        ValueError: the baseline is missing, or a variant has no run.
    """
    return grid_rows({"": errors}, {"": times}, baseline, descriptions, alpha)[""]


def grid_rows(
    errors: Mapping[str, Mapping[str, Mapping[int, float]]],
    times: Mapping[str, Mapping[str, Mapping[int, float]]],
    baseline: str,
    descriptions: Mapping[str, str] | None = None,
    alpha: float = ALPHA,
) -> dict[str, list[dict[str, Any]]]:
    """``summary_rows`` for every cell of a grid, Holm's adjustment over all
    the grid's comparisons with a baseline together.

    Args:
        errors: by cell label, then variant, then seed.
        times: the runs' wall times, likewise.
        baseline: the baseline's name (every cell has its own baseline runs).
        descriptions: one line per variant.
        alpha: the family-wise error rate.

    Returns:
        By cell label, the cell's rows (see ``summary_rows``).

    Raises:
        ValueError: a cell without baseline runs, or a variant without runs.
    """
    descriptions = descriptions or {}
    paired = {}
    for label, by_variant in errors.items():
        if baseline not in by_variant or not by_variant[baseline]:
            where = f" in the cell {label!r}" if label else ""
            raise ValueError(f"The baseline {baseline!r} has no runs to compare with{where}.")
        for name, by_seed in by_variant.items():
            if name != baseline and by_seed:
                paired[(label, name)] = compare_paired(by_seed, by_variant[baseline])
    adjusted = holm({key: result.p_value for key, result in paired.items()}, alpha)
    return {
        label: [
            _row(
                name,
                by_seed,
                times.get(label, {}).get(name, {}),
                descriptions,
                paired,
                adjusted,
                label,
            )
            for name, by_seed in by_variant.items()
        ]
        for label, by_variant in errors.items()
    }


def _row(
    name: str,
    by_seed: Mapping[int, float],
    run_times: Mapping[int, float],
    descriptions: Mapping[str, str],
    paired: Mapping[tuple, Any],
    adjusted: Mapping[tuple, tuple],
    label: str,
) -> dict[str, Any]:
    if not by_seed:
        raise ValueError(f"Variant {name!r} has no finished run.")
    summary = summarize(list(by_seed.values()))
    seconds = list(run_times.values())
    low = high = None
    if summary.half_width is not None:
        # An error rate lies in [0, 1]; a t-interval over few seeds can pass
        # either end: it is shown cut there, and the row says so.
        low = max(0.0, summary.mean - summary.half_width)
        high = min(1.0, summary.mean + summary.half_width)
    row: dict[str, Any] = {
        "cell": label,
        "variant": name,
        "description": descriptions.get(name, ""),
        "n": summary.n,
        "seeds": sorted(by_seed),
        "mean_error": summary.mean,
        "std": summary.std,
        "ci_half_width": summary.half_width,
        "ci_low": low,
        "ci_high": high,
        "ci_cut": summary.half_width is not None
        and (summary.mean - summary.half_width < 0.0 or summary.mean + summary.half_width > 1.0),
        "time_per_run_s": sum(seconds) / len(seconds) if seconds else None,
        "time_total_s": sum(seconds) if seconds else None,
        "vs_baseline": None,
    }
    if (label, name) in paired:
        result = paired[(label, name)]
        p_holm, survives = adjusted[(label, name)]
        row["vs_baseline"] = {
            "n": result.n,
            "mean_difference": result.mean_difference,
            "half_width": result.half_width,
            "relative": result.relative,
            "wins": result.wins,
            "ties": result.ties,
            "losses": result.losses,
            "p_value": result.p_value,
            "p_holm": p_holm,
            "survives_holm": survives,
        }
    return row


def count_of(count: int, noun: str) -> str:
    """``1 seed``, ``5 seeds``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _percent(value: float) -> str:
    return f"{100.0 * value:.2f}%"


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 90:
        return f"{value:.0f} s"
    return f"{value / 60:.1f} min"


def _p(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def format_difference(paired: Mapping[str, Any]) -> str:
    """``-2.50 pp ± 1.10 (-25%)``: the mean paired difference in percentage
    points, its t-interval half-width (when there is one) and its size
    relative to the baseline's mean."""
    text = f"{100.0 * paired['mean_difference']:+.2f} pp"
    if paired["half_width"] is not None:
        text += f" ± {100.0 * paired['half_width']:.2f}"
    if paired["relative"] is not None:
        text += f" ({100.0 * paired['relative']:+.0f}%)"
    return text


def format_wins(paired: Mapping[str, Any]) -> str:
    """``4/5``: seeds where the variant's error is lower, of those compared
    (ties noted)."""
    text = f"{paired['wins']}/{paired['n']}"
    if paired["ties"]:
        text += f" ({count_of(paired['ties'], 'tie')})"
    return text


def markdown_table(rows: Sequence[Mapping[str, Any]], alpha: float = ALPHA) -> str:
    """The rows as a Markdown table (no notes)."""
    level = f"{100 * CONFIDENCE:.0f}%"
    lines = [
        f"| variant | seeds | test error | {level} CI | Δ vs baseline | paired wins | p "
        f"| Holm α={alpha:g} | time/run |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: |",
    ]
    for row in rows:
        if row["ci_half_width"] is None:
            interval = "n/a"
        else:
            interval = f"{100.0 * row['ci_low']:.2f}–{100.0 * row['ci_high']:.2f}%"
            if row.get("ci_cut"):
                interval += " (cut)"
        paired = row["vs_baseline"]
        if paired is None:
            difference = wins = p = decision = "—"
        else:
            difference, wins, p = (
                format_difference(paired),
                format_wins(paired),
                _p(paired["p_value"]),
            )
            if paired["survives_holm"] is None:
                decision = "n/a"
            else:
                decision = f"{'yes' if paired['survives_holm'] else 'no'} ({_p(paired['p_holm'])})"
        lines.append(
            f"| {row['variant']} | {row['n']} | {_percent(row['mean_error'])} | {interval} "
            f"| {difference} | {wins} | {p} | {decision} | {_seconds(row['time_per_run_s'])} |"
        )
    return "\n".join(lines)


def conclusions(rows: Sequence[Mapping[str, Any]], alpha: float = ALPHA) -> str:
    """One or two sentences: which differences survive Holm's adjustment
    (rows of several cells: each named by its cell)."""
    compared = [row for row in rows if row["vs_baseline"] is not None]
    if not compared:
        return "Only the baseline ran; there is nothing to compare."
    tested = [row for row in compared if row["vs_baseline"]["survives_holm"] is not None]
    if not tested:
        return (
            "With one seed there is no interval and no test: the differences above are single "
            "runs. Run more seeds (--seeds 5) for intervals and tests."
        )
    survivors = [row for row in tested if row["vs_baseline"]["survives_holm"]]
    total = count_of(len(tested), "comparison")
    if not survivors:
        return (
            f"No difference from the baseline survives Holm's adjustment over {total} at "
            f"α = {alpha:g}."
        )
    listed = ", ".join(
        (f"[{row['cell']}] " if row.get("cell") else "")
        + f"{row['variant']} ({format_difference(row['vs_baseline'])}, "
        f"{'better' if row['vs_baseline']['mean_difference'] < 0 else 'worse'})"
        for row in survivors
    )
    return f"Surviving Holm's adjustment over {total} at α = {alpha:g}: {listed}."


def notes(
    test_images: int,
    epochs: int | str,
    seeds: Sequence[int],
    comparisons: int,
    alpha: float = ALPHA,
    cells: int = 1,
) -> str:
    """What the table's columns mean.

    Args:
        test_images: the test set's size.
        epochs: the runs' epochs (a number, or words for a grid of several).
        seeds: the seeds.
        comparisons: how many comparisons with a baseline Holm adjusts over.
        alpha: the family-wise error rate.
        cells: the grid's cells (1: no grid).
    """
    level = f"{100 * CONFIDENCE:.0f}%"
    shown = (
        f"seeds {seeds[0]}–{seeds[-1]}"
        if list(seeds) == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 1
        else f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
    )
    trained = count_of(epochs, "epoch") if isinstance(epochs, int) else f"{epochs} epochs"
    over = f"the {count_of(comparisons, 'comparison')} with the baseline"
    if cells > 1:
        over += f" in all {cells} cells of the grid (each cell against its own baseline)"
    return (
        f"Test error: the share of the {test_images} test images misclassified after the final "
        f"epoch ({trained}; never the best epoch), mean over {shown}. {level} CI: "
        "t-interval over seeds (n/a with one seed); '(cut)' marks one that passes 0% or 100% "
        "and is shown cut there (few seeds: very wide). Δ: mean paired difference, variant − "
        f"baseline seed by seed, in percentage points ± its {level} t-interval, and relative to "
        f"the baseline's mean. Paired wins: seeds where the variant's error is lower than the "
        f"baseline's. p: two-sided paired t-test (the exact sign test where the differences do "
        f"not vary). Holm: whether the difference survives Holm's adjustment over {over} at "
        f"α = {alpha:g} (adjusted p in brackets)."
    )


def regimes_table(rows_by_cell: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """A grid at a glance: one row per variant, one column per cell, each
    entry the change against that cell's baseline (``*``: survives Holm);
    the baseline's row gives its test error."""
    labels = list(rows_by_cell)
    names: list[str] = []
    for rows in rows_by_cell.values():
        names += [row["variant"] for row in rows if row["variant"] not in names]
    lines = [
        "| variant | " + " | ".join(labels) + " |",
        "| --- |" + " ---: |" * len(labels),
    ]
    for name in names:
        entries = []
        for label in labels:
            row = next((r for r in rows_by_cell[label] if r["variant"] == name), None)
            if row is None:
                entries.append("—")
            elif row["vs_baseline"] is None:
                entries.append(_percent(row["mean_error"]))
            else:
                paired = row["vs_baseline"]
                text = f"{100.0 * paired['mean_difference']:+.2f}"
                if paired["half_width"] is not None:
                    text += f" ± {100.0 * paired['half_width']:.2f}"
                entries.append(text + ("*" if paired["survives_holm"] else ""))
        lines.append(f"| {name} | " + " | ".join(entries) + " |")
    return "\n".join(lines)
