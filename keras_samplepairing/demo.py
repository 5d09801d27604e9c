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


def mixed_gallery_batch(
    pairing: WholeSetPairing, labels: np.ndarray, count: int = 8, seed: int | None = None
) -> dict:
    """Examples of what the SamplePairing run trains on, from its own pairing.

    The partner and λ of each example are the ones ``pairing`` draws (its
    ``preview``: the same rules as its pipeline, partners from the whole
    training set); the mix is the paper's pixel-wise ``λ·A + (1 − λ)·B``,
    shown before the 1-pixel shift each image gets on its own.

    Args:
        pairing: the demo's ``WholeSetPairing`` (linear mixing).
        labels: the training labels, in the order of the pairing's images.
        count: how many examples (evenly spaced over the set).
        seed: the draw's seed (default: the pairing's).

    Returns:
        A dict of NumPy arrays, one entry per example: ``"images"`` (A),
        ``"partners"`` (B), ``"mixes"``, ``"labels"`` (A's, the label the
        mix keeps), ``"partner_labels"``, ``"lam"``, ``"paired"``, and the
        indices ``"anchor_ids"`` and ``"partner_ids"``.
    """
    drawn = pairing.preview(count=count, seed=seed)
    images = np.asarray(pairing.images(), np.float32)
    anchors, partners = drawn["anchors"], drawn["partners"]
    lam = drawn["lam"].reshape(-1, 1, 1, 1)
    return {
        "images": images[anchors],
        "partners": images[partners],
        "mixes": lam * images[anchors] + (1.0 - lam) * images[partners],
        "labels": np.asarray(labels)[anchors],
        "partner_labels": np.asarray(labels)[partners],
        "lam": drawn["lam"],
        "paired": drawn["paired"],
        "anchor_ids": anchors,
        "partner_ids": partners,
    }


def plot_gallery(gallery: dict, path: str) -> None:
    """Each example as a column: the image A, its partner B, and their mix,
    titled with the labels, which one the mix keeps, and λ."""
    from matplotlib.figure import Figure  # without pyplot: no global backend change

    count = len(gallery["lam"])
    fig = Figure(figsize=(1.45 * count + 1.2, 5.6), dpi=90, layout="constrained")
    axes = fig.subplots(3, count, squeeze=False)
    for column in range(count):
        kept = gallery["labels"][column]
        rows = [
            (gallery["images"][column], f"label {kept}"),
            (gallery["partners"][column], f"label {gallery['partner_labels'][column]}"),
            (gallery["mixes"][column], f"label {kept}, λ {gallery['lam'][column]:.2f}"),
        ]
        if not gallery["paired"][column]:
            rows[1] = (None, "not paired")
        for row, (image, title) in enumerate(rows):
            ax = axes[row, column]
            ax.set_xticks([])
            ax.set_yticks([])
            if image is not None:
                ax.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=255.0, interpolation="nearest")
            ax.set_title(title, fontsize=10)
    axes[0, 0].set_ylabel("image A\n(label kept)", fontsize=10)
    axes[1, 0].set_ylabel("partner B\n(label dropped)", fontsize=10)
    axes[2, 0].set_ylabel("mix\nλ·A + (1−λ)·B", fontsize=10)
    fig.suptitle(
        "SamplePairing on digits: each training image A is averaged with a partner B drawn "
        "from the whole training set,\nand the mix keeps A's label (the paper's rule). Before "
        "mixing, A and B are each shifted by up to 1 pixel (not shown).",
        fontsize=11,
    )
    fig.savefig(path, dpi=90, facecolor="white")


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
    # All 360 validation digits in one batch: a smaller last batch would
    # compile the jit-compiled evaluation step a second time.
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(len(x_val))
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
    plot_gallery(mixed_gallery_batch(pairing, y_train), paths["gallery"])
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
