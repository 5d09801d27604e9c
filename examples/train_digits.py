"""Train a small CNN on scikit-learn's digits with SamplePairing in the model.

The data ships with scikit-learn (no download). The layer sits after the
model's input, so it mixes images during ``fit`` only; ``evaluate`` and the
exported model see plain images.

    python examples/train_digits.py --epochs 20 --subset 300
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from keras_samplepairing import SamplePairing  # noqa: E402
from keras_samplepairing.compare.datasets import load_digits_split  # noqa: E402


def build_model(seed: int) -> keras.Model:
    inputs = keras.Input((8, 8, 1))
    x = SamplePairing(seed=seed)(inputs)
    x = keras.layers.Rescaling(1.0 / 255.0)(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10)(x)
    return keras.Model(inputs, outputs)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--subset", type=int, default=None, help="training images to use")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="saved_models", help="where the model is saved")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_val, y_val) = load_digits_split(args.subset, args.seed)
    model = build_model(args.seed)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=True,
    )
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, validation_data=(x_val, y_val))
    _, accuracy = model.evaluate(x_val, y_val, verbose=0)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "digits_samplepairing.keras")
    model.save(path)
    print(f"validation accuracy: {accuracy:.4f}\nsaved model: {path}")
    return {"accuracy": accuracy, "model_path": path}


if __name__ == "__main__":
    main()
