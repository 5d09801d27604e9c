"""The paper's on/off schedule for SamplePairing, as a Keras callback."""

from __future__ import annotations

import numbers
from typing import Any

import keras

from keras_samplepairing.frontend.state import Switch


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`{name}` must be an int >= 0, got {value!r}.")
    return int(value)


def schedule_state(
    index: int, warmup: int, on: int, off: int, finetune: int, total: int | None
) -> bool:
    """Whether SamplePairing is on at epoch (or step) ``index``.

    Off for the first ``warmup``, then cycles of ``on`` enabled and ``off``
    disabled, and off again for the last ``finetune`` of ``total``.
    """
    if index < warmup or (total is not None and index >= total - finetune):
        return False
    return (index - warmup) % (on + off) < on


def _pairing_targets(model: keras.Model) -> list:
    """Everything in ``model`` (itself and nested models included) with a
    pairing switch."""
    found, stack = [], [model]
    while stack:
        layer = stack.pop()
        if isinstance(getattr(layer, "enabled", None), Switch):
            found.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return found


class SamplePairingSchedule(keras.callbacks.Callback):
    """Switches SamplePairing on and off during ``fit``, as the paper does.

    Inoue (2018) trained without SamplePairing first, then enabled it for 8
    epochs and disabled it for 2, repeatedly, and disabled it for the final
    fine-tuning epochs. On ImageNet the cycle was counted in images (on for
    300,000, off for 100,000): use ``unit="step"`` and counts in steps.

    The callback sets the ``enabled`` variable of each target, which the
    layers and map functions read at run time: switching costs no retracing
    or recompiling, and works both for layers inside the model and for
    ``samplepairing_map`` functions in the ``tf.data`` pipeline. The state is
    logged each epoch as ``logs["samplepairing"]`` (the share of the epoch's
    steps with pairing on: 1.0 or 0.0 for ``unit="epoch"``), so it shows in
    the progress bar and in ``History``.

    With ``unit="step"`` and a ``tf.data`` map target, batches that were
    prefetched before a switch keep the state they were made with.

    Args:
        warmup: epochs (steps) off at the start.
        on: epochs (steps) on in each cycle, > 0.
        off: epochs (steps) off in each cycle.
        finetune: epochs (steps) off at the end; needs the total from
            ``fit``'s ``epochs`` (and ``steps_per_epoch`` for steps).
        unit: ``"epoch"`` or ``"step"``.
        targets: layers, models or map functions with an ``enabled``
            variable; by default every SamplePairing layer in the model.

    Example:

    >>> schedule = SamplePairingSchedule(warmup=10, on=8, off=2, finetune=10)
    >>> model.fit(ds, epochs=100, callbacks=[schedule])
    """

    def __init__(
        self,
        warmup: int = 0,
        on: int = 8,
        off: int = 2,
        finetune: int = 0,
        unit: str = "epoch",
        targets: list | None = None,
    ) -> None:
        super().__init__()
        self.warmup = _count("warmup", warmup)
        self.on = _count("on", on)
        self.off = _count("off", off)
        self.finetune = _count("finetune", finetune)
        if self.on == 0:
            raise ValueError(
                "`on` must be > 0: a schedule that is never on would never pair "
                f"(got warmup={warmup}, on={on}, off={off}, finetune={finetune})."
            )
        if unit not in ("epoch", "step"):
            raise ValueError(f"`unit` must be 'epoch' or 'step', got {unit!r}.")
        self.unit = unit
        self.targets = list(targets) if targets is not None else None
        self._step = 0
        self._steps_on = 0
        self._steps_in_epoch = 0
        self._initial: list[bool] = []

    def _switch(self, state: bool) -> None:
        for target in self.targets:
            target.enabled.assign(state)

    def _total(self) -> int | None:
        epochs = self.params.get("epochs")
        if self.unit == "epoch" or epochs is None:
            return epochs
        steps = self.params.get("steps")
        return None if steps is None else epochs * steps

    def state(self, index: int) -> bool:
        """Whether pairing is on at epoch (or step) ``index`` of this fit."""
        return schedule_state(index, self.warmup, self.on, self.off, self.finetune, self._total())

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.targets is None:
            self.targets = _pairing_targets(self.model)
        if not self.targets:
            raise ValueError(
                "SamplePairingSchedule found nothing to switch: pass `targets=` "
                "(SamplePairing layers or samplepairing_map functions)."
            )
        self._initial = [bool(target.enabled.numpy()) for target in self.targets]
        if self.finetune and self._total() is None:
            raise ValueError("`finetune` needs fit's total number of epochs (and steps).")
        self._step = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._steps_on = self._steps_in_epoch = 0
        if self.unit == "epoch":
            self._switch(self.state(epoch))

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.unit == "step":
            state = self.state(self._step)
            self._switch(state)
            self._steps_on += int(state)
        self._step += 1
        self._steps_in_epoch += 1

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is None:
            return
        if self.unit == "epoch":
            logs["samplepairing"] = float(self.state(epoch))
        else:
            logs["samplepairing"] = self._steps_on / max(self._steps_in_epoch, 1)

    def on_train_end(self, logs: dict | None = None) -> None:
        # Give the targets back as fit found them.
        for target, state in zip(self.targets, self._initial, strict=True):
            target.enabled.assign(state)

    def get_config(self) -> dict:
        """The schedule's configuration (targets are objects, not config)."""
        return {
            "warmup": self.warmup,
            "on": self.on,
            "off": self.off,
            "finetune": self.finetune,
            "unit": self.unit,
        }

    @classmethod
    def from_config(cls, config: dict) -> SamplePairingSchedule:
        return cls(**config)
