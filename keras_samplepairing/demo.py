"""The main demo: the paper's recipe on scikit-learn's digits, against a baseline.

Trains the same small CNN twice on the digits that ship with scikit-learn
(no download): once with basic augmentation only, once with SamplePairing
added the way the paper does it (partners from the whole training set, both
images augmented independently, λ = 0.5, the first label, an on/off
schedule with warm-up and fine-tuning). It prints a table of validation
accuracy and writes an exported SavedModel, a gallery of mixed training
images and the two validation curves into the output folder.

The network (the comparison's ``compact`` CNN) and the basic augmentation
(the comparison's default) are the comparison runner's own, from
``keras_samplepairing.compare``: the demo shows one run of what the
comparison measures over seeds.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_samplepairing import SamplePairingSchedule, WholeSetPairing
from keras_samplepairing.compare.augmentations import (
    DEFAULT_AUGMENTATION,
    basic_augmentation,
    describe_augmentation,
)
from keras_samplepairing.compare.datasets import load_digits_split
from keras_samplepairing.compare.models import build_model as comparison_model
from keras_samplepairing.compare.training import scaled_schedule

__all__ = ["build_model", "main", "run"]


def build_model() -> keras.Model:
    """The demo's CNN, the comparison's ``compact`` one: float32 ``images``
    (B, 8, 8, 1) in [0, 255] to 10 logits."""
    return comparison_model("compact", (8, 8, 1), 10, (0.0, 255.0))


def _compile(model: keras.Model) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=True,
    )


def plot_curves(histories: dict, schedule_log: list, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for epoch, state in enumerate(schedule_log):
        if state:
            ax.axvspan(epoch + 0.5, epoch + 1.5, color="tab:orange", alpha=0.15, lw=0)
    for name, history in histories.items():
        accuracy = history["val_accuracy"]
        ax.plot(range(1, len(accuracy) + 1), accuracy, marker=".", label=name)
    ax.set_xlabel("epoch (shaded: SamplePairing on)")
    ax.set_ylabel("validation accuracy")
    ax.set_title("Digits: baseline vs SamplePairing recipe")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def mixed_gallery_batch(images: np.ndarray, labels: np.ndarray, seed: int, count: int = 16):
    """A batch mixed as in training, with each image's label, its partner's
    label and λ, read from labels mixed over one class per image."""
    size = len(images)
    shown = WholeSetPairing(
        {"images": images, "labels": np.arange(size), "ids": np.arange(size)},
        seed=seed,
        label_mode="mix",
        num_classes=size,
        passthrough_keys=("ids",),
    )
    element = next(iter(shown.dataset(count)))
    ids, weights = element["ids"].numpy(), element["labels"].numpy()
    lam = weights[np.arange(count), ids]
    partners = np.argmax(np.where(np.eye(size, dtype=bool)[ids], -1.0, weights), axis=1)
    titles = [
        f"{labels[a]} + {labels[p]}, λ {w:.2f}" for a, p, w in zip(ids, partners, lam, strict=True)
    ]
    return element["images"].numpy(), titles


def plot_gallery(images: np.ndarray, titles: list[str], path: str) -> None:
    """Mixed images titled with the kept label, the partner's, and λ."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keras.visualization.plot_image_gallery(
        images,
        y_true=np.arange(len(titles)),
        label_map=dict(enumerate(titles)),
        rows=2,
        cols=len(titles) // 2,
        value_range=(0, 255),
        scale=1.6,
        path=path,
        transparent=False,
        dpi=90,
    )
    plt.close("all")


def run(
    epochs: int = 60,
    subset: int | None = 500,
    seed: int = 0,
    out: str = "saved_models",
    batch_size: int = 32,
    verbose: Any = "auto",
) -> dict:
    """Trains baseline and SamplePairing models; returns accuracies and paths."""
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_val, y_val) = load_digits_split(subset, seed)
    train = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256)
    augment = basic_augmentation(seed)
    os.makedirs(out, exist_ok=True)

    print(f"\nBasic augmentation for both runs: {describe_augmentation(DEFAULT_AUGMENTATION)}.")
    print(f"\n== baseline: basic augmentation only ({len(x_train)} training images)")
    baseline = build_model()
    _compile(baseline)
    plain = train.shuffle(len(x_train), seed=seed).batch(batch_size).map(augment)
    # shuffle=False: the dataset is shuffled already (Keras would warn it ignores True).
    base_history = baseline.fit(
        plain, validation_data=val, epochs=epochs, verbose=verbose, shuffle=False
    )

    steps = scaled_schedule(epochs)
    print(f"\n== SamplePairing, the paper's recipe scaled to {epochs} epochs: {steps}")
    keras.utils.set_random_seed(seed)
    # Partners from the whole training set, λ = 0.5, the first image's label;
    # the image and its partner are shifted independently.
    pairing = WholeSetPairing((x_train, y_train), seed=seed)
    paired = pairing.dataset(batch_size, augment=basic_augmentation(seed))
    model = build_model()
    _compile(model)
    schedule = SamplePairingSchedule(targets=[pairing], **steps)
    sp_history = model.fit(
        paired,
        validation_data=val,
        epochs=epochs,
        callbacks=[schedule],
        verbose=verbose,
        shuffle=False,
    )

    histories = {"baseline": base_history.history, "SamplePairing": sp_history.history}
    results = {
        name: {
            "final": history["val_accuracy"][-1],
            "best": max(history["val_accuracy"]),
        }
        for name, history in histories.items()
    }
    print("\n| run | final val accuracy | best val accuracy |\n| --- | ---: | ---: |")
    for name, row in results.items():
        print(f"| {name} | {row['final']:.4f} | {row['best']:.4f} |")

    paths = {
        "saved_model": os.path.join(out, "samplepairing_digits"),
        "gallery": os.path.join(out, "mixed_training_images.png"),
        "curves": os.path.join(out, "validation_curves.png"),
    }
    model.export(paths["saved_model"], verbose=False)
    plot_gallery(*mixed_gallery_batch(x_train, y_train, seed), paths["gallery"])
    plot_curves(histories, sp_history.history["samplepairing"], paths["curves"])
    print()
    for name, path in paths.items():
        print(f"{name:12s} {path}")
    return {"results": results, "paths": paths, "histories": histories}


def main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    """Runs the demo from command-line arguments (see ``--help``)."""
    parser = argparse.ArgumentParser(
        prog=prog or "python -m keras_samplepairing demo",
        description=__doc__.splitlines()[0],
        allow_abbrev=False,
    )
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument(
        "--subset",
        type=int,
        default=500,
        help="training images to use (0: all 1437); the gain is largest on small sets",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="saved_models", help="output folder")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    if args.epochs < 3:
        parser.error("--epochs must be >= 3 (warm-up, pairing and fine-tuning)")
    return run(args.epochs, args.subset or None, args.seed, args.out, args.batch_size)
