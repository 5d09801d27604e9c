"""Models holding the layers export and serve without the package; models
saved before still load."""

import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np

from keras_samplepairing import FeatureSamplePairing, SamplePairing


def _image_model():
    inputs = keras.Input((8, 8, 3))
    x = SamplePairing(lam="beta", seed=1)(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


def _feature_model():
    """Fitted with XLA (jit_compile=True), the feature layer between blocks."""
    inputs = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = FeatureSamplePairing(seed=0)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    model.compile(
        "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True
    )
    x = np.random.default_rng(1).uniform(size=(12, 6, 6, 1)).astype("float32")
    history = model.fit(x, np.arange(12) % 3, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    return model, x


def test_saved_models_serve_in_a_fresh_process_without_the_package(tmp_path):
    # Both layers' exports, served in one process (each process starts TensorFlow).
    images = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    feature_model, features_input = _feature_model()
    models = {"image": (_image_model(), images), "feature": (feature_model, features_input)}
    atol = {"image": 1e-5, "feature": 1e-6}  # logits of 0-255 images, of 0-1 inputs
    for name, (model, inputs) in models.items():
        model.export(str(tmp_path / name), verbose=False)
        np.save(tmp_path / f"{name}_in.npy", inputs)

    script = textwrap.dedent(
        f"""
        import os, sys
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        import numpy as np, tensorflow as tf
        for name in {list(models)!r}:
            served = tf.saved_model.load(name)
            inputs = tf.constant(np.load(name + "_in.npy"))
            out = [served.serve(inputs).numpy() for _ in range(2)]
            np.save(name + "_out.npy", np.stack(out))
        assert "keras_samplepairing" not in sys.modules
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    for name, (model, inputs) in models.items():
        served = np.load(tmp_path / f"{name}_out.npy")
        expected = model.predict(inputs, verbose=0)
        np.testing.assert_allclose(served[0], expected, rtol=1e-5, atol=atol[name])
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
