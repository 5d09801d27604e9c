"""Benchmark rows for partners from the whole training set (run by run.py).

Pipelines are timed in steady state: each keeps one long-lived iterator and
every timed run pulls the same number of batches from it, round-robin with
the others; before each timed run the other pipelines' prefetch buffers are
left to fill, so they do not refill in the background of the next one. Like
every case of ``run.py``, they are timed in rounds, and each ratio is taken
within a round (see ``timing.py``).
"""

from __future__ import annotations

import importlib.util
import resource
import statistics
import time

import numpy as np
import tensorflow as tf
import timing

import keras_samplepairing as ksp
from keras_samplepairing.data.index import PartnerIndex

# The same script also times the code before the restructuring (issue 21's
# before/after runs), where the search lived in data.index and no index
# fingerprinted every image.
try:
    from keras_samplepairing.data import index_search as index_module
    from keras_samplepairing.data.set_storage import fingerprint
except ImportError:
    from keras_samplepairing.data import index as index_module

    fingerprint = None


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _steady(
    pipelines: dict, batches: int, rounds: int, per_round: int, settle: float = 0.1
) -> tuple[dict, dict]:
    """Wall and CPU milliseconds of each round (the median of its
    ``per_round`` timed pulls), per pipeline. CPU time (all threads of the
    process) is steadier than wall time on a shared machine, since it does
    not count time the process waits for a core."""
    iterators = {name: iter(make()) for name, make in pipelines.items()}
    for iterator in iterators.values():  # compile, fill buffers
        for _ in range(batches // 2 + 1):
            next(iterator)
    wall = {name: [] for name in iterators}
    cpu = {name: [] for name in iterators}
    for _ in range(rounds):
        calls = {name: ([], []) for name in iterators}
        for _ in range(per_round):
            for name, iterator in iterators.items():
                time.sleep(settle)
                start, start_cpu = time.perf_counter(), _cpu_seconds()
                for _ in range(batches):
                    next(iterator)
                calls[name][0].append((time.perf_counter() - start) * 1e3)
                calls[name][1].append((_cpu_seconds() - start_cpu) * 1e3)
        for name, (wall_ms, cpu_ms) in calls.items():
            wall[name].append(statistics.median(wall_ms))
            cpu[name].append(statistics.median(cpu_ms))
    return wall, cpu


def _row(name: str, rounds_ms: list, batch: int, **extra) -> dict:
    return {"name": name, **timing.timing(rounds_ms), "batch": batch, **extra}


def _untimed(name: str, note: str, **extra) -> dict:
    """A row that counts rather than times (no time fields)."""
    return {"name": name, "median_ms": None, "min_ms": None, "max_ms": None, "note": note, **extra}


def pipeline_rows(
    count: int, batch: int, batches: int, rounds: int, per_round: int, settle: float = 0.1
) -> list[dict]:
    """In memory: whole-set pairing against the within-batch map; streaming:
    against a hand-written zip-with-a-shuffled-copy pipeline (plain TF).
    ``settle``: seconds left to the other pipelines' buffers before each
    timed pull (tiny batches refill in far less)."""
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (count, 32, 32, 3), dtype="uint8")
    labels = np.arange(count) % 10
    cached = tf.data.Dataset.from_tensor_slices((images, labels)).cache()
    auto = tf.data.AUTOTUNE

    def batch_only():
        return cached.repeat().batch(batch).prefetch(auto)

    def within_batch():
        pair = ksp.samplepairing_map(seed=0)
        return cached.repeat().batch(batch).map(pair, num_parallel_calls=auto).prefetch(auto)

    def whole_set_memory():
        return (
            ksp.WholeSetPairing((images, labels), seed=0).dataset(batch, repeat=True).prefetch(auto)
        )

    def whole_set_semantic():
        pairing = ksp.WholeSetPairing((images, labels), seed=0, pairing="sample", k=16)
        return pairing.dataset(batch, repeat=True).prefetch(auto)

    def hand_written():
        partners = cached.shuffle(count).repeat()

        def mix(first, second):
            mixed = 0.5 * tf.cast(first[0], tf.float32) + 0.5 * tf.cast(second[0], tf.float32)
            return tf.cast(tf.round(mixed), tf.uint8), first[1]

        pairs = tf.data.Dataset.zip(cached.repeat(), partners).batch(batch)
        return pairs.map(mix, num_parallel_calls=auto).prefetch(auto)

    def whole_set_stream():
        pairing = ksp.WholeSetPairing(cached, seed=0, in_memory=False)
        return pairing.dataset(batch, repeat=True, shuffle_buffer=count).prefetch(auto)

    tag = f"{count} uint8 32x32x3, batch {batch}, {batches} batches"
    # Two groups, each timed round-robin on its own: a pipeline left alive
    # keeps threads and buffers that slow the others down.
    groups = {
        "memory": (
            "within-batch samplepairing_map",
            {
                "batch only": batch_only,
                "within-batch samplepairing_map": within_batch,
                "WholeSetPairing in memory, random": whole_set_memory,
                "WholeSetPairing in memory, sample (index)": whole_set_semantic,
            },
            "x_within_batch",
            "the within-batch map's",
        ),
        "stream": (
            "hand-written zip + shuffled copy (plain TF)",
            {
                "hand-written zip + shuffled copy (plain TF)": hand_written,
                "WholeSetPairing streaming": whole_set_stream,
            },
            "x_hand_written",
            "the hand-written pipeline's",
        ),
    }
    rows = []
    for group, (reference, pipelines, key, label) in groups.items():
        wall, cpu = _steady(pipelines, batches, rounds, per_round, settle)
        for name in pipelines:
            row = _row(
                f"whole set: {name} [{tag}]", wall[name], batch * batches, whole_set_group=group
            )
            row.update(timing.spread("cpu_ms", cpu[name]))
            if name.startswith("WholeSetPairing"):
                # Throughput relative to the reference: its time over ours.
                row.update(timing.ratio(key, wall[reference], wall[name]))
                row.update(timing.ratio("x_cpu_per_batch", cpu[name], cpu[reference]))
                row["note"] = (
                    f"{row[key]:.2f}× ({timing.range_text(row, key)}) {label} throughput; "
                    f"CPU per batch {row['x_cpu_per_batch']:.2f}× "
                    f"({timing.range_text(row, 'x_cpu_per_batch')}) its"
                )
            rows.append(row)
    return rows


