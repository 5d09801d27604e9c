"""Which variant helps? Trains one model per (variant, seed) and compares them.

Every variant trains the same small CNN with the same optimizer, learning-rate
schedule, epochs, basic augmentation and seeds; every mixing variant runs
under the same on/off schedule (warm-up and fine-tuning without mixing). Each
run is scored once, by its test error after the final epoch. The runner
prints a Markdown table (mean error, 95% t-interval over seeds, the paired
difference from the baseline with its wins seed by seed, a paired t-test
adjusted by Holm for the number of comparisons, wall time) and writes it with
every run's numbers (``results.json``, from which an interrupted or extended
comparison resumes) and a chart (``chart.png``) into the output folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import keras
import numpy as np

from keras_samplepairing.compare.data import ComparisonData, load_data
from keras_samplepairing.compare.model import TrainConfig, architecture, steps_per_epoch
from keras_samplepairing.compare.report import (
    conclusions,
    count_of,
    markdown_table,
    notes,
    plot_chart,
    summary_rows,
    write_json,
)
from keras_samplepairing.compare.stats import ALPHA
from keras_samplepairing.compare.variants import (
    BASELINE,
    VARIANTS,
    Variant,
    build_training,
    describe_variants,
    error_on_test_set,
    select_variants,
)

DEFAULT_EPOCHS = 60
DEFAULT_SEEDS = 5
DEFAULT_OUT = "compare_results"
RESULTS_FILE = "results.json"
TABLE_FILE = "table.md"
CHART_FILE = "chart.png"
FORMAT = "keras_samplepairing.compare/1"
# The first estimate is made after this many epochs of the first run: the
# first epoch includes tracing and XLA compilation, the median of the others
# is the time per epoch.
CALIBRATION_EPOCHS = 5


def schedule_steps(epochs: int) -> dict[str, int]:
    """The paper's on/off schedule scaled to ``epochs`` (the demo's recipe)."""
    from keras_samplepairing.demo import recipe

    return recipe(epochs)


def schedule_states(epochs: int) -> list[bool]:
    """Whether mixing is on in each epoch under the scaled schedule."""
    from keras_samplepairing.ops.schedule import schedule_state

    steps = schedule_steps(epochs)
    return [
        bool(
            schedule_state(
                epoch, steps["warmup"], steps["on"], steps["off"], steps["finetune"], epochs
            )
        )
        for epoch in range(epochs)
    ]


def describe_schedule(steps: dict[str, int] | None) -> str:
    """The schedule in words: ``on/off schedule (warm-up 10, 8 on / 2 off, fine-tuning 10)``."""
    if steps is None:
        return "no schedule (mixing in every epoch)"
    return (
        f"on/off schedule (warm-up {steps['warmup']}, {steps['on']} on / {steps['off']} off, "
        f"fine-tuning {steps['finetune']} epochs)"
    )


@dataclasses.dataclass
class Plan:
    """A checked comparison, ready to run (see ``prepare``).

    Attributes:
        data: the data.
        variants: the variants, the baseline first.
        seeds: the seeds.
        config: the shared training settings.
        settings: what the results file records and resuming compares.
        out: the output folder.
        runs: finished runs by ``(variant, seed)`` (from the results file).
        stored: the results file's content (empty for a new comparison).
        per_class: the subset size, or None.
        all_variants: whether the user asked for every variant.
    """

    data: ComparisonData
    variants: list[Variant]
    seeds: list[int]
    config: TrainConfig
    settings: dict[str, Any]
    out: str
    runs: dict[tuple[str, int], dict[str, Any]]
    stored: dict[str, Any]
    per_class: int | None
    all_variants: bool = False

    @property
    def paths(self) -> dict[str, str]:
        """Where the outputs go."""
        return {
            "results": os.path.join(self.out, RESULTS_FILE),
            "table": os.path.join(self.out, TABLE_FILE),
            "chart": os.path.join(self.out, CHART_FILE),
        }

    def pending(self) -> list[tuple[Variant, int]]:
        """The runs still to do: every variant for one seed, then the next seed."""
        return [
            (variant, seed)
            for seed in self.seeds
            for variant in self.variants
            if (variant.name, seed) not in self.runs
        ]


def _count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}.")
    return int(value)


def _normal(value: Any) -> Any:
    """``value`` as JSON gives it back (tuples become lists)."""
    return json.loads(json.dumps(value))


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                found.append(f"{name}: {old.get(key, '(none)')!r} -> {new.get(key, '(none)')!r}")
            else:
                found += _differences(old[key], new[key], name)
        return found
    return [] if old == new else [f"{prefix}: {old!r} -> {new!r}"]


def environment() -> dict[str, Any]:
    """The software and machine the runs used (recorded, not compared)."""
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "backend": keras.config.backend(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }


def prepare(
    data: str = "digits",
    per_class: int | None = None,
    seeds: int = DEFAULT_SEEDS,
    epochs: int = DEFAULT_EPOCHS,
    variants: str | Sequence[str] | None = None,
    schedule: bool = True,
    out: str = DEFAULT_OUT,
    batch_size: int = 32,
) -> Plan:
    """Checks a comparison's arguments, loads its data and its results file.

    Every mistake a user can make is raised here, before anything trains.
    The arguments are ``compare``'s.

    Raises:
        ValueError, TypeError: a bad argument (named), a missing or malformed
            data file, or a results file made with other settings.
    """
    seeds = _count("seeds", seeds, 1)
    epochs = _count("epochs", epochs, 1)
    batch_size = _count("batch_size", batch_size, 1)
    if per_class is not None:
        per_class = _count("per_class", per_class, 1)
    if not isinstance(schedule, bool):
        raise TypeError(f"`schedule` must be True or False, got {schedule!r}.")
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"`out` must be a folder path, got {out!r}.")
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"`out`: {out!r} is a file; give a folder for the results.")
    loaded = load_data(data, per_class)
    chosen = select_variants(variants, loaded)
    if schedule and any(v.mixes for v in chosen) and not any(schedule_states(epochs)):
        steps = schedule_steps(epochs)
        raise ValueError(
            f"`epochs`={epochs} leaves no epoch with mixing on under the schedule (warm-up "
            f"{steps['warmup']}, fine-tuning {steps['finetune']}): use epochs >= 3, or no "
            "schedule (--no-schedule, schedule=False)."
        )
    config = TrainConfig(epochs=epochs, batch_size=batch_size, schedule=schedule)
    settings = _normal(
        {
            "data": loaded.describe(),
            "per_class": per_class,
            "training": config.describe(),
            "schedule": schedule_steps(epochs) if schedule else None,
            "model": architecture(loaded.image_shape, loaded.num_classes),
            "optimizer": "Adam, cosine decay to 0 over all steps",
            "loss": "categorical cross-entropy on logits",
        }
    )
    plan = Plan(
        data=loaded,
        variants=chosen,
        seeds=list(range(seeds)),
        config=config,
        settings=settings,
        out=out,
        runs={},
        stored={},
        per_class=per_class,
        all_variants=isinstance(variants, str) and variants.strip() == "all",
    )
    _load_results(plan)
    return plan


def _load_results(plan: Plan) -> None:
    """Reads the results file, if any: refuses other settings, keeps its runs."""
    path = plan.paths["results"]
    if not os.path.exists(path):
        return
    stored = _read_results(path)
    differences = _settings_differences(stored, plan)
    if differences:
        raise ValueError(
            f"{path} holds runs made with other settings ({'; '.join(differences)}); to resume "
            "it, use the same settings; to start over, use another --out or delete the file."
        )
    recorded = stored.get("variants", {})
    for variant in plan.variants:
        before = recorded.get(variant.name)
        if before is not None:
            before = {k: before.get(k) for k in ("kind", "options")}
            changed = _differences(before, _normal(variant.describe()))
            if changed:
                raise ValueError(
                    f"{path}: the variant {variant.name!r} was run with another definition "
                    f"({'; '.join(changed)}); use another --out or delete the file."
                )
    for run in stored.get("runs", []):
        plan.runs[(run["variant"], int(run["seed"]))] = run
    plan.stored = stored


def _read_results(path: str) -> dict:
    """A results file of this runner, read; ValueError if it is not one."""
    try:
        with open(path, encoding="utf-8") as file:
            stored = json.load(file)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"{path} is not a readable results file ({error}); move it away or use another --out."
        ) from error
    if not isinstance(stored, dict) or stored.get("format") != FORMAT:
        raise ValueError(f"{path} is not a results file of this runner (format {FORMAT}).")
    return stored


def _settings_differences(stored: dict, plan: Plan) -> list[str]:
    """How a results file's settings differ from the plan's. The data is
    named as now when it is the same data: ``good.npz`` and ``./good.npz``
    are one file."""
    settings = stored.get("settings")
    ours = plan.settings["data"]
    data = settings.get("data") if isinstance(settings, dict) else None
    if isinstance(data, dict) and data.get("fingerprint") == ours["fingerprint"]:
        settings = {**settings, "data": {**data, "data": ours["data"]}}
    return _differences(settings, plan.settings)


def _merge_stored_runs(plan: Plan) -> None:
    """Adds the runs another comparison wrote into the same results file
    since this one read it, so that neither overwrites the other's runs (best
    effort: a run written between this read and the write is still lost)."""
    try:
        stored = _read_results(plan.paths["results"])
    except ValueError:
        return
    if _settings_differences(stored, plan):
        return
    for run in stored.get("runs", []):
        plan.runs.setdefault((run["variant"], int(run["seed"])), run)
    variants = stored.get("variants", {})
    plan.stored = {**plan.stored, "variants": {**variants, **plan.stored.get("variants", {})}}


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Estimate:
    """The time a comparison takes, from what has been measured so far.

    The first estimate comes from the first run's first epochs: its set-up
    and compilation time, and its time per epoch once compiled, scaled to
    each variant by the variant's measured relative cost (``Variant.cost``).
    Once a variant has finished a run, its own mean run time is used, and
    the first estimate of the others is corrected by how far it was off on
    the runs done so far.
    """

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.per_epoch: float | None = None  # seconds per epoch at cost 1
        self.steady = 0.0  # the calibrating run's seconds per epoch
        self.fixed = 0.0  # set-up and compilation, per run
        self.measured: dict[str, list[float]] = {}
        self._predicted = 0.0
        self._actual = 0.0

    @property
    def ready(self) -> bool:
        """Whether it has been calibrated."""
        return self.per_epoch is not None

    def calibrate(self, variant: Variant, setup_s: float, epoch_times: Sequence[float]) -> None:
        """Calibrates from a run's set-up time and its first epochs' times."""
        times = list(epoch_times)
        steady = float(np.median(times[1:] if len(times) > 1 else times))
        self.steady = steady
        self.per_epoch = steady / variant.cost
        self.fixed = max(0.0, setup_s + float(sum(times)) - steady * len(times))

    def _first_guess(self, variant: Variant) -> float:
        assert self.per_epoch is not None
        return self.fixed + self.epochs * self.per_epoch * variant.cost

    def run_seconds(self, variant: Variant) -> float:
        """The expected wall time of one run of ``variant``."""
        if self.measured.get(variant.name):
            return float(np.mean(self.measured[variant.name]))
        correction = self._actual / self._predicted if self._predicted > 0 else 1.0
        return self._first_guess(variant) * correction

    def record(self, variant: Variant, seconds: float) -> None:
        """Adds a finished run's wall time."""
        if self.ready and not self.measured.get(variant.name):
            self._predicted += self._first_guess(variant)
            self._actual += seconds
        self.measured.setdefault(variant.name, []).append(seconds)

    def left(self, runs: Sequence[Variant]) -> float | None:
        """Seconds the given runs are expected to take (None before calibration)."""
        if not self.ready:
            return None
        return float(sum(self.run_seconds(variant) for variant in runs))


