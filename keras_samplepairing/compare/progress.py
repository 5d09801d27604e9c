"""How long a comparison takes, and the progress lines while it runs.

The estimate covers every run still to do, in every cell of a grid: each run
is sized by its variant's relative cost (``Variant.cost``), its model's
(``ModelChoice.cost``), its epochs and its training images, and the sizes
are turned into seconds by the first run timed (its first epochs, or a run
already in the results files), then corrected as runs finish.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import numpy as np

# The first estimate is made after this many epochs of the first run: the
# first epoch includes tracing and XLA compilation, the median of the others
# is the time per epoch.
CALIBRATION_EPOCHS = 5


def clock(seconds: float) -> str:
    """``1:02:03`` or ``2:03``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclasses.dataclass(frozen=True)
class SizedRun:
    """A planned run as the estimate sees it.

    Attributes:
        name: what runs of the same kind share (cell and variant): the
            measured time of one is the estimate of the others.
        cost: relative time per epoch (variant cost x model cost x images).
        epochs: its epochs.
    """

    name: str
    cost: float
    epochs: int


def sized_run(plan: Any, run: Any) -> SizedRun:
    """``run`` (a ``plan.Run``) sized for the estimate."""
    cell = plan.cell(run.cell)
    variant = plan.variant(run.variant)
    config = cell.config
    images = (
        len(plan.data.x_train) if cell.per_class is None else cell.per_class * plan.data.num_classes
    )
    cost = variant.cost * config.model.cost * images / 100.0
    return SizedRun(f"{run.cell}/{run.variant}", cost, config.epochs)


class Estimate:
    """The time a comparison takes, from what has been measured so far.

    The first estimate comes from the first run's first epochs: its set-up
    and compilation time, and its time per epoch once compiled, scaled to
    each run by its relative cost (``cost``). Once a kind of run (a
    variant in a cell) has finished, its own mean run time is used, and
    the first estimate of the others is corrected by how far it was off on
    the runs done so far.

    Args:
        epochs: the epochs of runs that do not say (variants, in tests).
    """

    def __init__(self, epochs: int | None = None) -> None:
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

    def calibrate(self, run: Any, setup_s: float, epoch_times: Sequence[float]) -> None:
        """Calibrates from a run's set-up time and its first epochs' times."""
        times = list(epoch_times)
        steady = float(np.median(times[1:] if len(times) > 1 else times))
        self.steady = steady
        self.per_epoch = steady / run.cost
        self.fixed = max(0.0, setup_s + float(sum(times)) - steady * len(times))

    def _epochs(self, run: Any) -> int:
        return int(getattr(run, "epochs", None) or self.epochs or 1)

    def _first_guess(self, run: Any) -> float:
        assert self.per_epoch is not None
        return self.fixed + self._epochs(run) * self.per_epoch * run.cost

    def run_seconds(self, run: Any) -> float:
        """The expected wall time of one ``run``."""
        if self.measured.get(run.name):
            return float(np.mean(self.measured[run.name]))
        correction = self._actual / self._predicted if self._predicted > 0 else 1.0
        return self._first_guess(run) * correction

    def record(self, run: Any, seconds: float) -> None:
        """Adds a finished run's wall time."""
        if self.ready and not self.measured.get(run.name):
            self._predicted += self._first_guess(run)
            self._actual += seconds
        self.measured.setdefault(run.name, []).append(seconds)

    def left(self, runs: Sequence[Any], jobs: int = 1) -> float | None:
        """Seconds the given runs are expected to take, ``jobs`` at a time
        (None before calibration)."""
        if not self.ready:
            return None
        return float(sum(self.run_seconds(run) for run in runs)) / max(1, jobs)


def run_progress(
    label: str,
    epochs: int,
    estimate: Estimate,
    run: Any,
    remaining: list,
    started: float,
    run_started: float,
    stream: TextIO | None,
    on_calibrated: Callable[[], None],
) -> Any:
    """A Keras callback that times one run's epochs; on a terminal it rewrites
    the run's progress line each epoch; it calibrates ``estimate`` on the
    first run of a comparison (after ``CALIBRATION_EPOCHS``).

    Args:
        label: the run's line prefix.
        epochs: the run's epochs.
        estimate: the comparison's estimate.
        run: the run, sized (``SizedRun``).
        remaining: the runs after this one, sized.
        started: when the comparison started (``time.perf_counter``).
        run_started: when this run started.
        stream: where the line goes (None: nowhere).
        on_calibrated: called once the estimate is calibrated.
    """
    import keras

    class RunProgress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.label, self.epochs, self.estimate = label, epochs, estimate
            self.run, self.remaining = run, remaining
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
                    self.run, self.fit_started - self.run_started, self.epoch_times
                )
                self.on_calibrated()
            if self.stream is not None and self.stream.isatty():
                line = f"{self.label}  epoch {done}/{self.epochs}  elapsed {clock(now - started)}"
                left = self.estimate.left(self.remaining)
                if left is not None:
                    this_run = max(
                        0.0, self.estimate.run_seconds(self.run) - (now - self.run_started)
                    )
                    line += f"  left ~{clock(left + this_run)}"
                self.stream.write("\r" + line + "\x1b[K")
                self.stream.flush()

    return RunProgress()


