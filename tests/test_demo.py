"""The README's main command: the demo, in a tiny configuration."""

import pathlib
import shutil
import subprocess

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import demo
from keras_samplepairing.__main__ import main as cli
from keras_samplepairing.__main__ import program_name
from keras_samplepairing.compare.datasets import load_digits_split
from keras_samplepairing.compare.training import scaled_schedule as recipe
from keras_samplepairing.demo import main


def test_demo_writes_every_file_and_the_model_serves(tmp_path, capsys, recwarn, monkeypatch):
    result = main(["--epochs", "3", "--subset", "64", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    # It says which basic augmentation it uses (the comparison's default), and
    # Keras has nothing to warn about (no shuffle=True on a tf.data dataset).
    assert "Basic augmentation for both runs: pixel-shift (whole-pixel random shifts" in printed
    assert not [w for w in recwarn if "shuffle" in str(w.message)]
    assert "| baseline |" in printed and "| SamplePairing |" in printed
    for name, path in result["paths"].items():
        assert path in printed, name
    for png in ("gallery", "curves"):
        data = pathlib.Path(result["paths"][png]).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    assert result["histories"]["SamplePairing"]["samplepairing"] == [0.0, 1.0, 0.0]
    served = tf.saved_model.load(result["paths"]["saved_model"])
    (_, _), (x_val, y_val) = load_digits_split(64, 0)
    logits = served.serve(tf.constant(x_val[:5])).numpy()
    assert logits.shape == (5, 10) and np.all(np.isfinite(logits))
    # The contract the README states: `images`, float32 (None, 8, 8, 1) in, logits out.
    signature = served.signatures["serve"]
    (spec,) = signature.structured_input_signature[1].values()
    assert spec.name == "images" and spec.shape.as_list() == [None, 8, 8, 1]
    assert spec.dtype == tf.float32
    # The same seed, the same table (the files, checked above, are left out).
    for name in ("plot_gallery", "plot_curves", "mixed_gallery_batch"):
        monkeypatch.setattr(demo, name, lambda *args, **kwargs: None)
    monkeypatch.setattr(keras.Model, "export", lambda *args, **kwargs: None)
    again = main(["--epochs", "3", "--subset", "64", "--out", str(tmp_path / "again")])
    for name, history in result["histories"].items():
        assert again["histories"][name] == history, name


def test_recipe_scales_the_paper_schedule():
    assert recipe(60) == {"warmup": 10, "on": 8, "off": 2, "finetune": 10}
    assert recipe(3) == {"warmup": 1, "on": 1, "off": 1, "finetune": 1}


def test_cli_usage_and_errors(capsys):
    cli([])
    assert "demo" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli(["train"])
    with pytest.raises(SystemExit):
        cli(["demo", "--epochs", "1"])
    with pytest.raises(SystemExit):  # no abbreviations: --epoch is not --epochs
        cli(["demo", "--epoch", "5"])
    assert "unrecognized arguments: --epoch" in capsys.readouterr().err


def test_usage_names_the_program_the_user_ran():
    assert program_name("/usr/bin/keras-samplepairing") == "keras-samplepairing"
    assert program_name("/x/keras_samplepairing/__main__.py") == "python -m keras_samplepairing"
    script = shutil.which("keras-samplepairing")
    if script is None:
        pytest.skip("the console script is not installed")
    usage = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    assert usage.stdout.startswith("usage: keras-samplepairing ")
