"""Executing a comparison's runs: in this process or in ``--jobs`` workers,
this ``--shard``'s share, each run's failure recorded without stopping the others.

Every variant of a cell trains the same model with the same optimizer,
learning-rate schedule, epochs, basic augmentation and seeds; every mixing
variant runs under the same on/off schedule (warm-up and fine-tuning
without mixing). Each run is scored once, by its test error after the final
epoch. A run is deterministic given its seed and TensorFlow's thread count
(``threads``), so shards and workers give the numbers one process gives.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from keras_samplepairing.compare.plan import DEFAULT_OUT, DEFAULT_SEEDS, Plan, Run, prepare
from keras_samplepairing.compare.progress import (
    Estimate,
    announce,
    clock,
    run_label,
    run_line,
    run_progress,
    sized_run,
)
from keras_samplepairing.compare.results import RunsFile
from keras_samplepairing.compare.tensorflow_setup import configure_threads, no_retracing_warnings

__all__ = ["compare", "error_on_test_set", "execute"]


def error_on_test_set(model: Any, data: Any) -> float:
    """The share of test images misclassified (the model at inference: no mixing)."""
    import keras
    import numpy as np

    # Eager calls, not model.predict: predict traces a function per model, and
    # a comparison builds dozens of models in one process.
    predictions = [
        np.argmax(keras.ops.convert_to_numpy(model(data.x_test[i : i + 512], training=False)), -1)
        for i in range(0, len(data.x_test), 512)
    ]
    return float(np.mean(np.concatenate(predictions) != data.y_test))


class TrainingError(RuntimeError):
    """A run that trained but cannot be scored (its loss became NaN)."""


def _train_one(plan: Plan, variant: Any, seed: int, cache: dict, progress: Any) -> dict[str, Any]:
    """Trains one run (``progress.cell``'s ``variant`` with ``seed``) and
    returns its record."""
    import keras

    from keras_samplepairing import SamplePairingSchedule
    from keras_samplepairing.compare.gallery import draw_pairs, gallery_path
    from keras_samplepairing.compare.pipelines import build_training
    from keras_samplepairing.compare.results import normal
    from keras_samplepairing.compare.training import scaled_schedule

    cell = progress.cell
    config = cell.config
    data = plan.training_data(cell, seed)
    keras.utils.clear_session()  # the last run's models and functions go
    keras.utils.set_random_seed(seed)
    setup = build_training(variant, data, seed, config, cache)
    train = setup.train
    if plan.threads is not None:
        import tensorflow as tf

        options = tf.data.Options()
        options.threading.private_threadpool_size = plan.threads
        train = train.with_options(options)
    callbacks: list = [progress]
    if config.schedule and setup.targets:
        callbacks.append(
            SamplePairingSchedule(targets=setup.targets, **scaled_schedule(config.epochs))
        )
    callbacks += setup.callbacks
    callbacks.append(stop_on_nan())
    history = setup.model.fit(
        train,
        epochs=config.epochs,
        steps_per_epoch=setup.steps_per_epoch,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,
    )
    losses = [float(v) for v in history.history["loss"]]
    if not all(math.isfinite(v) for v in losses):
        epoch = next(i for i, v in enumerate(losses) if not math.isfinite(v)) + 1
        raise TrainingError(f"the training loss became {losses[epoch - 1]} in epoch {epoch}")
    error = error_on_test_set(setup.model, plan.data)
    pairing = history.history.get("samplepairing")
    if setup.targets and pairing is None:
        pairing = [1.0] * config.epochs  # no schedule: on in every epoch
    record: dict[str, Any] = {
        "cell": cell.label,
        "variant": variant.name,
        "seed": seed,
        "status": "ok",
        "epochs": config.epochs,
        "test_error": error,
        "test_wrong": round(error * len(plan.data.y_test)),
        "test_images": len(plan.data.y_test),
        "train_images": len(data.x_train),
        "train_subset": data.fingerprint(),
        "wall_time_s": round(time.perf_counter() - progress.run_started, 3),
        "epoch_times_s": [round(t, 4) for t in progress.epoch_times],
        "train_loss": [round(v, 6) for v in losses],
        "mixing_on": pairing,
        "variant_settings": normal(variant.describe()),
        "threads": plan.threads_per_run(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    refreshed = [getattr(c, "refreshed", None) for c in setup.callbacks]
    if any(r is not None for r in refreshed):
        record["index_refreshed_after_epochs"] = [e + 1 for r in refreshed if r for e in r]
    if setup.pairing is not None and variant.shows_pairs and seed == plan.seeds[0]:
        path = gallery_path(plan.out, cell.slug if cell.label else "", variant.name)
        title = f"{variant.name}: {variant.description}" + (f"\n{cell.label}" if cell.label else "")
        drawn, why = draw_pairs(setup.pairing, path, title, plan.data.value_range)
        record["gallery"] = drawn
        if why:
            record["gallery_missing"] = why
    return record


def stop_on_nan() -> Any:
    """A callback that stops a run whose epoch loss is not finite (it cannot recover)."""
    import keras

    class StopOnNaN(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self.model.stop_training = True

    return StopOnNaN()


def failed_record(run: Run, error: BaseException, started: float) -> dict[str, Any]:
    """The record of a run that failed: its error, so the others go on."""
    message = str(error).strip().splitlines()
    return {
        "cell": run.cell,
        "variant": run.variant,
        "seed": run.seed,
        "status": "failed",
        "error": f"{type(error).__name__}: {message[0] if message else ''}"[:500],
        "wall_time_s": round(time.perf_counter() - started, 3),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def train_run(
    plan: Plan, run: Run, caches: dict, progress_args: dict, stream: TextIO | None
) -> dict[str, Any]:
    """Trains ``run`` in this process; a failure becomes a failed record.

    Args:
        plan: the comparison.
        run: the run.
        caches: per (variant, training subset), what runs reuse (the index).
        progress_args: ``run_progress``'s other arguments.
        stream: where the run's progress line goes (None: nowhere).
    """
    cell = plan.cell(run.cell)
    variant = plan.variant(run.variant)
    started = time.perf_counter()
    progress = run_progress(run_started=started, stream=stream, **progress_args)
    progress.cell = cell
    key = (run.variant, cell.per_class, None if plan.fixed_subset else run.seed)
    try:
        record = _train_one(plan, variant, run.seed, caches.setdefault(key, {}), progress)
    except Exception as error:  # the user's model or data: record it, go on
        record = failed_record(run, error, started)
    record.setdefault("cell", run.cell)
    return record


def execute(
    plan: Plan, verbose: bool = True, stream: TextIO | None = None, run: bool = True
) -> dict[str, Any]:
    """Runs a prepared comparison's pending runs, then writes its outputs.

    Args:
        plan: from ``prepare``.
        verbose: print the plan, the estimate, one line per run and the table.
        stream: where to print (default ``sys.stdout``).
        run: False makes the table from the results files only (``--report``).

    Returns:
        ``{"rows", "rows_by_cell", "table", "conclusion", "paths", "runs",
        "failed", "missing", "estimate_s"}``.
    """
    from keras_samplepairing.compare.finish import finish

    stream = stream or sys.stdout

    def say(text: str) -> None:
        if verbose:
            print(text, file=stream, flush=True)

    pending = plan.pending() if run else []
    announce(plan, pending, say)
    estimate = Estimate()
    sized = {r: sized_run(plan, r) for r in pending}
    first: list[float] = []
    done = [r for r in plan.my_runs() if r in plan.runs and plan.runs[r].get("epoch_times_s")]
    if done and pending:
        calibrate_from_record(estimate, sized_run(plan, done[0]), plan.runs[done[0]])
        for r in done:
            estimate.record(sized_run(plan, r), plan.runs[r]["wall_time_s"])
        left = estimate.left([sized[r] for r in pending], plan.jobs) or 0.0
        first.append(left)
        say(f"Estimate: ~{clock(left)} for {len(pending)} runs (from the runs already done).")
    elif pending:
        say(f"{len(pending)} runs to do; the time estimate follows the first run's first epochs.")
    if pending:
        if plan.jobs > 1:
            from keras_samplepairing.compare.workers import run_in_workers

            run_in_workers(
                plan, pending, sized, estimate, first, say, train_run, calibrate_from_record
            )
        else:
            with no_retracing_warnings():
                _run_here(plan, pending, sized, estimate, first, say, stream if verbose else None)
    return finish(plan, say, first[0] if first else None)


def calibrate_from_record(estimate: Estimate, sized: Any, record: dict) -> None:
    """Calibrates ``estimate`` from a finished run's record."""
    from keras_samplepairing.compare.progress import CALIBRATION_EPOCHS

    times = record["epoch_times_s"]
    estimate.calibrate(sized, record["wall_time_s"] - sum(times), times[:CALIBRATION_EPOCHS])


def _run_here(
    plan: Plan,
    pending: list[Run],
    sized: dict,
    estimate: Estimate,
    first: list[float],
    say: Any,
    stream: TextIO | None,
) -> None:
    """Runs ``pending`` one after the other in this process."""
    threads = configure_threads(plan.threads)
    if plan.threads is not None and threads != plan.threads:
        say(
            f"Note: TensorFlow had started in this process with {threads or 'all'} threads "
            f"before --threads {plan.threads} could apply; runs use those."
        )
    writer = RunsFile(plan)
    caches: dict = {}
    started = time.perf_counter()
    width = max(len(v.name) for v in plan.variants)
    tty = stream is not None and stream.isatty()

    def over(text: str) -> str:
        return f"\r{text}\x1b[K" if tty else text

    def calibrated() -> None:
        left = estimate.left([sized[r] for r in pending]) or 0.0
        first.append(left)
        say(
            over(
                f"Estimate: ~{clock(left)} for {len(pending)} runs (the first run: "
                f"{estimate.steady:.2f} s/epoch after {estimate.fixed:.0f} s of set-up and "
                "compilation; other runs scaled by their measured relative cost)."
            )
        )

    for position, run in enumerate(pending, start=1):
        label = run_label(position, len(pending), run, width, plan)
        remaining = [sized[r] for r in pending[position:]]
        record = train_run(
            plan,
            run,
            caches,
            {
                "label": label,
                "epochs": plan.cell(run.cell).config.epochs,
                "estimate": estimate,
                "run": sized[run],
                "remaining": remaining,
                "started": started,
                "on_calibrated": calibrated,
            },
            stream,
        )
        writer.add(record)
        plan.runs[run] = record
        if record.get("status") != "failed":  # a failure's time says nothing of the others
            estimate.record(sized[run], record["wall_time_s"])
        left = estimate.left(remaining) or 0.0
        say(
            over(
                run_line(position, len(pending), run, width, record, plan)
                + f"  elapsed {clock(time.perf_counter() - started)}  left ~{clock(left)}"
            )
        )


def compare(
    data: Any = "digits",
    per_class: int | None = None,
    seeds: int = DEFAULT_SEEDS,
    epochs: int | None = None,
    variants: str | Sequence[str] | None = None,
    schedule: bool | None = None,
    out: str = DEFAULT_OUT,
    verbose: bool = True,
    batch_size: int | None = None,
    **recipe: Any,
) -> dict[str, Any]:
    """Trains one model per (cell, variant, seed) and compares the variants.

    Args:
        data: ``"digits"``, ``"fashion-mnist"``, an ``.npz`` path with
            ``x_train, y_train, x_test, y_test``, or from Python
            ``((x_train, y_train), (x_test, y_test))`` arrays, a dict of
            them, ``(train, test)`` ``tf.data`` datasets of ``(image, label)``
            elements, or a ``ComparisonData``.
        per_class: train on ``per_class`` images of each class, drawn per
            seed (the same for every variant at a seed; see
            ``fixed_subset``); None: all.
        seeds: how many seeds (0, 1, ..., seeds - 1) each variant runs.
        epochs: training epochs (default 60); the test error is read after
            the last.
        variants: None (the default set), ``"all"``, or names (a list or a
            comma-separated string; see ``describe_variants``). The baseline
            is always included.
        schedule: run every mixing variant under the paper's on/off schedule
            (the default; False: mixing in every epoch).
        out: the output folder; results files there with the same settings
            are resumed (their finished runs are not run again).
        verbose: print progress and the table.
        batch_size: images per batch (default 32).
        **recipe: ``model`` (``"compact"``, ``"wide"``, ``"resnet"``,
            ``"module:function"`` or a function ``(input_shape,
            num_classes) -> keras.Model`` returning logits),
            ``split_layer`` and ``feature_layer`` (the user's model's layer
            names where feature-level variants mix and whose output
            model-feature variants pair by), ``augment`` (``"none"``,
            ``"pixel-shift"`` (the default), ``"translate"``, ``"flip-shift"``, or a
            factory ``(seed) -> augment``), ``shift``, ``optimizer``
            (``"adam"``, ``"sgd"``), ``learning_rate``, ``lr_schedule``
            (``"cosine"``, ``"constant"``, ``"step"``), ``lr_floor``,
            ``lr_steps``, ``lr_step_factor``; ``grid`` (factor -> values,
            or ``["model=compact,wide", ...]``); ``fixed_subset`` (the first
            ``per_class`` of each class for every seed: the first tables);
            ``jobs`` (runs at once, in worker processes), ``threads``
            (TensorFlow threads per run), ``shard`` (``"i/n"``: this
            process's share of the runs), ``retry_failed``.

    Returns:
        ``rows`` (the first cell's summary rows, see
        ``report.summary_rows``), ``rows_by_cell``, ``table`` (Markdown),
        ``conclusion``, ``paths`` (name -> file: ``results``, ``table``,
        ``chart`` (a grid's: its regimes), ``chart <cell>``, ``pairs
        <variant>``), ``runs`` (each run's record), ``failed``, ``missing``
        and ``estimate_s`` (the first time estimate, None when nothing ran).

    With ``jobs`` > 1, call it from a script under ``if __name__ ==
    "__main__":`` (the worker processes import the script).

    Raises:
        ValueError, TypeError: bad arguments or data (before anything trains).
    """
    configure_threads(recipe.get("threads"))  # before anything starts TensorFlow
    plan = prepare(data, per_class, seeds, epochs, variants, schedule, out, batch_size, **recipe)
    return execute(plan, verbose=verbose)
