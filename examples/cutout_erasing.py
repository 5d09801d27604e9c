"""SamplePairing with Random Erasing, in the recommended order, on digits.

Order: geometric augmentation first (each image on its own, before it is
paired), then SamplePairing, then Random Erasing (or Cutout) on the mix.
Erasing after pairing blanks a region of the *mixed* image, so both
sources lose the same region and the erased area carries no trace of either;
erasing before pairing would let the partner fill the hole at 50% and dilute
the augmentation.

    python examples/cutout_erasing.py --epochs 20
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_samplepairing import SamplePairing  # noqa: E402
from keras_samplepairing.compare.datasets import load_digits_split  # noqa: E402


def build_model(seed: int) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            # 1. per-image augmentation, before pairing
            keras.layers.RandomTranslation(0.125, 0.125, fill_mode="constant", seed=seed),
            # 2. SamplePairing (training only)
            SamplePairing(seed=seed),
            # 3. erasing on the mixed image
            keras.layers.RandomErasing(factor=0.5, scale=(0.05, 0.2), seed=seed),
            keras.layers.Rescaling(1.0 / 255.0),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10),
        ]
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--subset", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    (x_train, y_train), (x_val, y_val) = load_digits_split(args.subset, args.seed)

    model = build_model(args.seed)
    model.compile(
        keras.optimizers.Adam(3e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=2)
    _, accuracy = model.evaluate(x_val, y_val, verbose=0)
    print(f"validation accuracy: {accuracy:.4f}")
    # The augmentation layers are all the identity at inference.
    sample = x_val[:4]
    identity = all(
        np.array_equal(layer(sample, training=False), sample) for layer in model.layers[:3]
    )
    return {"accuracy": accuracy, "augmentations_identity_at_inference": identity}


if __name__ == "__main__":
    main()
