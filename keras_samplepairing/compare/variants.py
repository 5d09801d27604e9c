"""The named variants: the registry of what each one mixes with what.

Every variant of a comparison trains the same model with the same optimizer,
learning-rate schedule, epochs, basic augmentation (a new seeded instance
per run) and seeds (``training.py``). Only the mixing differs (``pipelines.py``
builds each kind):

- ``whole-set``: partners from the whole training set (``WholeSetPairing``),
  both images augmented independently before mixing (the paper's recipe);
  semantic variants choose them by similarity of pooled pixels, or of the
  features of the model being trained (its penultimate layer, the index
  rebuilt every few epochs and before the first epoch with mixing on);
- ``batch``: partners within each batch (``samplepairing_map`` on the
  augmented batches);
- ``keras``: ``keras.layers.MixUp`` or ``CutMix`` on the augmented batches;
- ``feature-layer``: ``FeatureSamplePairing`` between the encoder and the
  head of the model (after its split layer);
- ``pairing-model``: ``PairingModel`` mixing the encoder's output (or the
  input) and the labels by the same λ.

Every mixing variant is switched by the same on/off schedule (the paper's,
scaled to the run: warm-up and fine-tuning without mixing), unless the
comparison runs without a schedule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_samplepairing.compare.callables import did_you_mean
from keras_samplepairing.compare.data import ComparisonData

if TYPE_CHECKING:
    from keras_samplepairing.compare.models import ModelChoice

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
# Epochs between rebuilds of a model-feature variant's partner index.
REFRESH_EVERY = 5


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
            (300 images, 2 CPU cores: the README's all-variants run); the
            runner's first estimate uses it. A model-feature variant starts
            a new input pipeline each epoch (so a rebuilt index reaches every
            batch of the next epoch, the same way every time): on digits,
            where an epoch is 10 batches, that dominates its cost.
        multichannel: only meaningful for images with several channels.
        refresh: for a whole-set variant paired by the features of the
            model being trained: epochs between rebuilds of its partner
            index (0: features that do not change, e.g. pooled pixels).
    """

    name: str
    description: str
    kind: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    cost: float = 1.0
    multichannel: bool = False
    refresh: int = 0

    def describe(self) -> dict[str, Any]:
        """What the results file records of the variant (resuming compares it)."""
        described: dict[str, Any] = {"kind": self.kind, "options": dict(self.options)}
        if self.refresh:
            described["features"] = {"from": "the model's feature layer", "refresh": self.refresh}
        return described

    @property
    def needs_split(self) -> bool:
        """Whether it mixes inside the model (at its split layer)."""
        return self.kind == "feature-layer" or (
            self.kind == "pairing-model" and self.options.get("mix_at") == "hidden"
        )

    @property
    def shows_pairs(self) -> bool:
        """Whether its partners come from the whole set (a pairs gallery shows them)."""
        return self.kind == "whole-set"

    def skip_reason(self, model: ModelChoice) -> str | None:
        """Why the variant cannot run with ``model`` (None: it can)."""
        if self.needs_split and model.split_layer is None:
            return (
                f"{self.name!r} mixes hidden features at the model's split layer, and the model "
                f"{model.name!r} names none (give --split-layer, split_layer=)"
            )
        if self.refresh and model.feature_layer is None:
            return (
                f"{self.name!r} pairs by the features of the model's feature layer, and the "
                f"model {model.name!r} names none (give --feature-layer or --split-layer)"
            )
        return None

    def cannot_apply(self, data: ComparisonData) -> str | None:
        """Why the variant cannot do what it says on ``data`` (None: it can)."""
        if self.multichannel and data.image_shape[-1] == 1:
            return (
                f"{self.name!r} mixes each channel with its own λ, but {data.name} has one "
                "channel, where it is the same as 'beta'"
            )
        if self.options.get("mixing") == "spatial":
            from keras_samplepairing.ops.options import PairingOptions

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
            cost=1.2,
        ),
        Variant(
            "paper-mix-labels",
            "the paper's pairs with labels mixed by λ (0.5/0.5) instead of the first label",
            "whole-set",
            {"label_mode": "mix"},
            cost=1.0,
        ),
        Variant(
            "batch",
            "SamplePairing within the batch: random partners, λ = 0.5, the first label",
            "batch",
            {},
            cost=1.1,
        ),
        Variant(
            "mixup",
            "keras.layers.MixUp(alpha=0.2) within the batch, labels mixed",
            "keras",
            {"layer": "MixUp", "alpha": 0.2},
            cost=1.1,
        ),
        Variant(
            "cutmix",
            "keras.layers.CutMix(factor=1.0) within the batch, labels mixed by area",
            "keras",
            {"layer": "CutMix", "factor": 1.0},
            cost=1.1,
        ),
    ]
    pairings = {
        "most": ("most_similar", "the most similar by {}"),
        "least": ("least_similar", "the least similar by {}"),
        "sample": ("sample", "drawn by softmax({} similarity)"),
    }
    similarities = {"cosine": "cosine", "euclidean": "Euclidean", "kl": "KL"}
    for source, kind, where, cost in (
        ("set", "whole-set", "whole-set", 1.1),
        ("batch", "batch", "in-batch", 1.1),
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
    for short, (pairing, chosen) in (("most", pairings["most"]), ("sample", pairings["sample"])):
        among = " among its 16 nearest" if pairing == "sample" else ""
        variants.append(
            Variant(
                f"set-{short}-cosine-model",
                f"whole-set partner: {chosen.format('cosine')}{among} (the trained model's "
                f"penultimate features, re-indexed every {REFRESH_EVERY} epochs); λ = 0.5, "
                "first label",
                "whole-set",
                {"pairing": pairing, "similarity": "cosine"},
                cost=5.0,
                refresh=REFRESH_EVERY,
            )
        )
    variants += [
        Variant(
            "beta",
            "whole-set random partners, λ ~ Beta(1, 1) per image, labels mixed by λ",
            "whole-set",
            {"lam": "beta", "alpha": 1.0, "label_mode": "mix"},
            cost=1.1,
        ),
        Variant(
            "lam-similarity",
            "whole-set random partners, λ = 1 - s/2 from their cosine similarity s, first label",
            "whole-set",
            {"lam": "similarity", "similarity": "cosine"},
            cost=1.1,
        ),
        Variant(
            "channel",
            "whole-set random partners, λ ~ Beta(1, 1) per image and channel, labels mixed",
            "whole-set",
            {"lam": "beta", "alpha": 1.0, "mixing": "channel", "label_mode": "mix"},
            cost=1.1,
            multichannel=True,
        ),
        Variant(
            "spatial",
            "whole-set random partners, a smooth 4x4 field of λ ~ Beta(1, 1), labels mixed",
            "whole-set",
            {"lam": "beta", "alpha": 1.0, "mixing": "spatial", "label_mode": "mix"},
            cost=1.2,
        ),
        Variant(
            "feature-layer",
            "FeatureSamplePairing after the first conv block: hidden maps mixed, λ = 0.5, "
            "first label",
            "feature-layer",
            {},
            cost=1.1,
        ),
        Variant(
            "feature-model",
            "PairingModel(mix_at='hidden'): hidden maps and labels mixed, λ ~ Beta(1, 1)",
            "pairing-model",
            {"mix_at": "hidden", "lam": "beta", "alpha": 1.0},
            cost=1.05,
        ),
        Variant(
            "input-model",
            "PairingModel(mix_at='input'): the same with pixels mixed, λ ~ Beta(1, 1)",
            "pairing-model",
            {"mix_at": "input", "lam": "beta", "alpha": 1.0},
            cost=1.05,
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
            guesses = [f"{name!r}{did_you_mean(name, VARIANTS)}" for name in unknown]
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
