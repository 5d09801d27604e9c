"""A model holding the layer exports and serves without the package."""

import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np

from keras_samplepairing import SamplePairing


def test_saved_model_reloads_in_a_fresh_process_without_the_package(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = SamplePairing(lam="beta", seed=1)(inputs)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    images = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    export_dir = tmp_path / "exported"
    model.export(str(export_dir), verbose=False)
    np.save(tmp_path / "images.npy", images)

    script = textwrap.dedent(
        f"""
        import os, sys
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        import numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(export_dir)!r})
        images = np.load({str(tmp_path / "images.npy")!r})
        out = [served.serve(tf.constant(images)).numpy() for _ in range(2)]
        assert "keras_samplepairing" not in sys.modules
        np.save({str(tmp_path / "served.npy")!r}, np.stack(out))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    served = np.load(tmp_path / "served.npy")
    expected = model.predict(images, verbose=0)
    np.testing.assert_allclose(served[0], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(served[0], served[1])


def test_keras_files_saved_before_the_restructuring_still_load():
    # Written by tests/fixtures/saved_before/make.py with the package at
    # ed03f1a: module paths moved since, registered names and configs did not.
    folder = Path(__file__).parent / "fixtures" / "saved_before"
    expected = np.load(folder / "expected.npz")
    for name in ("functional", "pairing_model"):
        model = keras.saving.load_model(folder / f"{name}.keras", safe_mode=True)
        np.testing.assert_array_equal(model.predict(expected["x"], verbose=0), expected[name])
        mixed = model(expected["x"], training=True)
        assert mixed.shape == (4, 10)
    layer = keras.saving.load_model(folder / "functional.keras").get_layer("sp")
    assert isinstance(layer, SamplePairing)
    config = layer.get_config()
    assert (config["lam"], config["alpha"], config["pairing"], config["num_classes"]) == (
        "beta",
        0.4,
        "most_similar",
        10,
    )
