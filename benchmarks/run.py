"""Benchmarks: SamplePairing against the memory-copy floor and Keras's MixUp.

Every number is measured in this one process and run; the claims are ratios
between rows of the same run (absolute times drift on shared machines). Cases
are timed in rounds (at least 5, see ``timing.py``): each ratio is taken within
every round, and reported as its median over the rounds with the min-max
beside it; the targets are judged on the median.

    python benchmarks/run.py                 # full sizes
    python benchmarks/run.py --quick         # tiny sizes, for smoke runs
    python benchmarks/run.py --rounds 9      # more rounds, a tighter range
    python benchmarks/run.py --markdown out.md --json out.json
    python benchmarks/run.py --bfc           # TF's BFC allocator on the CPU
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Must be set before TensorFlow starts: TF's BFC allocator on the CPU reuses
# freed buffers, where the default allocator hands out fresh pages (and page
# faults) for every large output.
if "--bfc" in sys.argv:
    os.environ["TF_CPU_ALLOCATOR_USE_BFC"] = "true"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_samplepairing as ksp  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timing  # noqa: E402
import whole_set  # noqa: E402


def timeit(cases: list[tuple], rounds: int, per_round: int, warmup: int = 2) -> list[dict]:
    """Times ``(name, fn, extra)`` cases round-robin in ``rounds`` of
    ``per_round`` calls each (see ``timing.time_rounds``): a noisy spell on a
    shared machine hits all of them alike, so the ratios between rows of one
    round hold. Each row gets the median over rounds and their min-max, in
    milliseconds, and every round's value (``rounds_ms``)."""
    found = timing.time_rounds([(name, fn) for name, fn, _ in cases], rounds, per_round, warmup)
    return [{"name": name, **extra, **timing.timing(found[name])} for name, _, extra in cases]


def mixing_rows(shape: tuple, rounds: int, per_round: int, kerascv: bool = True) -> list[dict]:
    """Per-batch costs of the mixers on one batch shape."""
    batch = shape[0]
    rng = np.random.default_rng(0)
    images_np = rng.uniform(0, 255, shape).astype("float32")
    images = tf.constant(images_np)
    images_u8 = tf.constant(images_np.astype("uint8"))
    labels = tf.constant(np.eye(10, dtype="float32")[rng.integers(0, 10, batch)])
    buffer = np.empty_like(images_np)
    tag = "x".join(map(str, shape))
    cases = []

    def add(name, fn, **extra):
        cases.append((f"{name} [{tag}]", fn, {"batch": batch, "group": tag, **extra}))

    add("floor: np.copyto", lambda: np.copyto(buffer, images_np), floor=True)
    # The bare expression, for scale: a fixed permutation, no labels, no options.
    perm = tf.constant(np.roll(np.arange(batch), 1), tf.int32)
    naive = tf.function(lambda x: 0.5 * x + 0.5 * tf.gather(x, perm), jit_compile=True)
    add("naive XLA 0.5*x + 0.5*x[perm]", lambda: naive(images), naive=True)
    # Maps run as graphs in tf.data; tf.function here keeps eager dispatch out.
    for jit in (True, False):
        fn = tf.function(ksp.samplepairing_map(seed=0, jit_compile=jit))
        add(f"samplepairing_map jit={jit}", lambda fn=fn: fn(images, labels))
    layer = ksp.SamplePairing(seed=0)
    layer_fn = tf.function(lambda x: layer(x))
    add("SamplePairing layer in tf.function", lambda: layer_fn(images))
    u8 = tf.function(ksp.samplepairing_map(seed=0))
    add("samplepairing_map uint8 input", lambda: u8(images_u8, labels))
    mixup = keras.layers.MixUp(seed=0)
    mixup_fn = tf.function(lambda x, y: mixup({"images": x, "labels": y}))
    add("keras.layers.MixUp", lambda: mixup_fn(images, labels), keras_mixup=True)
    # A comparison only, where installed; importing KerasCV takes seconds, so
    # --quick leaves it out.
    if kerascv and importlib.util.find_spec("keras_cv") is not None:
        import keras_cv

        cv_mixup = keras_cv.layers.MixUp(seed=0)
        cv_fn = tf.function(lambda x, y: cv_mixup({"images": x, "labels": y}))
        add("keras_cv.layers.MixUp", lambda: cv_fn(images, labels))
    return timeit(cases, rounds, per_round)


