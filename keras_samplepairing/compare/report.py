"""The comparison's outputs: summary rows, a Markdown table, a PNG chart, JSON."""

from __future__ import annotations

import json
import os
import stat
import tempfile
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
        ``time_per_run_s``, ``time_total_s`` and ``vs_baseline`` (None for
        the baseline; else ``n``, ``mean_difference``, ``half_width``,
        ``relative``, ``wins``, ``ties``, ``losses``, ``p_value``,
        ``p_holm``, ``survives_holm``).

    Raises:
        ValueError: the baseline is missing, or a variant has no run.
    """
    if baseline not in errors:
        raise ValueError(f"The baseline {baseline!r} has no runs to compare with.")
    descriptions = descriptions or {}
    paired = {
        name: compare_paired(by_seed, errors[baseline])
        for name, by_seed in errors.items()
        if name != baseline
    }
    adjusted = holm({name: result.p_value for name, result in paired.items()}, alpha)
    rows = []
    for name, by_seed in errors.items():
        if not by_seed:
            raise ValueError(f"Variant {name!r} has no finished run.")
        summary = summarize(list(by_seed.values()))
        run_times = list(times.get(name, {}).values())
        row: dict[str, Any] = {
            "variant": name,
            "description": descriptions.get(name, ""),
            "n": summary.n,
            "seeds": sorted(by_seed),
            "mean_error": summary.mean,
            "std": summary.std,
            "ci_half_width": summary.half_width,
            # An error rate lies in [0, 1]; a t-interval over few seeds can pass
            # either end, and is shown cut there.
            "ci_low": None
            if summary.half_width is None
            else max(0.0, summary.mean - summary.half_width),
            "ci_high": None
            if summary.half_width is None
            else min(1.0, summary.mean + summary.half_width),
            "time_per_run_s": sum(run_times) / len(run_times) if run_times else None,
            "time_total_s": sum(run_times) if run_times else None,
            "vs_baseline": None,
        }
        if name in paired:
            result = paired[name]
            p_holm, survives = adjusted[name]
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
        rows.append(row)
    return rows


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
    """One or two sentences: which differences survive Holm's adjustment."""
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
        f"{row['variant']} ({format_difference(row['vs_baseline'])}, "
        f"{'better' if row['vs_baseline']['mean_difference'] < 0 else 'worse'})"
        for row in survivors
    )
    return f"Surviving Holm's adjustment over {total} at α = {alpha:g}: {listed}."


def notes(
    test_images: int, epochs: int, seeds: Sequence[int], comparisons: int, alpha: float = ALPHA
) -> str:
    """What the table's columns mean."""
    level = f"{100 * CONFIDENCE:.0f}%"
    shown = (
        f"seeds {seeds[0]}–{seeds[-1]}"
        if list(seeds) == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 1
        else f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
    )
    return (
        f"Test error: the share of the {test_images} test images misclassified after the final "
        f"epoch ({epochs} epochs; never the best epoch), mean over {shown}. {level} CI: "
        f"t-interval over seeds, cut at 0 and 100% (n/a with one seed). Δ: mean paired difference, variant − "
        f"baseline seed by seed, in percentage points ± its {level} t-interval, and relative to "
        f"the baseline's mean. Paired wins: seeds where the variant's error is lower than the "
        f"baseline's. p: two-sided paired t-test (the exact sign test where the differences do "
        f"not vary). Holm: whether the difference survives Holm's "
        f"adjustment over the {count_of(comparisons, 'comparison')} with the "
        f"baseline at α = {alpha:g} (adjusted p in brackets)."
    )


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


def write_json(path: str, content: Any) -> None:
    """Writes ``content`` as JSON atomically: an interrupted write never
    leaves a broken results file."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(content, file, indent=1, ensure_ascii=False, allow_nan=False)
            file.write("\n")
        # mkstemp makes the file private (0600); results are meant to be read
        # by others: the file's mode so far, or the usual 0644.
        mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else 0o644
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