def _clustered(count: int, dim: int, seed: int = 0) -> np.ndarray:
    """Features with structure (a mixture of 200 clusters), as image features have."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, dim)).astype("float32")
    noise = 0.5 * rng.normal(size=(count, dim)).astype("float32")
    return centres[rng.integers(0, 200, count)] + noise


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_ms(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1e3, result


def _fingerprint_row(count: int, rounds: int, exact_ms: list) -> dict:
    """What an index records of its images, a fingerprint of every one (here
    CIFAR-sized uint8 images, one per indexed row), against the exact build."""
    images = np.random.default_rng(0).integers(0, 256, (count, 32, 32, 3), np.uint8)
    fingerprint_ms = [_timed_ms(lambda: fingerprint(images))[0] for _ in range(rounds)]
    row = _row(
        f"index fingerprint: every image [{count}x32x32x3 uint8]",
        fingerprint_ms,
        count,
        **timing.ratio("x_exact_build", fingerprint_ms, exact_ms),
    )
    row["note"] = (
        f"{row['x_exact_build']:.3f}× ({timing.range_text(row, 'x_exact_build', '.3f')}) "
        "the exact build's time"
    )
    return row


def index_rows(count: int, dim: int, large: int | None, rounds: int) -> list[dict]:
    """The exact index build against the bare chunked matrix product of the same
    features with themselves (the arithmetic floor); an approximate build for a
    large set against exact, with its recall@10. Each build once per round."""
    features = _clustered(count, dim)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    chunk = max(64, min(4096, index_module._CHUNK_ELEMENTS // count))
    base = tf.constant(unit)

    @tf.function(reduce_retracing=True)
    def product(queries):
        # Reduced to one number per chunk so the product is computed, not kept.
        return tf.reduce_max(tf.matmul(queries, base, transpose_b=True))

    def floor():
        for first in range(0, count, chunk):
            product(base[first : first + chunk]).numpy()

    def exact(data):
        return PartnerIndex.build(data, "cosine", k=10, method="exact")

    # Compiling (the product, the index's block search) is not timed.
    product(base[:chunk])
    exact(features[: min(count, 2048)])
    floor_ms, exact_ms, growth = [], [], None
    for _ in range(rounds):
        floor_ms.append(_timed_ms(floor)[0])
        before = _peak_mb()
        exact_ms.append(_timed_ms(lambda: exact(features))[0])
        # Peak RSS is process-wide: only the first build can raise it.
        growth = _peak_mb() - before if growth is None else growth
    rows = [_row(f"index floor: chunked matmul [{count}x{dim}]", floor_ms, count)]
    if fingerprint is not None:
        rows.append(_fingerprint_row(count, rounds, exact_ms))
    row = _row(
        f"index build: exact, cosine, k=10 [{count}x{dim}]",
        exact_ms,
        count,
        peak_rss_growth_mb=growth,
        **timing.ratio("x_index_floor", exact_ms, floor_ms),
    )
    row["note"] = (
        f"{row['x_index_floor']:.2f}× ({timing.range_text(row, 'x_index_floor')}) "
        "the chunked matmul"
    )
    rows.append(row)
    if not large:
        return rows
    features = _clustered(large, dim, seed=1)
    has_faiss = importlib.util.find_spec("faiss") is not None
    large_ms, faiss_ms, recalls, growth, truth = [], [], [], None, None
    for _ in range(rounds):
        elapsed, built = _timed_ms(lambda: exact(features))
        large_ms.append(elapsed)
        truth = built.neighbours if truth is None else truth
        del built
        if not has_faiss:
            continue
        before = _peak_mb()
        elapsed, approximate = _timed_ms(
            lambda: PartnerIndex.build(features, "cosine", k=10, method="faiss")
        )
        faiss_ms.append(elapsed)
        growth = _peak_mb() - before if growth is None else growth
        recalls.append(
            np.mean(
                [
                    len(set(a) & set(b)) / 10
                    for a, b in zip(truth, approximate.neighbours, strict=True)
                ]
            )
        )
    rows.append(_row(f"index build: exact, cosine, k=10 [{large}x{dim}]", large_ms, large))
    if not has_faiss:
        return rows
    row = _row(
        f"index build: faiss IVF, cosine, k=10 [{large}x{dim}]",
        faiss_ms,
        large,
        peak_rss_growth_mb=growth,
        **timing.ratio("x_exact", faiss_ms, large_ms),
        **timing.spread("recall_at_10", recalls),
    )
    row["note"] = (
        f"{row['x_exact']:.2f}× ({timing.range_text(row, 'x_exact')}) the exact build's time, "
        f"recall@10 {row['recall_at_10']:.3f} ({timing.range_text(row, 'recall_at_10', '.3f')})"
    )
    rows.append(row)
    return rows


def spread_rows(count: int, batch: int) -> list[dict]:
    """How far partners lie from their images in a stream, by shuffle buffer and
    with interleaved files: mean |index - partner index| / N (1/3 for partners
    uniform over the set) and the share of the set met as a partner in a pass."""
    ids = np.arange(count)
    # Image i holds the value i, so with λ = 0 the mix is its partner's id.
    images = np.broadcast_to(ids[:, None, None, None], (count, 2, 2, 1)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices({"images": images, "ids": ids})
    shards = 16

    def interleaved():
        files = tf.data.Dataset.range(shards).shuffle(shards, seed=1)
        return files.interleave(
            lambda shard: data.shard(shards, shard), cycle_length=4, block_length=1
        )

    rows = []
    for label, stream, buffer in (
        ("whole-set buffer", data, count),
        ("buffer 1024", data, 1024),
        ("buffer 128", data, 128),
        (f"{shards} interleaved files, buffer 1024", None, 1024),
    ):
        pairing = ksp.WholeSetPairing(
            data, seed=0, in_memory=False, lam=0.0, passthrough_keys=("ids",)
        )
        partner_stream = interleaved() if stream is None else None
        found = pairing.dataset(batch, shuffle_buffer=buffer, partner_dataset=partner_stream)
        anchors, partners = [], []
        for element in found:
            anchors.append(element["ids"].numpy())
            partners.append(np.rint(element["images"].numpy()[:, 0, 0, 0]).astype(int))
        anchors, partners = np.concatenate(anchors), np.concatenate(partners)
        spread = float(np.mean(np.abs(anchors - partners)) / count)
        met = len(np.unique(partners)) / count
        rows.append(
            _untimed(
                f"partner spread, streaming, {label} [{count} elements]",
                f"mean distance {spread:.3f} N (uniform: 0.333), {met:.0%} of the set met",
                spread=spread,
            )
        )
    return rows


def hubness_rows(count: int, dim: int) -> list[dict]:
    """How often each image is chosen as a partner, by pairing: farthest
    neighbours concentrate on a few outliers (hubness)."""
    features = _clustered(count, dim, seed=2)
    rows = []
    for pairing, direction in (("most_similar", "nearest"), ("least_similar", "farthest")):
        built = PartnerIndex.build(features, "cosine", k=1, direction=direction, method="exact")
        chosen = np.bincount(built.neighbours[:, 0], minlength=count)
        never = float(np.mean(chosen == 0))
        top = float(np.sort(chosen)[::-1][: max(1, count // 100)].sum() / count)
        rows.append(
            _untimed(
                f"hubness: pairing={pairing}, cosine [{count}x{dim}]",
                f"never chosen {never:.0%}, most chosen {int(chosen.max())}x, "
                f"top 1% take {top:.0%} (random: each once)",
            )
        )
    return rows
