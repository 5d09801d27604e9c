"""The benchmark script runs in quick mode and produces every row (no speed asserted)."""

import importlib.util
import json
import pathlib

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def test_benchmark_quick_mode_produces_every_row(tmp_path):
    spec = importlib.util.spec_from_file_location("bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(
        ["--quick", "--json", str(tmp_path / "b.json"), "--markdown", str(tmp_path / "b.md")]
    )
    names = " ".join(row["name"] for row in rows)
    for expected in (
        "floor: np.copyto",
        "naive XLA",
        "samplepairing_map jit=True",
        "samplepairing_map jit=False",
        "SamplePairing layer in tf.function",
        "samplepairing_map uint8 input",
        "keras.layers.MixUp",
        "pairing=random",
        "pairing=most_similar",
        "tf.data uint8, batch only",
        "tf.data uint8, map x+1",
        "tf.data uint8, SamplePairing map",
        "tf.data start-up to first batch, batch only",
        "tf.data start-up to first batch, SamplePairing map",
        "fit step, layer=False",
        "fit step, layer=True",
        "samplepairing_map eager",
        "SamplePairing layer eager",
        "whole set: WholeSetPairing in memory, random",
        "whole set: WholeSetPairing streaming",
        "whole set: hand-written zip",
        "index floor: chunked matmul",
        "index build: exact",
        "partner spread, streaming",
        "hubness: pairing=least_similar",
    ):
        assert expected in names
    timed = [row for row in rows if not row["name"].startswith(("partner spread", "hubness"))]
    assert all(row["median_ms"] > 0 for row in timed)
    assert len(json.loads((tmp_path / "b.json").read_text())["rows"]) == len(rows)
    table, speed_targets = (tmp_path / "b.md").read_text().split("\n\n| target")
    assert table.count("\n|") == len(rows) + 2  # header, separator
    for target in (
        "≤ 1.2× naive XLA",
        "≤ +0.5 ms over tf.function",
        "≥ 0.8× within-batch throughput",
        "≥ 0.9× hand-written throughput",
        "≤ 2× the chunked matmul",
    ):
        assert target in speed_targets, target
