"""Grids, shards, subsets, resuming and failures: the bookkeeping, with pretend training."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from keras_samplepairing.compare import compare, main, prepare
from keras_samplepairing.compare import runner as runner_module
from keras_samplepairing.compare.cli import parser
from keras_samplepairing.compare.data import draw_per_class, take_per_class
from keras_samplepairing.compare.datasets import load_data
from keras_samplepairing.compare.plan import Run
from keras_samplepairing.compare.runner import execute
from keras_samplepairing.compare.stats import holm

PNG = b"\x89PNG\r\n\x1a\n"
ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = {"per_class": 2, "epochs": 3}


def pretend(errors):
    """A stand-in for training: each run's test error from ``errors(cell, variant,
    seed)`` (an exception is raised), and the runs it was asked for."""
    asked = []

    def train_one(plan, variant, seed, cache, progress):
        asked.append((progress.cell.label, variant.name, seed))
        error = errors(progress.cell.label, variant.name, seed)
        if isinstance(error, Exception):
            raise error
        return {"variant": variant.name, "seed": seed, "test_error": error, "wall_time_s": 1.0}

    return train_one, asked


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if anything trains."""

    def refuse(*args):
        raise AssertionError("trained")

    monkeypatch.setattr(runner_module, "_train_one", refuse)


GRID = {"model": ["compact", "wide"], "augment": ["none", "pixel-shift"]}
# In the compact/none cell the paper's pairing helps a lot, elsewhere not.
EFFECT = {("model=compact, augment=none", "paper"): -0.10}


def grid_errors(cell, variant, seed):
    noise = [0.0, 0.004, -0.003][seed]
    base = 0.20 + 0.01 * len(cell) % 3
    return (
        base
        + EFFECT.get((cell, variant), 0.01 * (variant == "batch"))
        + noise * (1 + (variant != "baseline"))
    )


def test_a_grid_compares_each_cell_with_its_baseline_holm_over_all(tmp_path, monkeypatch, capsys):
    train_one, asked = pretend(grid_errors)
    monkeypatch.setattr(runner_module, "_train_one", train_one)
    out = tmp_path / "grid"
    result = compare(variants="paper,batch", seeds=3, out=str(out), grid=GRID, **TINY)
    printed = capsys.readouterr().out
    labels = [f"model={m}, augment={a}" for m in GRID["model"] for a in GRID["augment"]]
    assert list(result["rows_by_cell"]) == labels
    assert len(asked) == 4 * 3 * 3 and asked[:3] == [
        (labels[0], v, 0) for v in ("baseline", "paper", "batch")
    ]
    assert "Comparing 3 variants x 3 seeds x 4 cells" in printed
    assert "Grid: model = compact, wide; augment = none, pixel-shift." in printed
    # Holm over all 8 comparisons of the grid at once.
    rows = {
        (label, row["variant"]): row for label, rs in result["rows_by_cell"].items() for row in rs
    }
    raw = {key: row["vs_baseline"]["p_value"] for key, row in rows.items() if row["vs_baseline"]}
    assert len(raw) == 8
    for key, (p_holm, survives) in holm(raw).items():
        assert rows[key]["vs_baseline"]["p_holm"] == p_holm
        assert rows[key]["vs_baseline"]["survives_holm"] is survives
    paper = rows[(labels[0], "paper")]["vs_baseline"]
    assert paper["mean_difference"] == pytest.approx(-0.10 + 0.001 / 3)
    table = (out / "table.md").read_text()
    for label in labels:
        assert f"### {label}\n\n| variant | seeds |" in table
    assert "| variant | " + " | ".join(labels) + " |" in table  # the regimes at a glance
    assert "in all 4 cells of the grid" in table
    assert f"| paper | {100 * paper['mean_difference']:+.2f} ± " in table
    assert (out / "regimes.png").read_bytes()[:8] == PNG
    for slug in ("model-compact_augment-none", "model-wide_augment-pixel-shift"):
        assert (out / f"chart-{slug}.png").read_bytes()[:8] == PNG
    stored = json.loads((out / "results.json").read_text())
    assert stored["grid"] == GRID and list(stored["cells"]) == labels
    assert stored["cells"][labels[3]]["settings"]["training"]["model"]["name"] == "wide"
    assert stored["cells"][labels[3]]["settings"]["training"]["augment"] == {
        "name": "pixel-shift",
        "pixels": 1,
    }
    assert "model" not in stored["settings"]["training"]  # varied: per cell only
    assert len(stored["runs"]) == 36 and {run["cell"] for run in stored["runs"]} == set(labels)
    assert len(list((out / "runs").iterdir())) == 1  # this process's own file

    # One more value: only the new cells' runs are to do.
    grown = {**GRID, "augment": ["none", "pixel-shift", "translate"]}
    plan = prepare(variants="paper,batch", seeds=3, out=str(out), grid=grown, **TINY)
    assert {run.cell for run in plan.pending()} == {
        "model=compact, augment=translate",
        "model=wide, augment=translate",
    }
    assert len(plan.pending()) == 18
    with pytest.raises(ValueError, match=r"other settings \(training.epochs: 3 -> 4"):
        prepare(variants="paper,batch", seeds=3, out=str(out), grid=GRID, per_class=2, epochs=4)
    with pytest.raises(ValueError, match="whose grid varies augment, model, not nothing"):
        prepare(variants="paper,batch", seeds=3, out=str(out), **TINY)


