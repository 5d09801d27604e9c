"""Every script in examples/ runs, in a tiny configuration."""

import importlib.util
import pathlib

import keras

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_digits(tmp_path):
    result = _load("train_digits").main(["--epochs", "1", "--subset", "64", "--out", str(tmp_path)])
    assert 0.0 <= result["accuracy"] <= 1.0
    model = keras.saving.load_model(result["model_path"], safe_mode=True)
    assert model.output_shape == (None, 10)


def test_feature_mixing():
    results = _load("feature_mixing").main(["--epochs", "1", "--subset", "64"])
    assert set(results) == {"FeatureSamplePairing", "PairingModel(mix_at='hidden')"}
    assert all(0.0 <= accuracy <= 1.0 for accuracy in results.values())


def test_detection(tmp_path):
    result = _load("detection").main(["--count", "4", "--batch", "4", "--out", str(tmp_path)])
    gallery = pathlib.Path(result["gallery"])
    assert gallery.exists() and gallery.stat().st_size > 1000
    assert gallery.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Every mixed image carries its own boxes and its partner's.
    labels = result["batch"]["bounding_boxes"]["labels"].numpy()
    assert labels.shape == (4, 6) and all(result["boxes_per_image"] >= 2)


def test_cutout_erasing():
    result = _load("cutout_erasing").main(["--epochs", "1", "--subset", "64"])
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["augmentations_identity_at_inference"]


def test_whole_set_digits(tmp_path):
    module = _load("whole_set_digits")
    result = module.main(
        ["--epochs", "3", "--subset", "120", "--pairing", "least_similar", "--out", str(tmp_path)]
    )
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["history"]["samplepairing"] == [0.0, 1.0, 0.0]
    assert 0.0 < result["hubness"]["never_chosen"] < 1.0  # farthest neighbours: hubs
    # The saved index is reused, and refreshed from the model as it trains.
    reused = module.main(
        [
            "--epochs",
            "3",
            "--subset",
            "120",
            "--pairing",
            "least_similar",
            "--index",
            result["index"],
            "--out",
            str(tmp_path),
        ]
    )
    assert reused["hubness"] == result["hubness"]
    refreshed = module.main(
        ["--epochs", "3", "--subset", "120", "--refresh-every", "1", "--out", str(tmp_path)]
    )
    assert 0.0 <= refreshed["accuracy"] <= 1.0