def announce(plan: Any, pending: list, say: Callable[[str], None]) -> None:
    """The plan in words, what is left out and why, and warnings."""
    from keras_samplepairing.compare.report import count_of
    from keras_samplepairing.compare.results import differences, environment
    from keras_samplepairing.compare.stats import CONFIDENCE, t_quantile
    from keras_samplepairing.compare.training import describe_schedule, scaled_schedule
    from keras_samplepairing.compare.variants import VARIANTS

    data, config = plan.data, plan.config
    cells = f" x {count_of(len(plan.cells), 'cell')}" if len(plan.cells) > 1 else ""
    images = plan.per_class
    subset = ""
    if images:
        subset = f", {images} per class" + (
            " (fixed)" if plan.fixed_subset else " (drawn per seed)"
        )
    train = len(data.x_train) if images is None else images * data.num_classes
    epochs = {cell.config.epochs for cell in plan.cells}
    schedule = describe_schedule(scaled_schedule(config.epochs) if config.schedule else None)
    say(
        f"Comparing {count_of(len(plan.variants), 'variant')} x "
        f"{count_of(len(plan.seeds), 'seed')}{cells} on {data.name}{subset} "
        f"({train} training, {len(data.x_test)} test images, "
        f"{'x'.join(map(str, data.image_shape))}), "
        + (
            f"{count_of(config.epochs, 'epoch')}, {schedule}"
            if len(epochs) == 1
            else "epochs by cell"
        )
        + f"; model {config.model.name}, basic augmentation {config.augment.name}"
        + (" (first cell)" if len(plan.cells) > 1 else "")
        + "."
    )
    if plan.grid:
        say("Grid: " + "; ".join(f"{k} = {', '.join(v)}" for k, v in plan.grid.items()) + ".")
    reasons: dict[tuple[str, str], list[str]] = {}
    for label, found in plan.skipped.items():
        for name, reason in found:
            reasons.setdefault((name, reason), []).append(label)
    for (_, reason), labels in reasons.items():
        where = f" (cells: {'; '.join(labels)})" if len(plan.cells) > 1 else ""
        say(f"Skipped: {reason}{where}.")
    left_out = [
        reason
        for variant in VARIANTS.values()
        if variant not in plan.variants and (reason := variant.cannot_apply(data)) is not None
    ]
    if plan.all_variants and left_out:
        say(f"Left out: {'; '.join(left_out)}.")
    seeds = len(plan.seeds)
    if 1 < seeds < 3:
        level = f"{100 * CONFIDENCE:.0f}%"
        say(
            f"Warning: with {seeds} seeds the {level} intervals use t = "
            f"{t_quantile(CONFIDENCE, seeds):.1f} (against {t_quantile(CONFIDENCE, 5):.1f} for 5 "
            "seeds) and will be very wide, often the whole 0-100% range; use --seeds 5 (or at "
            f"least 3: t = {t_quantile(CONFIDENCE, 3):.1f}) for intervals that can tell variants "
            "apart."
        )
    elif seeds == 1:
        say("Note: with one seed there are no intervals and no tests; use --seeds 5 for them.")
    total = len(plan.my_runs())
    if len(pending) < total:
        shard = f" (shard {plan.shard[0]}/{plan.shard[1]})" if plan.shard[1] > 1 else ""
        say(f"Resuming {plan.out}{shard}: {total - len(pending)} of {total} runs are done.")
    threads = {r.get("threads") for r in plan.runs.values() if r.get("threads") is not None}
    if pending and threads - {plan.threads_per_run()}:
        say(
            f"Note: runs already done used {', '.join(map(str, sorted(threads)))} TensorFlow "
            f"thread(s) per run, these use {plan.threads_per_run()}: a seed's numbers differ in "
            "the last digits between thread counts (--threads fixes it)."
        )
    before = plan.stored.get("environment")
    software = environment()
    if pending and before and differences(before, software):
        say(
            "Note: the runs already done used other software or another machine "
            f"({'; '.join(differences(before, software))}); each run records its own."
        )


def run_label(position: int, total: int, run: Any, width: int, plan: Any) -> str:
    """``[ 3/24] paper  seed 1`` (the cell first, in a grid)."""
    cells = [cell.label for cell in plan.cells]
    cell = f"{run.cell:{max(map(len, cells))}s}  " if len(cells) > 1 else ""
    return f"[{position:>{len(str(total))}}/{total}] {cell}{run.variant:{width}s} seed {run.seed}"


def run_line(position: int, total: int, run: Any, width: int, record: dict, plan: Any) -> str:
    """``[ 3/24] paper  seed 1  epoch 60/60  test error 2.50%  12 s``, or the failure."""
    label = run_label(position, total, run, width, plan)
    if record.get("status") == "failed":
        return f"{label}  FAILED: {record['error']}"
    epochs = record.get("epochs", plan.cell(run.cell).config.epochs)
    return (
        f"{label}  epoch {epochs}/{epochs}  test error {100 * record['test_error']:.2f}%  "
        f"{record['wall_time_s']:.0f} s"
    )