def test_failed_runs_are_recorded_and_the_others_go_on(tmp_path, monkeypatch, capsys):
    def errors(cell, variant, seed):
        if (variant, seed) == ("batch", 1):
            return RuntimeError("boom\nmore detail")
        return 0.2 + 0.01 * seed + 0.02 * (variant == "batch")

    train_one, asked = pretend(errors)
    monkeypatch.setattr(runner_module, "_train_one", train_one)
    result = compare(variants="batch", seeds=3, out=str(tmp_path), **TINY)
    printed = capsys.readouterr().out
    assert len(asked) == 6  # none stopped the others
    assert "[4/6] batch    seed 1  FAILED: RuntimeError: boom" in printed
    assert result["failed"] == ["batch seed 1: RuntimeError: boom"]
    table = (tmp_path / "table.md").read_text()
    assert (
        "Failed runs (1; not in the table, run again with --retry-failed):\n- batch seed 1" in table
    )
    baseline, batch = result["rows"]
    assert (baseline["n"], batch["n"], batch["seeds"]) == (3, 2, [0, 2])
    stored = {
        (r["variant"], r["seed"]): r
        for r in json.loads((tmp_path / "results.json").read_text())["runs"]
    }
    assert stored[("batch", 1)]["status"] == "failed"
    assert stored[("batch", 1)]["error"] == "RuntimeError: boom"
    assert prepare(variants="batch", seeds=3, out=str(tmp_path), **TINY).pending() == []
    again = prepare(variants="batch", seeds=3, out=str(tmp_path), retry_failed=True, **TINY)
    assert again.pending() == [Run("", "batch", 1)]


def test_few_seeds_are_warned_about_before_training_and_cut_intervals_said(
    tmp_path, monkeypatch, capsys
):
    values = {("baseline", 0): 0.05, ("baseline", 1): 0.90, ("batch", 0): 0.0, ("batch", 1): 0.01}
    train_one, _ = pretend(lambda cell, variant, seed: values[(variant, seed)])
    monkeypatch.setattr(runner_module, "_train_one", train_one)
    result = compare(variants="batch", seeds=2, out=str(tmp_path), **TINY)
    printed = capsys.readouterr().out
    warning = printed.index("with 2 seeds the 95% intervals use t = 12.7 (against 2.8 for 5 seeds)")
    assert warning < printed.index("[1/4]")
    assert "use --seeds 5 (or at least 3: t = 4.3)" in printed
    assert result["rows"][0]["ci_cut"] and "0.00–100.00% (cut)" in result["table"]
    assert "'(cut)' marks one that passes 0% or 100%" in printed


