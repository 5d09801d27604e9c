"""Real training, tiny: the user's parts end to end, a failing run, shards and jobs."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
import user_parts

from keras_samplepairing import WholeSetPairing
from keras_samplepairing.compare import compare, prepare
from keras_samplepairing.compare.datasets import load_data
from keras_samplepairing.compare.runner import execute

PNG = b"\x89PNG\r\n\x1a\n"
ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_users_model_augmentation_and_arrays_train_end_to_end(tmp_path, monkeypatch):
    drawn = []

    def plot_partners(
        source, images=None, anchors=None, count=8, path=None, title=None, value_range=(0, 255)
    ):
        drawn.append({"source": source, "count": count, "title": title, "range": value_range})
        pathlib.Path(path).write_bytes(PNG)

    # The galleries' plotting function, as its contract gives it.
    gallery = types.ModuleType("keras_samplepairing.visualization")
    gallery.plot_partners = plot_partners
    monkeypatch.setitem(sys.modules, "keras_samplepairing.visualization", gallery)
    digits = load_data("digits")
    arrays = (
        (digits.x_train[:200], digits.y_train[:200, None]),  # (N, 1) class indices
        (digits.x_test[:50], digits.y_test[:50]),
    )
    arguments = {
        "data": arrays,
        "model": user_parts.tiny_model,
        "split_layer": "split",
        "feature_layer": "hidden",
        "augment": user_parts.flip_augment,
        "variants": "feature-layer,set-most-cosine-model",
        "per_class": 2,
        "seeds": 1,
        "epochs": 3,
        "learning_rate": np.float32(0.01),
        "out": str(tmp_path),
    }
    result = compare(verbose=False, **arguments)
    runs = {run["variant"]: run for run in result["runs"]}
    assert [run["status"] for run in runs.values()] == ["ok"] * 3
    assert all(run["train_images"] == 20 and run["test_images"] == 50 for run in runs.values())
    assert runs["feature-layer"]["mixing_on"] == [0.0, 1.0, 0.0]
    # The model-feature index is rebuilt from the trained model before the
    # first epoch with mixing on (the warm-up's model was untrained).
    assert runs["set-most-cosine-model"]["index_refreshed_after_epochs"] == [1]
    (picture,) = drawn  # once per whole-set variant, from the first seed's pairing
    assert isinstance(picture["source"], WholeSetPairing) and picture["source"].index is not None
    assert picture["count"] == 8 and picture["range"] == (0.0, 255.0)
    assert result["paths"]["pairs set-most-cosine-model"] == str(
        tmp_path / "pairs-set-most-cosine-model.png"
    )
    stored = json.loads((tmp_path / "results.json").read_text())
    settings = stored["settings"]
    assert settings["data"]["data"] == "arrays"
    assert settings["training"]["model"] == {
        "name": "user_parts:tiny_model",
        "split_layer": "split",
        "feature_layer": "hidden",
    }
    assert settings["training"]["augment"] == {"name": "user_parts:flip_augment"}
    assert settings["training"]["learning_rate"] == pytest.approx(0.01)
    assert settings["model"].startswith("user_parts:tiny_model: 6 layers")
    # Resuming with another model is refused, naming it.
    with pytest.raises(ValueError, match=r"other settings \(.*training.model.name: 'user_parts"):
        prepare(**{**arguments, "model": user_parts.sequential_model, "feature_layer": "pool"})


def test_a_run_whose_loss_is_nan_fails_alone(tmp_path):
    result = compare(
        model=user_parts.nan_model,
        variants=["baseline"],
        per_class=2,
        seeds=1,
        epochs=2,
        schedule=False,
        out=str(tmp_path),
        verbose=False,
    )
    assert result["failed"] == [
        "baseline seed 0: TrainingError: the training loss became nan in epoch 1"
    ]
    assert result["rows"] == [] and "No run has finished" in (tmp_path / "table.md").read_text()
    (run,) = json.loads((tmp_path / "results.json").read_text())["runs"]
    assert run["status"] == "failed" and run["error"].startswith("TrainingError")


ARGUMENTS = {
    "per_class": 2,
    "seeds": 1,
    "epochs": 1,
    "schedule": False,
    "variants": "mixup",
    "grid": ["augment=none,pixel-shift"],
}


def _comparison(out, *extra):
    command = [sys.executable, "-m", "keras_samplepairing", "compare", "--per-class", "2"]
    command += ["--seeds", "1", "--epochs", "1", "--no-schedule", "--variants", "mixup"]
    command += ["--grid", "augment=none,pixel-shift", "--out", str(out)]
    return subprocess.Popen(
        [*command, *extra],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_shards_at_once_give_the_table_of_one_process(tmp_path):
    """Shard 2/2 in --jobs 2 worker processes and shard 1/2 in this one, at the
    same time into one folder, give the runs and table of one process: this
    one, with TensorFlow's default threads, which the workers are given. (This
    process's shard 1/2 runs serve both folders; shard 2/2 runs here again.)"""
    alone = prepare(out=str(tmp_path / "one"), **ARGUMENTS)
    threads = str(alone.threads_per_run())
    workers = _comparison(
        tmp_path / "shared", "--shard", "2/2", "--jobs", "2", "--threads", threads
    )
    execute(prepare(out=str(tmp_path / "shared"), shard="1/2", **ARGUMENTS), verbose=False)
    out, err = workers.communicate(timeout=600)
    assert workers.returncode == 0, err
    assert f"Running 2 at once, {threads} TensorFlow thread(s) each." in out
    files = sorted(path.name for path in (tmp_path / "shared" / "runs").iterdir())
    (first,) = [name for name in files if "shard-1-of-2" in name and "job" not in name]
    assert len([name for name in files if "shard-2-of-2-job-" in name]) == 2  # each worker its own
    (tmp_path / "one" / "runs").mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "shared" / "runs" / first, tmp_path / "one" / "runs" / first)
    execute(prepare(out=str(tmp_path / "one"), shard="2/2", **ARGUMENTS), verbose=False)
    made = {
        name: execute(prepare(out=str(tmp_path / name), **ARGUMENTS), verbose=False, run=False)
        for name in ("one", "shared")
    }  # the tables from all files
    assert all(prepare(out=str(tmp_path / name), **ARGUMENTS).pending() == [] for name in made)
    timing = ("time_per_run_s", "time_total_s")
    rows = {
        name: {
            cell: [{k: v for k, v in row.items() if k not in timing} for row in cell_rows]
            for cell, cell_rows in result["rows_by_cell"].items()
        }
        for name, result in made.items()
    }
    assert rows["shared"] == rows["one"] and len(rows["one"]) == 2
    runs = {
        name: {
            (r["cell"], r["variant"]): (r["test_error"], r["train_loss"], r["threads"])
            for r in result["runs"]
        }
        for name, result in made.items()
    }
    assert runs["shared"] == runs["one"] and len(runs["one"]) == 4
