"""The comparison runner end to end, resuming, its variants and its errors."""

import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing.__main__ import main as cli
from keras_samplepairing.callbacks.schedule import SamplePairingSchedule
from keras_samplepairing.compare import compare, describe_variants, main, prepare
from keras_samplepairing.compare import runner as runner_module
from keras_samplepairing.compare.data import check_arrays
from keras_samplepairing.compare.datasets import load_data
from keras_samplepairing.compare.pipelines import build_training
from keras_samplepairing.compare.training import (
    TrainConfig,
    scaled_schedule,
    schedule_states,
    steps_per_epoch,
)
from keras_samplepairing.compare.variants import (
    DEFAULT_VARIANTS,
    VARIANTS,
    select_variants,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def count_runs(monkeypatch):
    """Counts the runs that really train."""
    trained = []
    original = runner_module._train_one

    def counting(plan, variant, seed, cache, progress):
        trained.append((variant.name, seed))
        return original(plan, variant, seed, cache, progress)

    monkeypatch.setattr(runner_module, "_train_one", counting)
    return trained


def test_tiny_comparison_end_to_end_and_resume(tmp_path, capsys, count_runs):
    out = tmp_path / "results"
    arguments = {"per_class": 3, "epochs": 2, "variants": "batch", "schedule": False}
    result = compare(seeds=1, out=str(out), **arguments)
    printed = capsys.readouterr().out
    assert count_runs == [("baseline", 0), ("batch", 0)]
    # One progress line per run, the estimate, the table and the paths.
    assert printed.count("epoch 2/2") == 2
    assert "[1/2] baseline seed 0  epoch 2/2  test error " in printed
    assert "Estimate: ~" in printed
    assert result["table"] in printed and "| batch | 1 |" in result["table"]
    assert "n/a" in result["table"] and "no interval and no test" in printed
    for path in result["paths"].values():
        assert path in printed
    assert pathlib.Path(result["paths"]["chart"]).read_bytes()[:8] == PNG
    assert result["table"] in pathlib.Path(result["paths"]["table"]).read_text()

    stored = json.loads(pathlib.Path(result["paths"]["results"]).read_text())
    assert stored["settings"]["training"]["epochs"] == 2
    assert stored["settings"]["data"]["train_images"] == 30
    assert stored["settings"]["schedule"] is None
    runs = {(run["variant"], run["seed"]): run for run in stored["runs"]}
    assert set(runs) == {("baseline", 0), ("batch", 0)}
    for run in runs.values():
        assert run["epochs"] == 2 and len(run["train_loss"]) == 2
        assert run["test_error"] == run["test_wrong"] / 360 and run["wall_time_s"] > 0
        assert run["environment"]["keras"] == keras.__version__
    assert runs[("batch", 0)]["mixing_on"] == [1.0, 1.0]
    assert runs[("batch", 0)]["variant_settings"] == {"kind": "batch", "options": {}}
    assert [row["variant"] for row in stored["summary"]["rows"]] == ["baseline", "batch"]
    row = result["rows"][1]
    assert row["mean_error"] == runs[("batch", 0)]["test_error"]
    assert row["vs_baseline"]["mean_difference"] == pytest.approx(
        runs[("batch", 0)]["test_error"] - runs[("baseline", 0)]["test_error"]
    )
    assert row["ci_half_width"] is None and row["vs_baseline"]["p_value"] is None

    # Run again: nothing trains, the same numbers come back.
    again = compare(seeds=1, out=str(out), verbose=False, **arguments)
    assert count_runs == [("baseline", 0), ("batch", 0)]
    assert again["rows"] == result["rows"]

    # One seed more: only its runs train; the first seed's are kept.
    more = compare(seeds=2, out=str(out), **arguments)
    printed = capsys.readouterr().out
    assert count_runs[2:] == [("baseline", 1), ("batch", 1)]
    assert "Resuming" in printed and "2 of 4 runs are done" in printed
    assert [row["n"] for row in more["rows"]] == [2, 2]
    assert more["runs"][0] == runs[("baseline", 0)]
    assert more["rows"][1]["ci_half_width"] is not None

    # Other settings are refused, naming the difference.
    with pytest.raises(ValueError, match=r"other settings \(training.epochs: 2 -> 3\)"):
        prepare(seeds=1, out=str(out), **{**arguments, "epochs": 3})


def test_same_seed_same_warm_up_for_every_variant():
    """Before mixing starts, a within-batch variant trains exactly like the
    baseline: same initial weights, shifts and batches."""
    data = load_data("digits", per_class=3)
    config = TrainConfig(epochs=3)
    losses = {}
    for name in ("baseline", "mixup"):
        keras.utils.clear_session()
        keras.utils.set_random_seed(0)
        setup = build_training(VARIANTS[name], data, 0, config)
        callbacks = [SamplePairingSchedule(targets=setup.targets, warmup=1, on=1, off=1)]
        callbacks = callbacks if setup.targets else []
        history = setup.model.fit(
            setup.train,
            epochs=2,
            steps_per_epoch=steps_per_epoch(len(data.x_train), config.batch_size),
            verbose=0,
            callbacks=callbacks,
            shuffle=False,
        )
        losses[name] = history.history["loss"]
    assert losses["baseline"][0] == losses["mixup"][0]
    assert losses["baseline"][1] != losses["mixup"][1]


class SoftBatches(keras.metrics.Metric):
    """Counts, per epoch, the batches trained on with mixed (soft) labels."""

    def __init__(self):
        super().__init__(name="soft_batches")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        soft = keras.ops.any(keras.ops.logical_and(y_true > 0.0, y_true < 1.0))
        self.count.assign(self.count + keras.ops.cast(soft, "float32"))

    def result(self):
        return self.count


def _mixed_batches_per_epoch(name: str, epochs: int) -> list[int]:
    """Trains a variant under the scaled schedule and counts, per epoch, the
    batches it trained on whose labels were mixed (counted in the model, where
    they are consumed, not in the pipeline, which runs ahead)."""
    data = load_data("digits", per_class=10)  # 100 images: 4 batches an epoch
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    setup = build_training(VARIANTS[name], data, 0, TrainConfig(epochs=epochs))
    model = setup.model
    model.compile(optimizer=model.optimizer, loss=model.loss, metrics=[SoftBatches()])
    schedule = SamplePairingSchedule(targets=setup.targets, **scaled_schedule(epochs))
    history = model.fit(
        setup.train.prefetch(8),
        epochs=epochs,
        steps_per_epoch=4,
        verbose=0,
        callbacks=[schedule],
        shuffle=False,
    )
    return [int(v) for v in history.history["soft_batches"]]


@pytest.mark.parametrize("name", ["mixup", "paper-mix-labels"])
def test_mixing_follows_the_schedule(name):
    # recipe(5): warm-up 1, 1 on / 1 off, fine-tuning 1: on in epochs 2 and 4.
    assert schedule_states(5) == [False, True, False, True, False]
    assert _mixed_batches_per_epoch(name, 5) == [0, 4, 0, 4, 0]


@pytest.mark.parametrize(
    "name",
    [
        "paper",
        "batch-sample-kl",
        "set-different-class",
        "set-least-euclidean",
        "spatial",
        "lam-similarity",
        "cutmix",
        "feature-layer",
        "feature-model",
    ],
)
def test_each_kind_of_variant_builds_a_pipeline_and_model(name):
    data = load_data("digits", per_class=16)  # 160: five whole batches of 32
    keras.utils.set_random_seed(0)
    cache = {}
    setup = build_training(VARIANTS[name], data, 1, TrainConfig(epochs=3), cache)
    images, labels = next(iter(setup.train))
    assert images.shape == (32, 8, 8, 1) and images.dtype == tf.float32
    if name == "feature-model":
        assert labels.dtype == tf.int64  # PairingModel one-hot encodes them itself
    else:
        assert labels.shape == (32, 10) and labels.dtype == tf.float32
    # Endless: one iterator for the whole fit, a fresh epoch every 5 batches.
    assert int(setup.train.cardinality()) == tf.data.INFINITE_CARDINALITY
    assert setup.targets
    logits = setup.model.predict(data.x_test[:5], verbose=0)
    assert logits.shape == (5, 10)
    if name in ("set-least-euclidean", "set-different-class"):
        # The partner index is built once per variant and reused by its next
        # seeds, which pair exactly as with an index of their own.
        assert ("index" in cache) == (name == "set-least-euclidean")
        reused = build_training(VARIANTS[name], data, 2, TrainConfig(epochs=3), cache)
        fresh = build_training(VARIANTS[name], data, 2, TrainConfig(epochs=3), {})
        for a, b in zip(next(iter(reused.train)), next(iter(fresh.train)), strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_variant_selection():
    assert [v.name for v in select_variants(None)] == list(DEFAULT_VARIANTS)
    assert [v.name for v in select_variants("batch, mixup")] == ["baseline", "batch", "mixup"]
    assert [v.name for v in select_variants(["mixup", "baseline"])] == ["baseline", "mixup"]
    digits = load_data("digits", per_class=2)
    every = [v.name for v in select_variants("all", digits)]
    assert every[0] == "baseline" and "channel" not in every
    assert len(every) == len(VARIANTS) - 1
    with pytest.raises(ValueError, match="one channel"):
        select_variants("channel", digits)
    single = load_data("digits", per_class=1)
    assert "set-same-class" in every
    assert "set-same-class" not in [v.name for v in select_variants("all", single)]
    with pytest.raises(ValueError, match="class 0 has one training image"):
        select_variants("batch-same-class", single)
    with pytest.raises(ValueError, match=r"unknown variant 'papr' \(did you mean 'paper'\?\)"):
        select_variants("paper,papr")
    with pytest.raises(ValueError, match=r"'MixUp' \(did you mean 'mixup'\?\), 'zzz';"):
        select_variants("MixUp,zzz")
    tiny = check_arrays(
        "tiny",
        {"x_train": np.arange(48.0).reshape(4, 2, 2, 3), "y_train": np.arange(4) % 2}
        | {"x_test": np.arange(24.0).reshape(2, 2, 2, 3), "y_test": np.arange(2)},
    )
    assert "spatial" not in [v.name for v in select_variants("all", tiny)]
    with pytest.raises(ValueError, match="4x4 field of λ, larger than tiny's 2x2 images"):
        select_variants("spatial", tiny)
    with pytest.raises(ValueError, match="named twice"):
        select_variants("paper,paper")
    for name, variant in VARIANTS.items():
        assert name == name.lower() and " " not in name and variant.description
        assert name in describe_variants()


def test_function_errors_before_training(tmp_path, count_runs):
    with pytest.raises(ValueError, match="unknown variant"):
        compare(variants="nope", out=str(tmp_path))
    with pytest.raises(ValueError, match="larger than a class"):
        compare(per_class=1000, out=str(tmp_path))
    with pytest.raises(ValueError, match="leaves no epoch with mixing on"):
        compare(epochs=2, variants="paper", out=str(tmp_path))
    with pytest.raises(ValueError, match="`seeds` must be >= 1"):
        compare(seeds=0, out=str(tmp_path))
    with pytest.raises(TypeError, match="`epochs` must be an int"):
        compare(epochs=2.5, out=str(tmp_path))
    assert count_runs == []
    assert not list(tmp_path.iterdir())


def test_cli_errors_are_clear(tmp_path, capsys, count_runs):
    path = tmp_path / "data.npz"
    np.savez(path, x_train=np.zeros((4, 6, 6)), y_train=np.arange(4) % 2)
    cases = [
        (["--variants", "paper,nope"], "unknown variant 'nope'"),
        (["--data", str(path)], "lacks 'x_test', 'y_test'"),
        (["--per-class", "200"], "--per-class=200 is larger than a class"),
        (["--seeds", "0"], "--seeds must be >= 1"),
        (["--data", "fashion"], "'digits', 'fashion-mnist' or the path"),
        (["--seed", "3"], "unrecognized arguments: --seed"),  # no abbreviations
    ]
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for argv, message in [*cases, (["--out", str(a_file)], "is a file; give a folder")]:
        with pytest.raises(SystemExit):
            main(["--out", str(tmp_path / "out"), *argv])
        error = capsys.readouterr().err
        assert message in error, (argv, error)
        assert error.startswith("usage: python -m keras_samplepairing compare")
    assert count_runs == []


def test_cli_lists_the_variants(capsys):
    assert cli(["compare", "--list"]) is None
    printed = capsys.readouterr().out
    assert "* paper " in printed and "  feature-model " in printed
    cli([])
    assert "compare" in capsys.readouterr().out


def test_two_comparisons_into_one_folder_keep_each_others_runs(tmp_path, monkeypatch):
    def pretend(plan, variant, seed, cache, progress):  # no training: only the bookkeeping
        return {"variant": variant.name, "seed": seed, "test_error": 0.1, "wall_time_s": 1.0}

    monkeypatch.setattr(runner_module, "_train_one", pretend)
    arguments = {"per_class": 3, "epochs": 2, "schedule": False, "seeds": 1}
    first = prepare(variants="batch", out=str(tmp_path), **arguments)
    second = prepare(variants="mixup", out=str(tmp_path), **arguments)  # before first writes
    runner_module.execute(first, verbose=False)
    runner_module.execute(second, verbose=False)
    stored = json.loads((tmp_path / "results.json").read_text())
    assert {run["variant"] for run in stored["runs"]} == {"baseline", "batch", "mixup"}
    assert {"batch", "mixup"} <= set(stored["variants"])
    # The same file named another way is the same data: it resumes.
    path = tmp_path / "data.npz"
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (8, 6, 6), dtype=np.uint8),
        y_train=np.arange(8) % 2,
        x_test=rng.integers(0, 256, (4, 6, 6), dtype=np.uint8),
        y_test=np.arange(4) % 2,
    )
    out = tmp_path / "npz"
    runner_module.execute(prepare(data=str(path), out=str(out), **arguments), verbose=False)
    monkeypatch.chdir(tmp_path)
    again = prepare(data="./data.npz", out=str(out), **arguments)
    assert again.pending() == []