def test_shards_divide_the_runs_the_same_way_every_time(tmp_path, no_training):
    arguments = {"variants": "paper,batch", "seeds": 3, "out": str(tmp_path), "grid": GRID, **TINY}
    every = prepare(**arguments).all_runs()
    shares = [prepare(shard=f"{i}/3", **arguments).my_runs() for i in (1, 2, 3)]
    assert sorted(sum(shares, [])) == sorted(every) and len(set(every)) == len(every) == 36
    assert [len(share) for share in shares] == [12, 12, 12]
    assert shares[1] == every[1::3]
    for shard, message in [("3/2", "i/n with 1 <= i <= n"), ("0/2", "i/n with"), ("a/b", "i/n")]:
        with pytest.raises(ValueError, match=f"`shard` must be {message}"):
            prepare(shard=shard, **arguments)


def test_each_seed_draws_its_subset_and_every_variant_shares_it(tmp_path, no_training):
    plan = prepare(per_class=3, seeds=2, out=str(tmp_path), variants="paper")
    cell = plan.cells[0]
    first, second = plan.training_data(cell, 0), plan.training_data(cell, 1)
    assert np.bincount(first.y_train).tolist() == [3] * 10
    assert first.fingerprint() != second.fingerprint()
    assert plan.training_data(cell, 0) is first  # one subset per seed, whatever the variant
    assert plan.settings[""]["subset"] == "3 of each class, drawn per seed"
    data = load_data("digits")
    small, large = draw_per_class(data, 2, 0), draw_per_class(data, 3, 0)
    rows = {row.tobytes() for row in large.x_train}
    assert all(row.tobytes() in rows for row in small.x_train)  # nested
    fixed = prepare(per_class=3, seeds=2, out=str(tmp_path / "f"), fixed_subset=True)
    expected = take_per_class(data, 3).fingerprint()
    assert {fixed.training_data(fixed.cells[0], s).fingerprint() for s in (0, 1)} == {expected}


def test_the_committed_tables_resume_from_their_first_format_files(tmp_path, no_training):
    source = ROOT / "benchmarks" / "results" / "compare-digits-30"
    out = tmp_path / "digits"
    out.mkdir()
    shutil.copy(source / "results.json", out / "results.json")
    committed = json.loads((source / "results.json").read_text())["summary"]["rows"]
    plan = prepare(
        per_class=30, seeds=5, epochs=200, fixed_subset=True, augment="translate", out=str(out)
    )
    assert plan.pending() == []
    rows = execute(plan, verbose=False)["rows"]
    assert [r["variant"] for r in rows] == [r["variant"] for r in committed]
    for ours, theirs in zip(rows, committed, strict=True):
        assert ours["mean_error"] == theirs["mean_error"]
        if theirs["vs_baseline"]:
            assert ours["vs_baseline"]["p_value"] == pytest.approx(theirs["vs_baseline"]["p_value"])
    with pytest.raises(ValueError, match="subset: 'the first 30 of each class' -> '30 of each"):
        prepare(per_class=30, seeds=5, epochs=200, augment="translate", out=str(out))


