"""How every run of a comparison trains: the settings, the optimizer and
learning-rate schedule, and the paper's on/off schedule scaled to the run.

Every variant of a comparison (of one cell of a grid) trains with the same
``TrainConfig``: the same model, basic augmentation, optimizer, learning-rate
schedule, epochs and batch size. The defaults are the README's tables'
recipe: the compact CNN, a random sub-pixel translation, Adam at 0.002 with
a cosine decay to 0 over all steps.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

from keras_samplepairing.compare.arguments import count, flag, number
from keras_samplepairing.compare.augmentations import (
    DEFAULT_AUGMENTATION,
    DEFAULT_SHIFT,
    AugmentChoice,
    augment_choice,
)
from keras_samplepairing.compare.models import DEFAULT_MODEL, ModelChoice, model_choice

OPTIMIZERS = ("adam", "sgd")
LR_SCHEDULES = ("cosine", "constant", "step")


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {', '.join(allowed)}, got {value!r}.")
    return value


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What every variant trains with: the same for all of them.

    Attributes:
        epochs: training epochs; the test error is read after the last one.
        batch_size: images per batch.
        learning_rate: the optimizer's initial rate.
        shift: the basic augmentation's largest shift, as a share of the
            image side (0.125: one pixel of an 8x8 digit).
        schedule: run every mixing variant under the paper's on/off schedule
            (warm-up and fine-tuning off), scaled to ``epochs``.
        model: the model (a name, ``module:function`` or a function; see
            ``models.model_choice``).
        augment: the basic augmentation (a name, ``module:function`` or a
            factory; see ``augmentations.augment_choice``).
        optimizer: ``"adam"`` or ``"sgd"`` (Nesterov momentum 0.9).
        lr_schedule: ``"cosine"`` (decay to ``lr_floor`` over all steps),
            ``"constant"`` or ``"step"`` (the rate times ``lr_step_factor``
            after each share of training in ``lr_steps``).
        lr_floor: cosine's final rate as a share of the initial rate (0: the
            README's tables; e.g. 0.1 keeps a rate that still learns during
            the paper's fine-tuning epochs).
        lr_steps: where the step schedule drops the rate, as shares of all
            steps, ascending in (0, 1).
        lr_step_factor: the step schedule's factor per drop, in (0, 1].
    """

    epochs: int
    batch_size: int = 32
    learning_rate: float = 2e-3
    shift: float = DEFAULT_SHIFT
    schedule: bool = True
    model: Any = DEFAULT_MODEL
    augment: Any = DEFAULT_AUGMENTATION
    optimizer: str = "adam"
    lr_schedule: str = "cosine"
    lr_floor: float = 0.0
    lr_steps: tuple[float, ...] = (0.5, 0.75)
    lr_step_factor: float = 0.1

    def __post_init__(self) -> None:
        # Checked and normalised once, so every consumer sees clean values
        # (NumPy scalars become Python numbers; names become choices).
        put = object.__setattr__
        put(self, "epochs", count("epochs", self.epochs, 1))
        put(self, "batch_size", count("batch_size", self.batch_size, 1))
        rate = number("learning_rate", self.learning_rate, 0.0)
        if rate <= 0.0:
            raise ValueError(f"`learning_rate` must be > 0, got {rate:g}.")
        put(self, "learning_rate", rate)
        put(self, "shift", number("shift", self.shift, 0.0, 0.5))
        flag("schedule", self.schedule)
        if not isinstance(self.model, ModelChoice):
            put(self, "model", model_choice(self.model))
        if not isinstance(self.augment, AugmentChoice):
            put(self, "augment", augment_choice(self.augment))
        put(self, "optimizer", _choice("optimizer", self.optimizer, OPTIMIZERS))
        put(self, "lr_schedule", _choice("lr_schedule", self.lr_schedule, LR_SCHEDULES))
        put(self, "lr_floor", number("lr_floor", self.lr_floor, 0.0, 1.0))
        steps = self.lr_steps
        if isinstance(steps, numbers.Real):
            steps = (steps,)
        steps = tuple(number("lr_steps", s, 0.0, 1.0) for s in steps)
        if not steps or any(not 0.0 < s < 1.0 for s in steps) or list(steps) != sorted(set(steps)):
            raise ValueError(
                f"`lr_steps` must be shares of training in (0, 1), ascending, got {steps}."
            )
        put(self, "lr_steps", steps)
        factor = number("lr_step_factor", self.lr_step_factor, 0.0, 1.0)
        if factor <= 0.0:
            raise ValueError(f"`lr_step_factor` must be in (0, 1], got {factor:g}.")
        put(self, "lr_step_factor", factor)

    def describe(self, image_shape: tuple) -> dict[str, Any]:
        """The settings as the results file records them (``image_shape``
        gives a pixel shift's size)."""
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "shift": self.shift,
            "schedule": self.schedule,
            "model": self.model.describe(),
            "augment": self.augment.describe(self.shift, image_shape),
            "optimizer": self.optimizer,
            "lr_schedule": self.lr_schedule,
            "lr_floor": self.lr_floor,
            "lr_steps": list(self.lr_steps),
            "lr_step_factor": self.lr_step_factor,
        }


