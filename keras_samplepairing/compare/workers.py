"""``--jobs N``: N runs at once in worker processes on one machine.

Each worker is a fresh process (spawned: TensorFlow cannot be forked once
started) that sets TensorFlow's threads before it starts (the cores divided
among the workers, or ``--threads``), trains the runs it is handed one after
the other, and writes them to a runs file of its own (``results.RunsFile``):
nothing a worker writes can overwrite another's runs. The parent hands out
runs in the comparison's order, prints a line as each finishes, and makes
the table once all are done.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

# The worker's state (one comparison per worker process).
_STATE: dict[str, Any] = {}


def start_worker(plan: Any, threads: int, quiet: bool) -> None:
    """A worker's initializer: TensorFlow's threads (and quiet, as the parent
    is), then the comparison."""
    from keras_samplepairing.compare.results import RunsFile
    from keras_samplepairing.compare.tensorflow_setup import configure_threads

    if quiet:
        from keras_samplepairing.compare.tensorflow_setup import import_tensorflow_quietly

        import_tensorflow_quietly()
    configure_threads(threads)
    plan.threads = threads
    _STATE.update(plan=plan, writer=RunsFile(plan, tag=f"job-{os.getpid()}"), caches={})


def run_in_worker(run: Any) -> dict[str, Any]:
    """Trains one run in this worker and writes it to the worker's runs file."""
    from keras_samplepairing.compare.progress import Estimate, sized_run
    from keras_samplepairing.compare.runner import train_run

    plan = _STATE["plan"]
    arguments = {
        "label": "",
        "epochs": plan.cell(run.cell).config.epochs,
        "estimate": Estimate(),
        "run": sized_run(plan, run),
        "remaining": [],
        "started": time.perf_counter(),
        "on_calibrated": lambda: None,
    }
    record = train_run(plan, run, _STATE["caches"], arguments, None)
    _STATE["writer"].add(record)
    return record


def run_in_workers(
    plan: Any, pending: list, sized: dict, estimate: Any, first: list, say: Any
) -> None:
    """Runs ``pending`` in ``plan.jobs`` worker processes.

    Args:
        plan: the comparison.
        pending: the runs to do, in order.
        sized: each run sized for the estimate.
        estimate: the comparison's estimate (calibrated by the first run to
            finish, unless it already is).
        first: receives the first estimate.
        say: prints a line.
    """
    import logging

    import tensorflow as tf

    from keras_samplepairing.compare.progress import clock, run_line
    from keras_samplepairing.compare.runner import calibrate_from_record

    threads = plan.threads_per_run()
    # The workers inherit the environment: as quiet as this process.
    quiet = tf.get_logger().getEffectiveLevel() >= logging.ERROR
    say(f"Running {plan.jobs} at once, {threads} TensorFlow thread(s) each.")
    started = time.perf_counter()
    width = max(len(v.name) for v in plan.variants)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=plan.jobs,
        mp_context=context,
        initializer=start_worker,
        initargs=(plan, threads, quiet),
    ) as pool:
        futures = {pool.submit(run_in_worker, run): run for run in pending}
        left_runs = set(pending)
        for position, future in enumerate(as_completed(futures), start=1):
            run = futures[future]
            try:
                record = future.result()
            except BrokenProcessPool as error:
                # A worker died (out of memory, a crash in native code): the
                # runs it and the others had not finished are not recorded,
                # and are run again when the command is.
                say(
                    f"A worker process died ({error}); {len(left_runs)} runs are not done: run "
                    "the same command again to do them."
                )
                pool.shutdown(wait=False, cancel_futures=True)
                break
            plan.runs[run] = record
            left_runs.discard(run)
            if record.get("status") != "failed":
                if not estimate.ready and record.get("epoch_times_s"):
                    calibrate_from_record(estimate, sized[run], record)
                    left = estimate.left([sized[r] for r in left_runs], plan.jobs) or 0.0
                    first.append(left + time.perf_counter() - started)
                    say(
                        f"Estimate: ~{clock(left)} for the {len(left_runs)} runs left, "
                        f"{plan.jobs} at a time (from the first run to finish)."
                    )
                estimate.record(sized[run], record["wall_time_s"])
            left = estimate.left([sized[r] for r in left_runs], plan.jobs)
            say(
                run_line(position, len(pending), run, width, record, plan)
                + f"  elapsed {clock(time.perf_counter() - started)}"
                + (f"  left ~{clock(left)}" if left is not None else "")
            )