def test_grid_and_recipe_mistakes_are_refused_before_training(tmp_path, capsys, no_training):
    cases = [
        ({"grid": ["modle=compact"]}, r"unknown factor 'modle' \(did you mean 'model'\?\)"),
        (
            {"grid": {"model": ["compact", "compcat"]}},
            r"`grid` model=compcat: `model`: unknown model 'compcat' \(did you mean 'compact'\?\)",
        ),
        ({"grid": ["augment=none,pixelshift"]}, r"did you mean 'pixel-shift'"),
        ({"grid": ["model=compact"], "model": "wide"}, "`model` is given and varied by `grid`"),
        ({"grid": ["epochs=2,x"]}, r"`grid`: epochs='x' is not a number"),
        ({"grid": ["model=compact,compact"]}, "names a value twice"),
        ({"grid": ["model"]}, "must be factor=value"),
        ({"model": "user_parts:wrong_shape_model"}, "must give \\(10,\\) logits"),
        ({"augment": "user_parts:crop_augment"}, "changes the images' shape"),
        ({"model": lambda shape, k: None, "jobs": 2}, "cannot be sent to --jobs worker"),
        ({"lr_schedule": "linear"}, "`lr_schedule` must be one of"),
    ]
    for arguments, message in cases:
        with pytest.raises((ValueError, TypeError), match=message):
            compare(out=str(tmp_path), **arguments)
    assert not list(tmp_path.iterdir())
    for argv, message in [
        (["--grid", "modle=compact"], "--grid: unknown factor 'modle' (did you mean 'model'?)"),
        (["--fixed-subset"], "--fixed-subset needs --per-class"),
        (["--model", "compcat"], "--model: unknown model 'compcat' (did you mean 'compact'?)"),
    ]:
        with pytest.raises(SystemExit):
            main(["--out", str(tmp_path / "cli"), *argv])
        assert message in capsys.readouterr().err


def test_a_model_without_a_split_layer_skips_those_variants_with_a_line(
    tmp_path, monkeypatch, capsys
):
    train_one, asked = pretend(lambda cell, variant, seed: 0.5)
    monkeypatch.setattr(runner_module, "_train_one", train_one)
    compare(
        model="user_parts:tiny_model",
        variants="feature-layer,set-most-cosine-model,paper",
        seeds=1,
        out=str(tmp_path),
        **TINY,
    )
    printed = capsys.readouterr().out
    assert [variant for _, variant, _ in asked] == ["baseline", "paper"]
    assert (
        "Skipped: 'feature-layer' mixes hidden features at the model's split layer, and the "
        "model 'user_parts:tiny_model' names none (give --split-layer, split_layer=)."
    ) in printed
    assert "Skipped: 'set-most-cosine-model' pairs by the features of" in printed
    settings = json.loads((tmp_path / "results.json").read_text())["settings"]
    assert settings["model"].startswith("user_parts:tiny_model: 6 layers")


def test_help_shows_defaults_and_the_command_line_needs_no_tensorflow():
    text = " ".join(parser().format_help().split())
    assert "--per-class PER_CLASS train on N images of each class" in text
    assert "(default: all the training images)" in text
    assert "--grid FACTOR=V1,V2 [FACTOR=V1,V2 ...]" in text
    # --help and --list import neither TensorFlow nor Keras (the package's own
    # top-level imports left out: the compare command's modules alone).
    script = (
        "import sys, types\n"
        "package = types.ModuleType('keras_samplepairing')\n"
        f"package.__path__ = [{str(ROOT / 'keras_samplepairing')!r}]\n"
        "sys.modules['keras_samplepairing'] = package\n"
        "from keras_samplepairing.compare import cli\n"
        "cli.main(['--list'])\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted({'tensorflow', 'keras'} & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout and "set-most-cosine-model" in done.stdout
    assert "usage: python -m keras_samplepairing compare" in done.stdout


def test_the_package_command_answers_help_without_tensorflow():
    import ast

    tree = ast.parse((ROOT / "keras_samplepairing" / "__init__.py").read_text())
    eager = [
        node
        for node in tree.body
        if (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras"))
        or (
            isinstance(node, ast.Import)
            and any(a.name.startswith(("keras", "tensorflow")) for a in node.names)
        )
    ]
    if eager:
        pytest.skip("keras_samplepairing/__init__.py imports its modules (and TensorFlow) eagerly")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "keras_samplepairing", "compare", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0 and "--grid" in done.stdout
    assert "| tensorflow" not in done.stderr and "| keras\n" not in done.stderr
