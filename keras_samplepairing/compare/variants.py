"""The named variants: what each one mixes with what, and how it is trained.

Every variant trains the same CNN (``model.py``) with the same optimizer,
learning-rate schedule, epochs, basic augmentation (a seeded random shift, a
new layer per run) and seeds. Only the mixing differs:

- ``whole-set``: partners from the whole training set (``WholeSetPairing``),
  both images shifted independently before mixing (the paper's recipe);
- ``batch``: partners within each batch (``samplepairing_map`` on the
  shifted batches);
- ``keras``: ``keras.layers.MixUp`` or ``CutMix`` on the shifted batches;
- ``feature-layer``: ``FeatureSamplePairing`` between the encoder and the
  head of the CNN;
- ``pairing-model``: ``PairingModel`` mixing the encoder's output (or the
  input) and the labels by the same λ.

Every mixing variant is switched by the same on/off schedule (the paper's,
scaled to the run: warm-up and fine-tuning without mixing), unless the
comparison runs without a schedule.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from keras_samplepairing.compare.data import ComparisonData
from keras_samplepairing.compare.model import (
    TrainConfig,
    build_model,
    build_parts,
    compile_model,
)
from keras_samplepairing.ops.options import PairingOptions

KINDS = ("none", "whole-set", "batch", "keras", "feature-layer", "pairing-model")
# The default comparison: sized so that digits with --per-class 30 and 5
# seeds takes well under an hour on 2 CPU cores (see the runner's estimate).
DEFAULT_VARIANTS = (
    "baseline",
    "paper",
    "batch",
    "mixup",
    "cutmix",
    "set-most-cosine",
    "set-sample-cosine",
    "beta",
)
BASELINE = "baseline"


@dataclasses.dataclass(frozen=True)
class Variant:
    """One named way of training.

    Attributes:
        name: short, lowercase, hyphenated.
        description: one line.
        kind: how it enters the training (one of ``KINDS``).
        options: the pairing options (``SamplePairing``'s names), or the Keras
            layer's arguments for ``kind="keras"`` (plus ``"layer"``), or
            ``PairingModel``'s for ``"pairing-model"`` (plus ``"mix_at"``).
        cost: time per epoch relative to the baseline, measured on digits
            (300 images, 2 CPU cores); the runner's first estimate uses it.
        multichannel: only meaningful for images with several channels.
    """

    name: str
    description: str
    kind: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    cost: float = 1.0
    multichannel: bool = False

    def describe(self) -> dict[str, Any]:
        """What the results file records of the variant (resuming compares it)."""
        return {"kind": self.kind, "options": dict(self.options)}

    def cannot_apply(self, data: ComparisonData) -> str | None:
        """Why the variant cannot do what it says on ``data`` (None: it can)."""
        if self.multichannel and data.image_shape[-1] == 1:
            return (
                f"{self.name!r} mixes each channel with its own λ, but {data.name} has one "
                "channel, where it is the same as 'beta'"
            )
        if self.options.get("mixing") == "spatial":
            grid = self.options.get("grid_size", PairingOptions().grid_size)
            if min(data.image_shape[:2]) < grid:
                return (
                    f"{self.name!r} draws a {grid}x{grid} field of λ, larger than "
                    f"{data.name}'s {data.image_shape[0]}x{data.image_shape[1]} images"
                )
        if self.options.get("class_constraint") == "same":
            counts = np.bincount(data.y_train, minlength=data.num_classes)
            lonely = [k for k, count in enumerate(counts) if count == 1]
            if lonely:
                return (
                    f"{self.name!r} pairs within a class, but class {lonely[0]} has one training "
                    "image, which would never be paired"
                )
        return None

    @property
    def mixes(self) -> bool:
        """Whether it mixes at all (the schedule applies to those that do)."""
        return self.kind != "none"


def _registry() -> dict[str, Variant]:
    variants = [
        Variant(BASELINE, "no pairing: the basic augmentation (random shift) only", "none"),
        Variant(
            "paper",
            "the paper: whole-set random partners, λ = 0.5, the first image's label",
            "whole-set",
            {},
            cost=3.3,
        ),
        Variant(
            "paper-mix-labels",
            "the paper's pairs with labels mixed by λ (0.5/0.5) instead of the first label",
            "whole-set",
            {"label_mode": "mix"},
            cost=3.3,
        ),
        Variant(
            "batch",
            "SamplePairing within the batch: random partners, λ = 0.5, the first label",
            "batch",
            {},
            cost=2.3,
        ),
        Variant(
            "mixup",
            "keras.layers.MixUp(alpha=0.2) within the batch, labels mixed",
            "keras",
            {"layer": "MixUp", "alpha": 0.2},
            cost=2.1,
        ),
        Variant(
            "cutmix",
            "keras.layers.CutMix(factor=1.0) within the batch, labels mixed by area",
            "keras",
            {"layer": "CutMix", "factor": 1.0},
            cost=2.8,
        ),
    ]
    pairings = {
        "most": ("most_similar", "the most similar by {}"),
        "least": ("least_similar", "the least similar by {}"),
        "sample": ("sample", "drawn by softmax({} similarity)"),
    }
    similarities = {"cosine": "cosine", "euclidean": "Euclidean", "kl": "KL"}
    for source, kind, where, cost in (
        ("set", "whole-set", "whole-set", 3.4),
        ("batch", "batch", "in-batch", 2.4),
    ):
        for short, (pairing, chosen) in pairings.items():
            among = " among its 16 nearest" if pairing == "sample" and source == "set" else ""
            for similarity, shown in similarities.items():
                variants.append(
                    Variant(
                        f"{source}-{short}-{similarity}",
                        f"{where} partner: {chosen.format(shown)}{among} (pooled pixels); "
                        "λ = 0.5, first label",
                        kind,
                        {"pairing": pairing, "similarity": similarity},
                        cost=cost,
                    )
                )
        for constraint, shown in (("same", "the same class"), ("different", "another class")):
            variants.append(
                Variant(
                    f"{source}-{constraint}-class",
                    f"{where} random partner of {shown}; λ = 0.5, first label",
                    kind,
                    {"class_constraint": constraint},
                    cost=cost,
                )
            )
    variants += [
        Variant(
            "beta",
            "whole-set random partners, λ ~ Beta(1, 1) per image, labels mixed by λ",
            "whole-set",
            {"lam": "beta", "alpha": 1.0, "label_mode": "mix"},
            cost=4.8,
        ),
        Variant(
            "lam-similarity",
            "whole-set random partners, λ = 1 - s/2 from their cosine similarity s, first label",
            "whole-set",
            {"lam": "similarity", "similarity": "cosine"},
            cost=3.4,
        ),
        Variant(
            "channel",
            "whole-set random partners, λ ~ Beta(1, 1) per image and channel, labels mixed",
            "whole-set",
            {"lam": "beta", "alpha": 1.0, "mixing": "channel", "label_mode": "mix"},
            cost=4.8,
            multichannel=True,
        ),
        Variant(
            "spatial",
            "whole-set random partners, a smooth 4x4 field of λ ~ Beta(1, 1), labels mixed",
            "whole-set",
            {"lam": "beta", "alpha": 1.0, "mixing": "spatial", "label_mode": "mix"},
            cost=5.0,
        ),
        Variant(
            "feature-layer",
            "FeatureSamplePairing after the first conv block: hidden maps mixed, λ = 0.5, "
            "first label",
            "feature-layer",
            {},
            cost=1.2,
        ),
        Variant(
            "feature-model",
            "PairingModel(mix_at='hidden'): hidden maps and labels mixed, λ ~ Beta(1, 1)",
            "pairing-model",
            {"mix_at": "hidden", "lam": "beta", "alpha": 1.0},
            cost=1.2,
        ),
        Variant(
            "input-model",
            "PairingModel(mix_at='input'): the same with pixels mixed, λ ~ Beta(1, 1)",
            "pairing-model",
            {"mix_at": "input", "lam": "beta", "alpha": 1.0},
            cost=1.2,
        ),
    ]
    return {variant.name: variant for variant in variants}


VARIANTS: dict[str, Variant] = _registry()


def select_variants(
    names: str | list[str] | tuple[str, ...] | None, data: ComparisonData | None = None
) -> list[Variant]:
    """The variants to run, the baseline first.

    Args:
        names: None (the default set), ``"all"``, a comma-separated string
            or a list of names. The baseline is added when missing: every
            other variant is compared with it.
        data: the data to run on: with ``"all"``, variants that cannot apply
            to it (channel mixing on one-channel images, same-class pairing
            with a class of one image) are left out; named explicitly, they
            raise.

    Raises:
        ValueError: an unknown or repeated name, or a variant that cannot
            apply to the data.
    """
    if names is None:
        chosen = list(DEFAULT_VARIANTS)
    elif isinstance(names, str) and names.strip() == "all":
        chosen = [
            name
            for name, variant in VARIANTS.items()
            if data is None or variant.cannot_apply(data) is None
        ]
    else:
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",") if name.strip()]
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise TypeError(f"`variants` must be None, 'all', or names, got {names!r}.")
        if not names:
            raise ValueError("`variants` is empty; name at least one (see --list).")
        unknown = [name for name in names if name not in VARIANTS]
        if unknown:
            guesses = []
            for name in unknown:
                close = difflib.get_close_matches(name.lower(), VARIANTS, n=1, cutoff=0.6)
                guesses.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ValueError(
                f"`variants`: unknown variant{'s' if len(guesses) > 1 else ''} "
                f"{', '.join(guesses)}; --list shows the "
                f"{len(VARIANTS)} names (or use 'all')."
            )
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"`variants`: {', '.join(map(repr, repeated))} named twice.")
        chosen = list(names)
    if BASELINE not in chosen:
        chosen.insert(0, BASELINE)
    chosen.sort(key=lambda name: name != BASELINE)  # stable: the baseline first
    variants = [VARIANTS[name] for name in chosen]
    if data is not None:
        for variant in variants:
            reason = variant.cannot_apply(data)
            if reason is not None:
                raise ValueError(f"`variants`: {reason}.")
    return variants


def describe_variants() -> str:
    """One line per variant (name, description), the default set marked."""
    width = max(map(len, VARIANTS))
    lines = []
    for name, variant in VARIANTS.items():
        mark = "*" if name in DEFAULT_VARIANTS else " "
        lines.append(f"{mark} {name:{width}s}  {variant.description}")
    lines.append("(* the default set; --variants all runs them all)")
    return "\n".join(lines)


# Building one run.


@dataclasses.dataclass
class TrainingSetup:
    """One run's model, training data and schedule targets.

    Attributes:
        model: the compiled model.
        train: the batched training dataset, endless (a fresh epoch each
            ``steps_per_epoch`` batches): Keras keeps one iterator for the
            whole fit instead of starting a new one each epoch.
        targets: what ``SamplePairingSchedule`` switches (empty: no mixing).
    """

    model: keras.Model
    train: Any
    targets: list


class ScheduledKerasMix:
    """``keras.layers.MixUp``/``CutMix`` on a batched dataset, switchable like
    ``samplepairing_map``: ``SamplePairingSchedule`` drives its ``enabled``
    switch and its ``clock``, and each batch (from ``Dataset.enumerate()``)
    is mixed or not by the schedule's state at the step it is trained at,
    however far prefetching runs ahead.

    Args:
        layer: the Keras layer, taking and returning ``{"images", "labels"}``.
    """

    def __init__(self, layer: keras.layers.Layer) -> None:
        from keras_samplepairing.engine.clock import ScheduleClock
        from keras_samplepairing.engine.state import Switch

        self.layer = layer
        self.enabled = Switch()
        self.clock = ScheduleClock()

    def __call__(self, index: Any, images: Any, labels: Any) -> tuple:
        import tensorflow as tf

        on = tf.logical_and(
            tf.convert_to_tensor(self.enabled.tensorflow_variable()), self.clock.enabled(index)
        )

        def mixed() -> tuple:
            out = self.layer({"images": images, "labels": labels})
            return tf.cast(out["images"], images.dtype), tf.cast(out["labels"], labels.dtype)

        return tf.cond(on, mixed, lambda: (images, labels))


def basic_augmentation(seed: int, shift: float) -> Any:
    """A seeded random shift of each image (a new layer per run), applied to
    batches in order, so the same seed shifts the same way in every run."""
    layer = keras.layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed)

    def augment(images: Any, labels: Any) -> tuple:
        return layer(images), labels

    return augment


def build_training(
    variant: Variant,
    data: ComparisonData,
    seed: int,
    config: TrainConfig,
    cache: dict | None = None,
) -> TrainingSetup:
    """Builds one run: the model (compiled) and the training pipeline.

    Call ``keras.utils.set_random_seed(seed)`` first: the model's initial
    weights come from it.

    Args:
        variant: what to mix.
        data: the comparison's data.
        seed: the run's seed (pairing, augmentation, shuffling).
        config: the shared training settings.
        cache: per-variant objects that do not depend on the seed (the
            whole-set partner index), reused across its seeds.
    """
    import tensorflow as tf

    cache = {} if cache is None else cache
    k = data.num_classes
    shape, value_range = data.image_shape, data.value_range
    augment = basic_augmentation(seed, config.shift)
    pairing_options = dict(variant.options)
    if variant.kind in ("whole-set", "batch"):
        pairing_options.setdefault("num_classes", k)
        pairing_options.setdefault("value_range", value_range)

    def plain_batches() -> Any:
        return (
            tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train))
            .shuffle(len(data.x_train), seed=seed, reshuffle_each_iteration=True)
            .batch(config.batch_size)
            .map(augment)  # in order: the seeded layer repeats itself
            .repeat()  # reshuffled each epoch; enumerate after it counts steps
        )

    def one_hot(images: Any, labels: Any) -> tuple:
        if labels.shape.rank == 1:
            labels = tf.one_hot(labels, k, dtype=tf.float32)
        return images, labels

    targets: list = []
    model: keras.Model
    if variant.kind == "whole-set":
        from keras_samplepairing.data import WholeSetPairing

        index = cache.get("index")
        pairing = WholeSetPairing(
            (data.x_train, data.y_train), seed=seed, index=index, **pairing_options
        )
        if pairing.index is not None:
            cache["index"] = pairing.index
        train = pairing.dataset(config.batch_size, augment=augment, repeat=True)
        targets = [pairing]
        model = build_model(shape, k, value_range)
    elif variant.kind == "batch":
        from keras_samplepairing.data import samplepairing_map

        pair = samplepairing_map(seed=seed, **pairing_options)
        train = plain_batches().enumerate().map(pair, num_parallel_calls=tf.data.AUTOTUNE)
        targets = [pair]
        model = build_model(shape, k, value_range)
    elif variant.kind == "keras":
        options = dict(variant.options)
        layer_class = getattr(keras.layers, options.pop("layer"))
        mix = ScheduledKerasMix(layer_class(seed=seed, **options))
        train = (
            plain_batches()
            .map(one_hot)
            .enumerate()
            .map(lambda i, element: mix(i, *element))  # in order: the seeded layer
        )
        targets = [mix]
        model = build_model(shape, k, value_range)
    elif variant.kind == "feature-layer":
        from keras_samplepairing.layers import FeatureSamplePairing

        layer = FeatureSamplePairing(seed=seed, **pairing_options)
        train = plain_batches()
        targets = [layer]
        model = build_model(shape, k, value_range, hidden_layer=layer)
    elif variant.kind == "pairing-model":
        from keras_samplepairing.models import PairingModel

        encoder, head = build_parts(shape, k, value_range)
        model = PairingModel(encoder, head, seed=seed, num_classes=k, **pairing_options)
        targets = [model]
        train = plain_batches()  # integer labels: the model one-hot encodes them
    elif variant.kind == "none":
        train = plain_batches()
        model = build_model(shape, k, value_range)
    else:
        raise ValueError(f"Variant {variant.name!r} has an unknown kind {variant.kind!r}.")
    if variant.kind != "pairing-model":
        train = train.map(one_hot)
    compile_model(model, config, len(data.x_train))
    return TrainingSetup(model, train.prefetch(tf.data.AUTOTUNE), targets)


def error_on_test_set(model: keras.Model, data: ComparisonData) -> float:
    """The share of test images misclassified (the model at inference: no mixing)."""
    # Eager calls, not model.predict: predict traces a function per model, and
    # a comparison builds dozens of models in one process.
    predictions = [
        np.argmax(keras.ops.convert_to_numpy(model(data.x_test[i : i + 512], training=False)), -1)
        for i in range(0, len(data.x_test), 512)
    ]
    return float(np.mean(np.concatenate(predictions) != data.y_test))