def scaled_schedule(epochs: int) -> dict[str, int]:
    """The paper's on/off schedule (100 warm-up epochs of 900, 8 on / 2 off,
    fine-tuning off) scaled to ``epochs``: the arguments of
    ``SamplePairingSchedule``."""
    warmup = max(1, epochs // 6)
    finetune = max(1, epochs // 6)
    on = max(1, round(epochs * 8 / 60))
    off = max(1, on // 4)
    return {"warmup": warmup, "on": on, "off": off, "finetune": finetune}


def schedule_states(epochs: int) -> list[bool]:
    """Whether mixing is on in each epoch under the scaled schedule."""
    from keras_samplepairing.ops.schedule import schedule_state

    steps = scaled_schedule(epochs)
    return [
        bool(
            schedule_state(
                epoch, steps["warmup"], steps["on"], steps["off"], steps["finetune"], epochs
            )
        )
        for epoch in range(epochs)
    ]


def describe_schedule(steps: dict[str, int] | None) -> str:
    """The schedule in words: ``on/off schedule (warm-up 10, 8 on / 2 off, fine-tuning 10)``."""
    if steps is None:
        return "no schedule (mixing in every epoch)"
    return (
        f"on/off schedule (warm-up {steps['warmup']}, {steps['on']} on / {steps['off']} off, "
        f"fine-tuning {steps['finetune']} epochs)"
    )


def describe_optimizer(config: TrainConfig) -> str:
    """The optimizer and its rate in words (the README's: ``Adam, cosine decay
    to 0 over all steps``)."""
    name = {"adam": "Adam", "sgd": "SGD with Nesterov momentum 0.9"}[config.optimizer]
    if config.lr_schedule == "constant":
        return f"{name}, constant rate"
    if config.lr_schedule == "step":
        shares = " and ".join(f"{s:.0%}" for s in config.lr_steps)
        return f"{name}, rate x {config.lr_step_factor:g} after {shares} of the steps"
    floor = "0" if config.lr_floor == 0 else f"{config.lr_floor:.0%} of the rate"
    return f"{name}, cosine decay to {floor} over all steps"


def steps_per_epoch(train_size: int, batch_size: int) -> int:
    """Batches per epoch (the last one may be partial)."""
    return math.ceil(train_size / batch_size)


def learning_rate(config: TrainConfig, total_steps: int) -> Any:
    """The learning rate, or its Keras schedule, over ``total_steps``."""
    import keras

    rate = config.learning_rate
    if config.lr_schedule == "constant":
        return rate
    if config.lr_schedule == "step":
        boundaries = [max(1, round(share * total_steps)) for share in config.lr_steps]
        values = [rate * config.lr_step_factor**drop for drop in range(len(boundaries) + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    return keras.optimizers.schedules.CosineDecay(
        rate, decay_steps=total_steps, alpha=config.lr_floor
    )


def compile_model(model: Any, config: TrainConfig, train_size: int) -> None:
    """The optimizer and schedule over the whole run, categorical
    cross-entropy on logits (every pipeline feeds one-hot or mixed labels),
    XLA-compiled."""
    import keras

    rate = learning_rate(config, config.epochs * steps_per_epoch(train_size, config.batch_size))
    if config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(rate, momentum=0.9, nesterov=True)
    else:
        optimizer = keras.optimizers.Adam(rate)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        jit_compile=True,
    )
