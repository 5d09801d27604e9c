"""A grid of recipes: the factors it can vary, and its cells.

A grid varies some of a comparison's recipe settings (``FACTORS``): each
combination of their values is a *cell*, a comparison of its own with its
own baseline. ``compare --grid model=compact,wide augment=pixel-shift,translate``
has four cells.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from keras_samplepairing.compare.callables import callable_name, did_you_mean
from keras_samplepairing.compare.data import ComparisonData, check_per_class, take_per_class

DEFAULT_EPOCHS = 60
LOSS = "categorical cross-entropy on logits"


@dataclasses.dataclass(frozen=True)
class Factor:
    """A recipe setting a grid can vary.

    Attributes:
        name: the grid's name (``model``), also the CLI flag's (``--model``).
        argument: ``compare``'s argument and ``TrainConfig``'s field.
        parse: the CLI text to a value.
        paths: the settings (dotted paths in a cell's settings) it changes.
    """

    name: str
    argument: str
    parse: Callable[[str], Any]
    paths: tuple[str, ...]


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split("/"))


FACTORS: dict[str, Factor] = {
    factor.name: factor
    for factor in (
        Factor("model", "model", str, ("training.model", "model")),
        Factor("augment", "augment", str, ("training.augment",)),
        Factor("optimizer", "optimizer", str, ("training.optimizer", "optimizer")),
        Factor("learning-rate", "learning_rate", float, ("training.learning_rate",)),
        Factor("lr-schedule", "lr_schedule", str, ("training.lr_schedule", "optimizer")),
        Factor("lr-floor", "lr_floor", float, ("training.lr_floor", "optimizer")),
        Factor("lr-steps", "lr_steps", _floats, ("training.lr_steps", "optimizer")),
        Factor("epochs", "epochs", int, ("training.epochs", "schedule")),
        Factor("batch-size", "batch_size", int, ("training.batch_size",)),
        Factor("shift", "shift", float, ("training.shift", "training.augment")),
        Factor(
            "per-class",
            "per_class",
            int,
            ("per_class", "data.train_images", "data.fingerprint", "subset"),
        ),
    )
}
# The recipe's arguments and their defaults when neither given nor varied.
RECIPE_DEFAULTS: dict[str, Any] = {
    "model": "compact",
    "augment": None,  # augmentations.DEFAULT_AUGMENTATION
    "optimizer": "adam",
    "learning_rate": 2e-3,
    "lr_schedule": "cosine",
    "lr_floor": 0.0,
    "lr_steps": (0.5, 0.75),
    "lr_step_factor": 0.1,
    "epochs": DEFAULT_EPOCHS,
    "batch_size": 32,
    "shift": None,  # augmentations.DEFAULT_SHIFT
    "per_class": None,
    "schedule": True,
}


@dataclasses.dataclass
class Cell:
    """One recipe of a comparison.

    Attributes:
        label: ``""`` for a comparison without a grid, else the grid's
            values, ``model=wide, augment=pixel-shift``.
        factors: the grid's values by factor name, as shown.
        config: the training settings (a ``TrainConfig``).
        per_class: the training subset's images per class (None: all).
    """

    label: str
    factors: dict[str, str]
    config: Any
    per_class: int | None

    @property
    def slug(self) -> str:
        """The label as a file-name part (``model-wide_augment-pixel-shift``)."""
        parts = [f"{name}-{value}" for name, value in self.factors.items()]
        return re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(parts)).strip("-") or "all"


def parse_grid(items: Sequence[str] | Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """The grid as factor -> values, from ``["model=compact,wide", ...]`` or a dict.

    Raises:
        ValueError: an unknown factor (with a guess), a factor named twice,
            no values, or a value named twice.
    """
    if items is None:
        return {}
    grid: dict[str, list[Any]] = {}
    if isinstance(items, Mapping):
        pairs = [(str(name).replace("_", "-"), values) for name, values in items.items()]
    else:
        if isinstance(items, str):
            items = items.split()
        pairs = []
        for item in items:
            name, equals, text = str(item).partition("=")
            if not equals:
                raise ValueError(f"`grid`: {item!r} must be factor=value,value,...")
            pairs.append((name.strip(), [v.strip() for v in text.split(",") if v.strip()]))
    for name, values in pairs:
        if name not in FACTORS:
            raise ValueError(
                f"`grid`: unknown factor {name!r}{did_you_mean(name, FACTORS)}; the factors: "
                f"{', '.join(FACTORS)}."
            )
        if name in grid:
            raise ValueError(f"`grid`: the factor {name!r} is named twice.")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            values = [values]
        values = list(values)
        if not values:
            raise ValueError(f"`grid`: {name}= has no values.")
        factor = FACTORS[name]
        parsed = []
        for value in values:
            if isinstance(value, str) and factor.parse is not str:
                try:
                    value = factor.parse(value)
                except ValueError as error:
                    raise ValueError(f"`grid`: {name}={value!r} is not a number.") from error
            parsed.append(value)
        shown = [show_value(value) for value in parsed]
        if len(set(shown)) < len(shown):
            raise ValueError(f"`grid`: {name}= names a value twice ({', '.join(shown)}).")
        grid[name] = parsed
    return grid


def show_value(value: Any) -> str:
    """A factor's value as a cell's label shows it."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return "/".join(show_value(v) for v in value)
    if callable(value):
        return callable_name(value)
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else str(value)


def expand_cells(
    recipe: dict[str, Any],
    grid: dict[str, list[Any]],
    split_layer: str | None,
    feature_layer: str | None,
) -> list[Cell]:
    """The cells: every combination of the grid's values over the recipe.

    Raises:
        ValueError, TypeError: a bad value, naming the grid's factor.
    """
    from keras_samplepairing.compare.models import model_choice
    from keras_samplepairing.compare.training import TrainConfig

    cells = []
    for values in itertools.product(*grid.values()) if grid else [()]:
        factors = dict(zip(grid, values, strict=True))
        settings = dict(recipe)
        for name, value in factors.items():
            settings[FACTORS[name].argument] = value
        label = ", ".join(f"{name}={show_value(value)}" for name, value in factors.items())
        where = f"`grid` {label}: " if grid else ""
        try:
            per_class = check_per_class(settings.pop("per_class"))
            model = model_choice(settings.pop("model"), split_layer, feature_layer)
            config = TrainConfig(model=model, **settings)
        except (ValueError, TypeError) as error:
            raise type(error)(f"{where}{error}") from error
        shown = {name: show_value(value) for name, value in factors.items()}
        cells.append(Cell(label, shown, config, per_class))
    return cells


def without_factors(settings: dict, factors: Sequence[str]) -> dict:
    """``settings`` less what the grid's factors change (what all cells share)."""
    shared = copy.deepcopy(settings)
    for name in factors:
        for path in FACTORS[name].paths:
            *parents, key = path.split(".")
            place = shared
            for parent in parents:
                place = place.get(parent, {})
            place.pop(key, None)
    return shared


def cell_settings(plan_data: ComparisonData, cell: Cell, fixed: bool, model: str) -> dict:
    """What the results file records of a cell (resuming compares it).

    Args:
        plan_data: the whole split.
        cell: the cell.
        fixed: whether the subset is fixed.
        model: the model's architecture in one line.
    """
    from keras_samplepairing.compare.training import describe_optimizer, scaled_schedule

    config, per_class = cell.config, cell.per_class
    if per_class is None or fixed:
        described = (
            plan_data if per_class is None else take_per_class(plan_data, per_class)
        ).describe()
    else:
        described = plan_data.describe()  # the whole split's fingerprint
        described["train_images"] = per_class * plan_data.num_classes
    if per_class is None:
        subset = None
    elif fixed:
        subset = f"the first {per_class} of each class"
    else:
        subset = f"{per_class} of each class, drawn per seed"
    return {
        "data": described,
        "per_class": per_class,
        "subset": subset,
        "training": config.describe(plan_data.image_shape),
        "schedule": scaled_schedule(config.epochs) if config.schedule else None,
        "model": model,
        "optimizer": describe_optimizer(config),
        "loss": LOSS,
    }
