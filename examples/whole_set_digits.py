"""The paper's recipe with semantic partners from the whole training set, on digits.

Builds a partner index over the training digits (their pooled pixels, or the
features of the model being trained, refreshed as it learns), reports how
often each image is chosen as a partner (farthest neighbours pile onto a
few outliers: hubness), then trains a small CNN with the paper's on/off
schedule and partners drawn from the index. The index is saved, and a
later run with ``--index`` reuses it (a stale one is refused).

    python examples/whole_set_digits.py --pairing sample --similarity cosine --epochs 30
    python examples/whole_set_digits.py --pairing most_similar --refresh-every 5
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_samplepairing import (  # noqa: E402
    PartnerIndex,
    PartnerIndexRefresh,
    SamplePairingSchedule,
    WholeSetPairing,
    truncated_model,
)
from keras_samplepairing.compare.augmentations import basic_augmentation  # noqa: E402
from keras_samplepairing.compare.datasets import load_digits_split  # noqa: E402
from keras_samplepairing.compare.training import scaled_schedule  # noqa: E402


def build_model() -> keras.Model:
    inputs = keras.Input((8, 8, 1), name="images")
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, keras.layers.Dense(10)(x))


def hubness(index: PartnerIndex) -> dict:
    """How often each image is the first neighbour of another."""
    chosen = np.bincount(index.neighbours[:, 0][index.neighbours[:, 0] >= 0], minlength=index.size)
    return {"never_chosen": float(np.mean(chosen == 0)), "most_chosen": int(chosen.max())}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument(
        "--pairing", default="sample", choices=["most_similar", "least_similar", "sample"]
    )
    parser.add_argument("--similarity", default="cosine", choices=["cosine", "euclidean", "kl"])
    parser.add_argument("--class-constraint", default="any", choices=["any", "same", "different"])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--subset", type=int, default=500, help="training images (0: all)")
    parser.add_argument("--refresh-every", type=int, default=0, help="epochs; 0: pooled pixels")
    parser.add_argument("--index", help="a saved index to reuse (.npz)")
    parser.add_argument("--out", default="saved_models")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 3:
        parser.error("--epochs must be >= 3 (warm-up, pairing and fine-tuning)")

    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_val, y_val) = load_digits_split(args.subset or None, args.seed)
    model = build_model()
    options = {
        "pairing": args.pairing,
        "similarity": args.similarity,
        "class_constraint": args.class_constraint,
    }
    if args.refresh_every:
        # The model's own pooled features, sharing its weights as it trains.
        options["features"] = truncated_model(model, "pool")
    index = PartnerIndex.load(args.index) if args.index else None
    pairing = WholeSetPairing((x_train, y_train), seed=args.seed, index=index, **options)
    stats = hubness(pairing.index)
    print(
        f"partner index: {pairing.index.size} images, k={pairing.index.k}, "
        f"{stats['never_chosen']:.0%} never a first neighbour, the most chosen "
        f"{stats['most_chosen']} times"
    )
    os.makedirs(args.out, exist_ok=True)
    index_path = os.path.join(args.out, "digits_partner_index.npz")
    pairing.index.save(index_path)

    model.compile(
        keras.optimizers.Adam(2e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=True,
    )
    callbacks = [SamplePairingSchedule(targets=[pairing], **scaled_schedule(args.epochs))]
    if args.refresh_every:
        callbacks.append(PartnerIndexRefresh(pairing, every=args.refresh_every))
    train = pairing.dataset(32, augment=basic_augmentation(args.seed))
    # Validation in one batch: a smaller last batch would compile the
    # jit-compiled evaluation step a second time.
    history = model.fit(
        train,
        validation_data=(x_val, y_val),
        validation_batch_size=len(x_val),
        epochs=args.epochs,
        callbacks=callbacks,
        verbose=2,
    )
    accuracy = history.history["val_accuracy"][-1]
    print(f"final validation accuracy: {accuracy:.4f}\nindex: {index_path}")
    return {"accuracy": accuracy, "hubness": stats, "index": index_path, "history": history.history}


if __name__ == "__main__":
    main()
