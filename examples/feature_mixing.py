"""Feature-level SamplePairing: mix hidden features of a small CNN on digits.

Two ways, side by side:

- ``FeatureSamplePairing`` between two blocks of a functional model: hidden
  feature maps are mixed during ``fit``; labels stay the first sample's (the
  paper's rule), so ``fit`` is unchanged.
- ``PairingModel(encoder, head, mix_at="hidden")``: the encoder's features
  are mixed inside ``train_step`` and the labels mixed with the same λ.

    python examples/feature_mixing.py --epochs 15
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_samplepairing import FeatureSamplePairing, PairingModel  # noqa: E402
from keras_samplepairing.compare.datasets import load_digits_split  # noqa: E402


def encoder_block(inputs):
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    return keras.layers.MaxPooling2D()(x)


def head_block(x):
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.layers.Dense(10)(x)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--subset", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_val, y_val) = load_digits_split(args.subset, args.seed)
    results = {}

    # 1. A layer between blocks; sparse labels, ordinary fit.
    inputs = keras.Input((8, 8, 1))
    hidden = FeatureSamplePairing(seed=args.seed)(encoder_block(inputs))
    layered = keras.Model(inputs, head_block(hidden))
    layered.compile(
        keras.optimizers.Adam(3e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=True,
    )
    layered.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=2)
    results["FeatureSamplePairing"] = layered.evaluate(x_val, y_val, verbose=0)[1]

    # 2. The trainer: hidden features and labels mixed by the same λ.
    inputs = keras.Input((8, 8, 1))
    encoder = keras.Model(inputs, encoder_block(inputs))
    features = keras.Input(encoder.output_shape[1:])
    head = keras.Model(features, head_block(features))
    trainer = PairingModel(
        encoder, head, mix_at="hidden", lam="beta", alpha=1.0, num_classes=10, seed=args.seed
    )
    trainer.compile(
        keras.optimizers.Adam(3e-3),
        keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["categorical_accuracy"],
        jit_compile=True,
    )
    trainer.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=2)
    logits = trainer.predict(x_val, verbose=0)
    results["PairingModel(mix_at='hidden')"] = float(np.mean(logits.argmax(1) == y_val))

    for name, accuracy in results.items():
        print(f"{name:32s} validation accuracy {accuracy:.4f}")
    return results


if __name__ == "__main__":
    main()