def eager_rows(batch: int, side: int, rounds: int, per_round: int) -> list[dict]:
    """Eager calls (a notebook, a custom loop) against the same call inside a
    ``tf.function``, at a batch small enough that the mix itself is negligible:
    their difference (round by round) is the eager front end's overhead."""
    rng = np.random.default_rng(4)
    images = tf.constant(rng.uniform(0, 255, (batch, side, side, 3)).astype("float32"))
    labels = tf.constant(rng.integers(0, 10, batch))
    tag = f"{batch}x{side}x{side}x3"
    pair = ksp.samplepairing_map(seed=0)
    layer = ksp.SamplePairing(seed=0)
    pair_fn = tf.function(lambda x, y: pair(x, y))
    layer_fn = tf.function(lambda x, y: layer((x, y)))
    cases = [
        (f"samplepairing_map eager [{tag}]", lambda: pair(images, labels), {"batch": batch}),
        (f"samplepairing_map in tf.function [{tag}]", lambda: pair_fn(images, labels), {}),
        (f"SamplePairing layer eager [{tag}]", lambda: layer((images, labels)), {"batch": batch}),
        (f"SamplePairing layer in tf.function [{tag}]", lambda: layer_fn(images, labels), {}),
    ]
    rows = timeit(cases, rounds, per_round)
    for eager, compiled in ((rows[0], rows[1]), (rows[2], rows[3])):
        overhead = [e - c for e, c in zip(eager["rounds_ms"], compiled["rounds_ms"], strict=True)]
        eager.update(timing.spread("eager_overhead_ms", overhead))
    return rows


def similarity_rows(batch: int, side: int, rounds: int, per_round: int) -> list[dict]:
    """Similarity pairing (default pooled features) against random pairing."""
    images = tf.constant(
        np.random.default_rng(1).uniform(0, 255, (batch, side, side, 3)).astype("float32")
    )
    cases = []
    for pairing in ("random", "most_similar"):
        fn = tf.function(ksp.samplepairing_map(seed=0, pairing=pairing))
        name = f"pairing={pairing} [{batch}x{side}x{side}x3]"
        cases.append((name, lambda fn=fn: fn(images), {"batch": batch}))
    return timeit(cases, rounds, per_round)


def pipeline_rows(
    count: int, side: int, batch: int, batches: int, rounds: int, per_round: int
) -> list[dict]:
    """A uint8 tf.data pipeline with and without SamplePairing.

    Throughput is steady state: each pipeline has one long-lived iterator
    over a repeated dataset and every timed run pulls ``batches`` batches
    from it, so it measures images/s, not iterator start-up, which is timed
    in rows of its own (``Model.fit`` makes one iterator per epoch). A map
    that adds 1 to every pixel shows what any per-pixel map costs here.
    """
    images = np.random.default_rng(2).integers(0, 256, (count, side, side, 3), dtype="uint8")
    labels = np.arange(count) % 10
    tag = f"{batch}x{side}x{side}x3"
    maps = {
        "batch only": None,
        "map x+1": lambda x, y: (x + 1, y),
        "SamplePairing map": ksp.samplepairing_map(seed=0),
    }

    def pipeline(fn, repeat):
        ds = tf.data.Dataset.from_tensor_slices((images, labels))
        ds = (ds.repeat() if repeat else ds).batch(batch)
        if fn is not None:
            ds = ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    # Start-up first: its first batches also compile the map, so the peak RSS
    # read below is buffers in flight, not XLA compiling.
    finite = {label: pipeline(fn, repeat=False) for label, fn in maps.items()}
    startup = [
        (f"tf.data start-up to first batch, {label}", lambda ds=ds: next(iter(ds)), {})
        for label, ds in finite.items()
    ]
    startup_rows = timeit(startup, rounds, per_round, warmup=1)
    throughput = []
    for label, fn in maps.items():
        iterator = iter(pipeline(fn, repeat=True))

        def pull(iterator=iterator):
            for _ in range(batches):
                next(iterator)

        # Peak RSS is process-wide, so it is read around the first pulls.
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        pull()
        growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        extra = {"batch": batch * batches, "group": "tf.data", "peak_rss_growth_mb": growth}
        if fn is None:
            extra["floor"] = True
        throughput.append((f"tf.data uint8, {label} [{tag}, {batches} batches]", pull, extra))
    return timeit(throughput, rounds, per_round, warmup=1) + startup_rows


