"""Making a comparison's outputs from every run in its folder: the table
(per cell, and the grid's regimes), the charts, the pairs galleries' list and
``results.json`` with the summary."""

from __future__ import annotations

import os
from typing import Any

from keras_samplepairing.compare.report import (
    conclusions,
    count_of,
    grid_rows,
    markdown_table,
    notes,
    regimes_table,
)
from keras_samplepairing.compare.stats import ALPHA
from keras_samplepairing.compare.variants import BASELINE


def _results_by_cell(plan: Any) -> tuple[dict, dict, list[str]]:
    """Finished runs' errors and times by cell, variant and seed, and what
    cannot be compared."""
    errors: dict[str, dict[str, dict[int, float]]] = {}
    times: dict[str, dict[str, dict[int, float]]] = {}
    problems: list[str] = []
    for cell in plan.cells:
        by_variant, by_time = {}, {}
        for variant in plan.variants_of(cell):
            done = {
                seed: plan.runs[key]
                for seed in plan.seeds
                if (key := (cell.label, variant.name, seed)) in plan.runs
                and plan.runs[key].get("status", "ok") == "ok"
            }
            if done:
                by_variant[variant.name] = {s: r["test_error"] for s, r in done.items()}
                by_time[variant.name] = {s: r["wall_time_s"] for s, r in done.items()}
        where = f"[{cell.label}] " if cell.label else ""
        if BASELINE not in by_variant:
            if by_variant:
                problems.append(f"{where}no baseline run finished: the cell is not compared.")
            continue
        for variant in plan.variants_of(cell):
            if variant.name not in by_variant:
                problems.append(f"{where}{variant.name}: no run finished.")
        errors[cell.label], times[cell.label] = by_variant, by_time
    return errors, times, problems


def chart_path(plan: Any, cell: Any) -> str:
    """``chart.png``, or ``chart-<cell>.png`` for each cell of a grid."""
    name = "chart.png" if len(plan.cells) == 1 else f"chart-{cell.slug}.png"
    return os.path.join(plan.out, name)


def _grid_title(plan: Any) -> str:
    """The regimes chart's title: the recipe the cells share, then what varies."""
    varied = "; ".join(
        f"{name} = {', '.join(map(str, values))}" for name, values in plan.grid.items()
    )
    return _title(plan, plan.cells[0]).rsplit("\n", 1)[0] + f"\ngrid: {varied}"


def _title(plan: Any, cell: Any) -> str:
    config = cell.config
    images = (
        len(plan.data.x_train) if cell.per_class is None else cell.per_class * plan.data.num_classes
    )
    subset = f", {cell.per_class} per class" if cell.per_class else ""
    schedule = "on/off schedule" if config.schedule else "no schedule"
    title = (
        f"{plan.data.name}{subset}\n{images} training images, {config.epochs} epochs, "
        f"{schedule}, {count_of(len(plan.seeds), 'seed')}"
    )
    return title + (f"\n{cell.label}" if cell.label else "")


def _failures(plan: Any) -> list[str]:
    lines = []
    for run in plan.all_runs():
        record = plan.runs.get(run)
        if record is not None and record.get("status") == "failed":
            where = f"[{run.cell}] " if run.cell else ""
            lines.append(f"{where}{run.variant} seed {run.seed}: {record.get('error', '?')}")
    return lines


def finish(plan: Any, say: Any, first_estimate: float | None) -> dict[str, Any]:
    """Summarises the comparison's runs and writes the table, charts and JSON.

    Returns:
        See ``runner.execute``.
    """
    from keras_samplepairing.compare.chart import plot_chart, plot_regimes
    from keras_samplepairing.compare.results import write_combined

    errors, times, problems = _results_by_cell(plan)
    descriptions = {variant.name: variant.description for variant in plan.variants}
    rows_by_cell = grid_rows(errors, times, BASELINE, descriptions) if errors else {}
    failed = _failures(plan)
    missing = [run for run in plan.all_runs() if run not in plan.runs]
    compared = sum(1 for rows in rows_by_cell.values() for row in rows if row["vs_baseline"])
    grid = len(plan.cells) > 1
    all_rows = [row for rows in rows_by_cell.values() for row in rows]
    sections = []
    if grid and rows_by_cell:
        sections.append(
            "Change in test error against each cell's baseline (pp ± 95% CI; * survives Holm "
            "over the grid; the baseline's row: its test error):\n\n" + regimes_table(rows_by_cell)
        )
    for label, rows in rows_by_cell.items():
        table = markdown_table(rows)
        sections.append(f"### {label}\n\n{table}" if grid else table)
    conclusion = conclusions(all_rows) if all_rows else "No run has finished; there is no table."
    epochs = sorted({cell.config.epochs for cell in plan.cells})
    explained = notes(
        len(plan.data.y_test),
        epochs[0] if len(epochs) == 1 else " or ".join(map(str, epochs)),
        plan.seeds,
        compared,
        cells=len(plan.cells),
    )
    extra = []
    if failed:
        extra.append(
            f"Failed runs ({len(failed)}; not in the table, run again with --retry-failed):\n"
            + "\n".join(f"- {line}" for line in failed)
        )
    if missing:
        extra.append(
            f"Missing runs: {len(missing)} of {len(plan.all_runs())} are not in {plan.out} yet "
            "(other shards still running?); the table covers the seeds each variant and its "
            "baseline both finished."
        )
    extra += problems
    text = "\n\n".join([*sections, conclusion, explained, *extra]) + "\n"
    os.makedirs(plan.out, exist_ok=True)
    paths = {name: plan.paths[name] for name in ("results", "table")}
    with open(paths["table"], "w", encoding="utf-8") as file:
        file.write(text)
    for label, rows in rows_by_cell.items():
        cell = plan.cell(label)
        path = chart_path(plan, cell)
        plot_chart(rows, errors[label], path, _title(plan, cell))
        paths["chart" if not grid else f"chart {label}"] = path
    if grid and rows_by_cell:
        paths["chart"] = os.path.join(plan.out, "regimes.png")
        plot_regimes(rows_by_cell, plan.grid, paths["chart"], _grid_title(plan))
    for run in plan.all_runs():
        gallery = (plan.runs.get(run) or {}).get("gallery")
        if gallery and os.path.exists(gallery):
            paths[f"pairs {run.cell + ' ' if run.cell else ''}{run.variant}"] = gallery
    summary = {
        "variants": [variant.name for variant in plan.variants],
        "seeds": plan.seeds,
        "baseline": BASELINE,
        "alpha": ALPHA,
        "rows": rows_by_cell.get(plan.cells[0].label, []),
        "rows_by_cell": rows_by_cell,
        "conclusion": conclusion,
        "failed": failed,
        "missing": len(missing),
    }
    write_combined(plan, summary)
    say("\n" + text)
    not_drawn = {
        record.get("gallery_missing")
        for record in plan.runs.values()
        if record.get("gallery_missing")
    }
    for reason in sorted(not_drawn):
        say(f"Pairs galleries not drawn: {reason}.")
    width = max(len(name) for name in paths)
    for name, path in paths.items():
        say(f"{name:{width}s} {path}")
    return {
        "rows": rows_by_cell.get(plan.cells[0].label, []),
        "rows_by_cell": rows_by_cell,
        "table": "\n\n".join(sections),
        "conclusion": conclusion,
        "paths": paths,
        "runs": [plan.runs[run] for run in plan.all_runs() if run in plan.runs],
        "failed": failed,
        "missing": missing,
        "estimate_s": first_estimate,
    }
