"""``python -m keras_samplepairing compare``: the comparison from the command line.

``--help`` and ``--list`` answer without importing TensorFlow; everything
else is checked (``plan.prepare``) before anything trains, and errors name
the flags.
"""

from __future__ import annotations

import argparse
from typing import Any

from keras_samplepairing.compare.augmentations import BUILT_IN_AUGMENTATIONS, DEFAULT_AUGMENTATION
from keras_samplepairing.compare.grid import DEFAULT_EPOCHS, FACTORS
from keras_samplepairing.compare.models import BUILT_IN_MODELS
from keras_samplepairing.compare.plan import DEFAULT_OUT, DEFAULT_SEEDS
from keras_samplepairing.compare.variants import describe_variants

DESCRIPTION = (
    "Which variant helps? Trains one model per (variant, seed), on your model, augmentation "
    "and recipe, or a grid of recipes, and compares each variant with the baseline."
)
ARGUMENTS = (
    "data",
    "per_class",
    "seeds",
    "epochs",
    "variants",
    "out",
    "batch_size",
    "model",
    "split_layer",
    "feature_layer",
    "augment",
    "shift",
    "optimizer",
    "learning_rate",
    "lr_schedule",
    "lr_floor",
    "lr_steps",
    "lr_step_factor",
    "grid",
    "jobs",
    "threads",
    "shard",
)


def _shares(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be numbers, e.g. 0.5,0.75") from None


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's arguments."""
    p = argparse.ArgumentParser(
        prog=prog or "python -m keras_samplepairing compare",
        description=DESCRIPTION,
        allow_abbrev=False,
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--data",
        default="digits",
        help="digits (default, ships with scikit-learn), fashion-mnist (apt-get install "
        "dataset-fashion-mnist) or a .npz with x_train, y_train, x_test, y_test",
    )
    data.add_argument(
        "--per-class",
        type=int,
        default=None,
        help="train on N images of each class, drawn per seed (the same for every variant at a "
        "seed) (default: all the training images)",
    )
    data.add_argument(
        "--fixed-subset",
        action="store_true",
        help="with --per-class: the first N of each class for every seed (the README's tables)",
    )
    recipe = p.add_argument_group("recipe (the same for every variant)")
    recipe.add_argument(
        "--model",
        default=None,
        help=f"{', '.join(BUILT_IN_MODELS)} or module:function, a function (input_shape, "
        "num_classes) -> keras.Model returning logits (default: compact)",
    )
    recipe.add_argument(
        "--split-layer",
        default=None,
        help="your model's layer after which feature-level variants mix (else they are skipped)",
    )
    recipe.add_argument(
        "--feature-layer",
        default=None,
        help="your model's layer whose output model-feature variants pair by (default: "
        "--split-layer; else they are skipped)",
    )
    recipe.add_argument(
        "--augment",
        default=None,
        help=f"basic augmentation: {', '.join(BUILT_IN_AUGMENTATIONS)} or module:function, a "
        f"factory (seed) -> augment (default: {DEFAULT_AUGMENTATION})",
    )
    recipe.add_argument(
        "--shift",
        type=float,
        default=None,
        help="the augmentation's largest shift, a share of the image side (default: 0.125)",
    )
    recipe.add_argument("--optimizer", default=None, help="adam (default) or sgd")
    recipe.add_argument(
        "--learning-rate", type=float, default=None, help="initial rate (default: 0.002)"
    )
    recipe.add_argument(
        "--lr-schedule",
        default=None,
        help="cosine (default: decay to --lr-floor), constant, or step (x --lr-step-factor at "
        "--lr-steps)",
    )
    recipe.add_argument(
        "--lr-floor",
        type=float,
        default=None,
        help="cosine's final rate, a share of the initial (default: 0)",
    )
    recipe.add_argument(
        "--lr-steps",
        type=_shares,
        default=None,
        help="step schedule: shares of training where the rate drops (default: 0.5,0.75)",
    )
    recipe.add_argument(
        "--lr-step-factor", type=float, default=None, help="step schedule's factor (default: 0.1)"
    )
    recipe.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="training epochs; the test error is read after the last (default: "
        f"{DEFAULT_EPOCHS}; at least 3 under the schedule)",
    )
    recipe.add_argument(
        "--batch-size", type=int, default=None, help="images per batch (default: 32)"
    )
    recipe.add_argument(
        "--no-schedule",
        action="store_true",
        help="mix in every epoch (default: the paper's on/off schedule with warm-up and "
        "fine-tuning, for every mixing variant)",
    )
    what = p.add_argument_group("what to compare")
    what.add_argument(
        "--variants",
        default=None,
        help="comma-separated names, or 'all' (default: the set --list marks)",
    )
    what.add_argument(
        "--grid",
        nargs="+",
        default=None,
        metavar="FACTOR=V1,V2",
        help="a grid of recipes, each cell compared with its own baseline, e.g. "
        f"model=compact,wide augment=pixel-shift,translate; factors: {', '.join(FACTORS)}",
    )
    what.add_argument(
        "--seeds", type=int, default=DEFAULT_SEEDS, help="seeds per variant (default: %(default)s)"
    )
    run = p.add_argument_group("running")
    run.add_argument(
        "--out",
        default=DEFAULT_OUT,
        help="output folder; the runs there with the same settings are resumed "
        "(default: %(default)s)",
    )
    run.add_argument(
        "--jobs", type=int, default=1, help="runs at once on this machine (default: 1)"
    )
    run.add_argument(
        "--threads",
        type=int,
        default=None,
        help="TensorFlow threads per run (default: all cores, divided among --jobs); results "
        "are reproducible for a given number",
    )
    run.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="run the I-th of N shares of the runs (1 <= I <= N), e.g. one per task of a "
        "cluster job array writing to one --out; each shard makes the table from all runs "
        "there",
    )
    run.add_argument("--retry-failed", action="store_true", help="run the runs that failed again")
    run.add_argument(
        "--report",
        action="store_true",
        help="train nothing: make the table from the runs in --out (after all shards finished)",
    )
    p.add_argument("--list", action="store_true", help="list the variants and factors and exit")
    return p


def listing() -> str:
    """``--list``: the variants, models, augmentations and grid factors."""
    return (
        f"{describe_variants()}\n\nmodels: {', '.join(BUILT_IN_MODELS)} or module:function\n"
        f"basic augmentations: {', '.join(BUILT_IN_AUGMENTATIONS)} or module:function\n"
        f"grid factors: {', '.join(FACTORS)}"
    )


def main(argv: list[str] | None = None, prog: str | None = None) -> dict | None:
    """Runs the comparison from command-line arguments (see ``--help``)."""
    p = parser(prog)
    args = p.parse_args(argv)
    if args.list:
        print(listing())
        return None
    from keras_samplepairing.compare.tensorflow_setup import configure_threads, quiet_tensorflow

    quiet_tensorflow()  # before anything imports TensorFlow
    from keras_samplepairing.compare.plan import prepare
    from keras_samplepairing.compare.runner import execute

    values: dict[str, Any] = {name: getattr(args, name) for name in ARGUMENTS}
    try:
        configure_threads(args.threads)  # before anything starts TensorFlow
        plan = prepare(
            schedule=False if args.no_schedule else None,
            fixed_subset=args.fixed_subset,
            retry_failed=args.retry_failed,
            **values,
        )
    except (ValueError, TypeError) as error:
        message = str(error)
        for name in (*ARGUMENTS, "fixed_subset", "retry_failed", "schedule"):
            message = message.replace(f"`{name}`", f"--{name.replace('_', '-')}")
        p.error(message)
    return execute(plan, run=not args.report)