class _RunProgress(keras.callbacks.Callback):
    """Times one run's epochs; on a terminal, rewrites its progress line each
    epoch; calibrates the estimate on the comparison's first run."""

    def __init__(
        self,
        label: str,
        epochs: int,
        estimate: Estimate,
        variant: Variant,
        remaining: list[Variant],
        started: float,
        run_started: float,
        stream: TextIO | None,
        on_calibrated: Any,
    ) -> None:
        super().__init__()
        self.label, self.epochs, self.estimate = label, epochs, estimate
        self.variant, self.remaining = variant, remaining
        self.started, self.run_started = started, run_started
        self.stream, self.on_calibrated = stream, on_calibrated
        self.epoch_times: list[float] = []
        self.fit_started: float | None = None
        self._epoch_started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        if self.fit_started is None:
            self.fit_started = now
        self._epoch_started = now

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self.epoch_times.append(now - self._epoch_started)
        done = len(self.epoch_times)
        if not self.estimate.ready and done == min(CALIBRATION_EPOCHS, self.epochs):
            assert self.fit_started is not None
            self.estimate.calibrate(
                self.variant, self.fit_started - self.run_started, self.epoch_times
            )
            self.on_calibrated()
        if self.stream is not None and self.stream.isatty():
            line = f"{self.label}  epoch {done}/{self.epochs}  elapsed {_clock(now - self.started)}"
            left = self.estimate.left(self.remaining)
            if left is not None:
                this_run = max(
                    0.0, self.estimate.run_seconds(self.variant) - (now - self.run_started)
                )
                line += f"  left ~{_clock(left + this_run)}"
            self.stream.write("\r" + line + "\x1b[K")
            self.stream.flush()


