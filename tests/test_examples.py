"""Every script in examples/ runs, in a tiny configuration, and learns.

Digits have 10 classes, so chance is 0.1. Each training run is large enough
to clear its bound with room to spare: on seeds 0-3 the validation accuracy
measured was train_digits 0.72-0.81, feature_mixing 0.79-0.86 (layer) and
0.82-0.88 (PairingModel), cutout_erasing 0.66-0.77, whole_set_digits with a
refreshed index 0.72-0.81 (6 epochs). A pairing that scrambled labels or
images would stay near chance. Training subsets are whole batches of 32: a
last, smaller batch compiles the model's step a second time.
"""

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
    result = _load("train_digits").main(
        ["--epochs", "20", "--subset", "320", "--out", str(tmp_path)]
    )
    assert result["accuracy"] > 0.5
    model = keras.saving.load_model(result["model_path"], safe_mode=True)
    assert model.output_shape == (None, 10)


def test_feature_mixing():
    results = _load("feature_mixing").main(["--epochs", "20", "--subset", "320"])
    assert set(results) == {"FeatureSamplePairing", "PairingModel(mix_at='hidden')"}
    for name, accuracy in results.items():
        assert accuracy > 0.5, name


def test_detection(tmp_path):
    result = _load("detection").main(["--count", "4", "--batch", "4", "--out", str(tmp_path)])
    gallery = pathlib.Path(result["gallery"])
    assert gallery.exists() and gallery.stat().st_size > 1000
    assert gallery.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Every mixed image carries its own boxes and its partner's.
    labels = result["batch"]["bounding_boxes"]["labels"].numpy()
    assert labels.shape == (4, 6) and all(result["boxes_per_image"] >= 2)


def test_cutout_erasing():
    result = _load("cutout_erasing").main(["--epochs", "40", "--subset", "320"])
    assert result["accuracy"] > 0.4
    assert result["augmentations_identity_at_inference"]


def test_whole_set_digits(tmp_path):
    module = _load("whole_set_digits")
    result = module.main(
        ["--epochs", "3", "--subset", "128", "--pairing", "least_similar", "--out", str(tmp_path)]
    )
    assert result["history"]["samplepairing"] == [0.0, 1.0, 0.0]
    assert 0.0 < result["hubness"]["never_chosen"] < 1.0  # farthest neighbours: hubs
    # The saved index is reused, and refreshed from the model as it trains.
    reused = module.main(
        [
            "--epochs",
            "3",
            "--subset",
            "128",
            "--pairing",
            "least_similar",
            "--index",
            result["index"],
            "--out",
            str(tmp_path),
        ]
    )
    assert reused["hubness"] == result["hubness"]
    # Long enough to learn: 1408 of the 1437 training digits, 6 epochs (the
    # two runs above, 3 epochs on 128, stay near chance).
    refreshed = module.main(
        ["--epochs", "6", "--subset", "1408", "--refresh-every", "2", "--out", str(tmp_path)]
    )
    assert refreshed["accuracy"] > 0.5