def fit_rows(batch: int, side: int, steps: int, rounds: int, per_round: int) -> list[dict]:
    """A small CNN's jit-compiled train step, with and without the layer."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (batch * steps, side, side, 3)).astype("float32")
    y = rng.integers(0, 10, batch * steps)
    cases = []
    for with_layer in (False, True):
        inputs = keras.Input((side, side, 3))
        h = ksp.SamplePairing(seed=0)(inputs) if with_layer else inputs
        h = keras.layers.Rescaling(1 / 255)(h)
        h = keras.layers.Conv2D(16, 3, activation="relu")(h)
        h = keras.layers.Conv2D(16, 3, activation="relu")(h)
        h = keras.layers.GlobalAveragePooling2D()(h)
        model = keras.Model(inputs, keras.layers.Dense(10)(h))
        model.compile(
            "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True
        )
        name = f"fit step, layer={with_layer} [{batch}x{side}x{side}x3]"
        run = lambda m=model: m.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # noqa: E731
        cases.append((name, run, {"batch": batch}))
    rows = timeit(cases, rounds, per_round, warmup=1)
    for row in rows:  # per step, not per epoch
        row.update(timing.timing([ms / steps for ms in row["rounds_ms"]]))
    rows[1].update(timing.ratio("x_without_layer", rows[1]["rounds_ms"], rows[0]["rounds_ms"]))
    rows[1]["note"] = f"{rows[1]['x_without_layer']:.2f}× the step without the layer"
    return rows


def with_ratios(rows: list[dict]) -> list[dict]:
    """Adds images/s and the ratios to the floor, to the naive XLA expression
    and to keras MixUp of the same group, each taken round by round."""
    pairs = (("x_floor", "floor"), ("x_naive", "naive"), ("x_keras_mixup", "keras_mixup"))
    for row in rows:
        timed = "batch" in row and bool(row.get("median_ms"))
        row["images_per_s"] = row["batch"] / row["median_ms"] * 1e3 if timed else None
        for key, flag in pairs:
            ref = [r for r in rows if r.get(flag) and "group" in row and r["group"] == row["group"]]
            row[key] = None
            if ref:
                row.update(timing.ratio(key, row["rounds_ms"], ref[0]["rounds_ms"]))
    return rows


def _ratio_cell(row: dict, key: str) -> str:
    """``median (min–max)`` of a ratio over the rounds; empty without one."""
    if row.get(key) is None:
        return ""
    return f"{row[key]:.2f} ({timing.range_text(row, key)})"


def markdown(rows: list[dict], rounds: int) -> str:
    def fmt(value, spec):
        return "" if value is None else format(value, spec)

    lines = [
        f"| case | median ms | min–max ms over {rounds} rounds | images/s | × floor "
        "| × naive XLA | × keras MixUp | peak RSS +MB | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        spread = f"{r['min_ms']:.2f}–{r['max_ms']:.2f}" if r.get("median_ms") is not None else ""
        lines.append(
            f"| {r['name']} | {fmt(r.get('median_ms'), '.2f')} | {spread} | "
            f"{fmt(r['images_per_s'], '.0f')} | {_ratio_cell(r, 'x_floor')} | "
            f"{_ratio_cell(r, 'x_naive')} | {_ratio_cell(r, 'x_keras_mixup')} | "
            f"{fmt(r.get('peak_rss_growth_mb'), '.0f')} | {r.get('note', '')} |"
        )
    return "\n".join(lines)


def targets(rows: list[dict]) -> list[dict]:
    """Each speed target, what this run measured (the median over the rounds,
    and their min-max), and whether it holds (judged on the median)."""
    found = []

    def check(target: str, row: dict, key: str, limit: float, at_most: bool, unit: str) -> None:
        value = row[key]
        found.append(
            {
                "target": target,
                "measured": f"{value:.2f}{unit}",
                "range": timing.range_text(row, key, unit=unit),
                "median": value,
                "min": row[f"{key}_range"][0],
                "max": row[f"{key}_range"][1],
                "limit": limit,
                "at_most": at_most,
                "held": value <= limit if at_most else value >= limit,
            }
        )

    for row in rows:
        name = row["name"]
        if row.get("x_naive") is not None and name.startswith(
            ("samplepairing_map jit=True", "SamplePairing layer in tf.function")
        ):
            check(f"{name} ≤ 1.2× naive XLA", row, "x_naive", 1.2, True, "×")
        if "eager_overhead_ms" in row:
            check(f"{name} ≤ +0.5 ms over tf.function", row, "eager_overhead_ms", 0.5, True, " ms")
        if "x_within_batch" in row:
            check(f"{name} ≥ 0.8× within-batch throughput", row, "x_within_batch", 0.8, False, "×")
        if "x_hand_written" in row:
            check(f"{name} ≥ 0.9× hand-written throughput", row, "x_hand_written", 0.9, False, "×")
        if "x_index_floor" in row:
            check(f"{name} ≤ 2× the chunked matmul", row, "x_index_floor", 2.0, True, "×")
        if "x_exact_build" in row:
            check(f"{name} ≤ 0.1× the exact build", row, "x_exact_build", 0.1, True, "×")
        if "recall_at_10" in row:
            check(f"{name} recall@10 ≥ 0.9", row, "recall_at_10", 0.9, False, "")
    return found


def targets_markdown(found: list[dict], rounds: int) -> str:
    lines = [
        f"| target | median | min–max over {rounds} rounds | held (on the median) |",
        "| --- | ---: | ---: | --- |",
    ]
    lines += [
        f"| {t['target']} | {t['measured']} | {t['range']} | {'yes' if t['held'] else 'no'} |"
        for t in found
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description="SamplePairing benchmarks", allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one call per round")
    parser.add_argument(
        "--rounds",
        type=int,
        default=timing.MIN_ROUNDS,
        help=f"rounds of timing; each ratio's median and min–max are over them "
        f"(default and minimum {timing.MIN_ROUNDS})",
    )
    parser.add_argument("--markdown", help="also write the table here")
    parser.add_argument("--json", help="also write the rows here as JSON")
    parser.add_argument(
        "--bfc", action="store_true", help="TF_CPU_ALLOCATOR_USE_BFC=true (read at start-up)"
    )
    args = parser.parse_args(argv)
    try:
        rounds = timing.check_rounds(args.rounds)
    except ValueError:
        parser.error(f"--rounds must be at least {timing.MIN_ROUNDS}, got {args.rounds}")

    # Calls per round: each case is called rounds × per_round times in all.
    if args.quick:
        shapes, kerascv = [(8, 16, 16, 3)], False
        extra = [
            whole_set.pipeline_rows(256, 16, 4, rounds, 1, settle=0.01),
            whole_set.index_rows(600, 24, 1200, rounds),
            whole_set.spread_rows(512, 32),
            whole_set.hubness_rows(400, 8),
            eager_rows(8, 32, rounds, 1),
            similarity_rows(16, 16, rounds, 1),
            pipeline_rows(32, 16, 8, 3, rounds, 1),
            fit_rows(8, 16, 2, rounds, 1),
        ]
        per_round = 1
    else:
        shapes, kerascv = [(128, 64, 64, 3), (32, 224, 224, 3)], True
        extra = [
            whole_set.pipeline_rows(8192, 128, 300, rounds, 3),
            whole_set.index_rows(50_000, 192, 200_000, rounds),
            whole_set.spread_rows(8192, 128),
            whole_set.hubness_rows(8192, 192),
            eager_rows(8, 32, rounds, 40),
            similarity_rows(256, 64, rounds, 12),
            pipeline_rows(2048, 64, 128, 200, rounds, 3),
            fit_rows(64, 32, 20, rounds, 3),
        ]
        per_round = 8
    rows = [row for shape in shapes for row in mixing_rows(shape, rounds, per_round, kerascv)]
    rows += [row for group in extra for row in group]
    rows = with_ratios(rows)
    found = targets(rows)
    table = markdown(rows, rounds) + "\n\n" + targets_markdown(found, rounds)
    allocator = "BFC" if os.environ.get("TF_CPU_ALLOCATOR_USE_BFC") == "true" else "default"
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, TF {tf.__version__}, "
        f"Keras {keras.__version__}, CPU allocator: {allocator}"
    )
    method = (
        f"{rounds} rounds; times and ratios: the median over the rounds and their min–max "
        "(each ratio taken within a round); targets judged on the median."
    )
    print(f"{machine}\n{method}\n\n{table}")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"{machine}\n{method}\n\n{table}\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"machine": machine, "rounds": rounds, "rows": rows, "targets": found}, f, indent=1
            )
    return rows


if __name__ == "__main__":
    main()