def _train_one(
    plan: Plan,
    variant: Variant,
    seed: int,
    cache: dict,
    progress: _RunProgress,
) -> dict[str, Any]:
    """Trains one (variant, seed) and returns its record."""
    from keras_samplepairing.callbacks.schedule import SamplePairingSchedule

    keras.utils.set_random_seed(seed)
    setup = build_training(variant, plan.data, seed, plan.config, cache)
    callbacks: list = [progress]
    if plan.config.schedule and setup.targets:
        callbacks.append(
            SamplePairingSchedule(targets=setup.targets, **schedule_steps(plan.config.epochs))
        )
    history = setup.model.fit(
        setup.train,
        epochs=plan.config.epochs,
        steps_per_epoch=steps_per_epoch(len(plan.data.x_train), plan.config.batch_size),
        callbacks=callbacks,
        verbose=0,
        shuffle=False,
    )
    error = error_on_test_set(setup.model, plan.data)
    pairing = history.history.get("samplepairing")
    if setup.targets and pairing is None:
        pairing = [1.0] * plan.config.epochs  # no schedule: on in every epoch
    return {
        "variant": variant.name,
        "seed": seed,
        "epochs": plan.config.epochs,
        "test_error": error,
        "test_wrong": round(error * len(plan.data.y_test)),
        "test_images": len(plan.data.y_test),
        "wall_time_s": round(time.perf_counter() - progress.run_started, 3),
        "epoch_times_s": [round(t, 4) for t in progress.epoch_times],
        "train_loss": [round(float(v), 6) for v in history.history["loss"]],
        "mixing_on": pairing,
        "variant_settings": _normal(variant.describe()),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _content(plan: Plan, summary: dict | None = None) -> dict[str, Any]:
    variants = dict(plan.stored.get("variants", {}))
    for variant in plan.variants:
        variants[variant.name] = _normal({"description": variant.description, **variant.describe()})
    content = {
        "format": FORMAT,
        "settings": plan.settings,
        "environment": environment(),
        "variants": variants,
        "runs": sorted(plan.runs.values(), key=lambda run: (run["seed"], run["variant"])),
    }
    if summary is not None:
        content["summary"] = summary
    return content


def execute(plan: Plan, verbose: bool = True, stream: TextIO | None = None) -> dict[str, Any]:
    """Runs a prepared comparison's pending runs, then writes its outputs.

    Args:
        plan: from ``prepare``.
        verbose: print the plan, the estimate, one line per run and the table.
        stream: where to print (default ``sys.stdout``).

    Returns:
        ``{"rows", "table", "conclusion", "paths", "runs", "estimate_s"}``.
    """
    stream = stream or sys.stdout

    def say(text: str) -> None:
        if verbose:
            print(text, file=stream, flush=True)

    pending = plan.pending()
    data = plan.data
    total = len(plan.variants) * len(plan.seeds)
    subset = f", {plan.per_class} per class" if plan.per_class else ""
    say(
        f"Comparing {count_of(len(plan.variants), 'variant')} x "
        f"{count_of(len(plan.seeds), 'seed')} on {data.name}{subset} "
        f"({len(data.x_train)} training, {len(data.x_test)} test images, "
        f"{'x'.join(map(str, data.image_shape))}), {count_of(plan.config.epochs, 'epoch')}, "
        f"{describe_schedule(plan.settings['schedule'])}."
    )
    left_out = [
        reason
        for variant in VARIANTS.values()
        if variant not in plan.variants and (reason := variant.cannot_apply(data)) is not None
    ]
    if plan.all_variants and left_out:
        say(f"Left out: {'; '.join(left_out)}.")
    if len(pending) < total:
        say(f"Resuming {plan.paths['results']}: {total - len(pending)} of {total} runs are done.")
    software = environment()
    before = plan.stored.get("environment")
    if pending and before and _differences(before, software):
        say(
            "Note: the runs already done used other software or another machine "
            f"({'; '.join(_differences(before, software))}); each run records its own."
        )
    estimate = Estimate(plan.config.epochs)
    started = time.perf_counter()
    first_estimate: list[float] = []

    def over(text: str) -> str:
        # On a terminal a line replaces the run's progress line.
        return f"\r{text}\x1b[K" if verbose and stream.isatty() else text

    def calibrated() -> None:
        left = estimate.left([variant for variant, _ in pending]) or 0.0
        first_estimate.append(left)
        say(
            over(
                f"Estimate: ~{_clock(left)} for {len(pending)} runs (the first run: "
                f"{estimate.steady:.2f} s/epoch after {estimate.fixed:.0f} s of set-up and "
                "compilation; other variants scaled by their measured relative cost)."
            )
        )

    if pending:
        say(f"{len(pending)} runs to do; the time estimate follows the first run's first epochs.")
    caches: dict[str, dict] = {variant.name: {} for variant in plan.variants}
    width = max(len(variant.name) for variant in plan.variants)
    for position, (variant, seed) in enumerate(pending):
        label = f"[{position + 1:>{len(str(len(pending)))}}/{len(pending)}] {variant.name:{width}s} seed {seed}"
        keras.utils.clear_session()
        run_started = time.perf_counter()
        remaining = [v for v, _ in pending[position + 1 :]]
        progress = _RunProgress(
            label,
            plan.config.epochs,
            estimate,
            variant,
            remaining,
            started,
            run_started,
            stream if verbose else None,
            calibrated,
        )
        record = _train_one(plan, variant, seed, caches[variant.name], progress)
        record["environment"] = software
        estimate.record(variant, record["wall_time_s"])
        plan.runs[(variant.name, seed)] = record
        _merge_stored_runs(plan)
        write_json(plan.paths["results"], _content(plan))
        left = estimate.left(remaining) or 0.0
        line = (
            f"{label}  epoch {plan.config.epochs}/{plan.config.epochs}  "
            f"test error {100 * record['test_error']:.2f}%  {record['wall_time_s']:.0f} s  "
            f"elapsed {_clock(time.perf_counter() - started)}  left ~{_clock(left)}"
        )
        say(over(line))
    return _finish(plan, say, first_estimate[0] if first_estimate else None)


def _finish(plan: Plan, say: Any, first_estimate: float | None) -> dict[str, Any]:
    """Summarises the requested runs and writes the table, chart and JSON."""
    names = [variant.name for variant in plan.variants]
    errors = {
        name: {seed: plan.runs[(name, seed)]["test_error"] for seed in plan.seeds} for name in names
    }
    times = {
        name: {seed: plan.runs[(name, seed)]["wall_time_s"] for seed in plan.seeds}
        for name in names
    }
    descriptions = {variant.name: variant.description for variant in plan.variants}
    rows = summary_rows(errors, times, BASELINE, descriptions)
    table = markdown_table(rows)
    conclusion = conclusions(rows)
    explained = notes(len(plan.data.y_test), plan.config.epochs, plan.seeds, len(rows) - 1)
    text = f"{table}\n\n{conclusion}\n\n{explained}\n"
    paths = plan.paths
    os.makedirs(plan.out, exist_ok=True)
    with open(paths["table"], "w", encoding="utf-8") as file:
        file.write(text)
    subset = f", {plan.per_class} per class" if plan.per_class else ""
    schedule = "on/off schedule" if plan.config.schedule else "no schedule"
    title = (
        f"{plan.data.name}{subset}\n{len(plan.data.x_train)} training images, "
        f"{plan.config.epochs} epochs, {schedule}, {count_of(len(plan.seeds), 'seed')}"
    )
    plot_chart(rows, errors, paths["chart"], title)
    summary = {
        "variants": names,
        "seeds": plan.seeds,
        "baseline": BASELINE,
        "alpha": ALPHA,
        "rows": rows,
        "conclusion": conclusion,
    }
    _merge_stored_runs(plan)
    write_json(paths["results"], _content(plan, summary))
    say("\n" + text)
    for name, path in paths.items():
        say(f"{name:8s} {path}")
    return {
        "rows": rows,
        "table": table,
        "conclusion": conclusion,
        "paths": paths,
        "runs": [plan.runs[(name, seed)] for seed in plan.seeds for name in names],
        "estimate_s": first_estimate,
    }


def compare(
    data: str = "digits",
    per_class: int | None = None,
    seeds: int = DEFAULT_SEEDS,
    epochs: int = DEFAULT_EPOCHS,
    variants: str | Sequence[str] | None = None,
    schedule: bool = True,
    out: str = DEFAULT_OUT,
    verbose: bool = True,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Trains one model per (variant, seed) and compares the variants.

    Args:
        data: ``"digits"``, ``"fashion-mnist"`` or an ``.npz`` path with
            ``x_train, y_train, x_test, y_test``.
        per_class: train on the first ``per_class`` images of each class
            (None: all).
        seeds: how many seeds (0, 1, ..., seeds - 1) each variant runs.
        epochs: training epochs; the test error is read after the last.
        variants: None (the default set), ``"all"``, or names (a list or a
            comma-separated string; see ``describe_variants``). The baseline
            is always included.
        schedule: run every mixing variant under the paper's on/off schedule
            (False: mixing in every epoch).
        out: the output folder; an existing ``results.json`` there with the
            same settings is resumed (its finished runs are not run again).
        verbose: print progress and the table.
        batch_size: images per batch.

    Returns:
        ``rows`` (one summary per variant, see ``report.summary_rows``),
        ``table`` (Markdown), ``conclusion``, ``paths`` (``results``,
        ``table``, ``chart``), ``runs`` (each run's record) and
        ``estimate_s`` (the first time estimate, None when nothing ran).

    Raises:
        ValueError, TypeError: bad arguments or data (before anything trains).
    """
    plan = prepare(data, per_class, seeds, epochs, variants, schedule, out, batch_size)
    return execute(plan, verbose=verbose)


def main(argv: list[str] | None = None, prog: str | None = None) -> dict | None:
    """Runs the comparison from command-line arguments (see ``--help``)."""
    parser = argparse.ArgumentParser(
        prog=prog or "python -m keras_samplepairing compare",
        description=__doc__.splitlines()[0],
        allow_abbrev=False,
    )
    parser.add_argument(
        "--data",
        default="digits",
        help="digits (default, ships with scikit-learn), fashion-mnist (apt-get install "
        "dataset-fashion-mnist) or a .npz with x_train, y_train, x_test, y_test",
    )
    parser.add_argument(
        "--per-class", type=int, default=None, help="train on the first N images of each class"
    )
    parser.add_argument(
        "--seeds", type=int, default=DEFAULT_SEEDS, help="seeds per variant (default: %(default)s)"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=DEFAULT_EPOCHS,
        help="training epochs; the test error is read after the last (default: %(default)s; "
        "at least 3 under the schedule)",
    )
    parser.add_argument(
        "--variants",
        default=None,
        help="comma-separated names, or 'all' (default: the set --list marks)",
    )
    parser.add_argument(
        "--no-schedule",
        action="store_true",
        help="mix in every epoch (default: the paper's on/off schedule with warm-up and "
        "fine-tuning, for every mixing variant)",
    )
    parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        help="output folder; a results.json there with the same settings is resumed "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, help="images per batch (default: %(default)s)"
    )
    parser.add_argument("--list", action="store_true", help="list the variants and exit")
    args = parser.parse_args(argv)
    if args.list:
        print(describe_variants())
        return None
    try:
        plan = prepare(
            data=args.data,
            per_class=args.per_class,
            seeds=args.seeds,
            epochs=args.epochs,
            variants=args.variants,
            schedule=not args.no_schedule,
            out=args.out,
            batch_size=args.batch_size,
        )
    except (ValueError, TypeError) as error:
        message = str(error)
        for name in ("per_class", "seeds", "epochs", "variants", "out", "data", "batch_size"):
            message = message.replace(f"`{name}`", f"--{name.replace('_', '-')}")
        parser.error(message)
    return execute(plan)
