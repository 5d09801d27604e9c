"""The paper's on/off schedule for SamplePairing, as a Keras callback."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import keras

from keras_samplepairing.engine.clock import ScheduleClock
from keras_samplepairing.engine.state import Switch
from keras_samplepairing.ops.schedule import schedule_state


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`{name}` must be an int >= 0, got {value!r}.")
    return int(value)


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

    Positions are real training steps and epochs of this ``fit``: the
    schedule continues where a resumed ``fit`` (``initial_epoch``) starts,
    starts over in a new ``fit`` from epoch 0 (a second stage on a trained
    model), in both units, and counts every step of a ``steps_per_execution``
    call.

    Targets:

    - Layers and models (``SamplePairing``, ``FeatureSamplePairing``,
      ``PairingModel``): the switch is a variable read inside the train
      step, so switching costs no retracing, under every backend. With
      ``steps_per_execution=k`` a switch can only happen between calls, so
      with ``unit="step"`` every count must be a multiple of ``k`` (else
      ``fit`` raises).
    - ``samplepairing_map`` functions and ``WholeSetPairing`` in
      ``tf.data``: map them over ``ds.enumerate()`` (after any ``repeat``)
      and each batch is paired by the state of the step at which it is
      trained, however far prefetching runs ahead (the README's
      ``.repeat()`` + ``steps_per_epoch`` setup included). Without
      ``enumerate`` a batch takes the state current when it is made, which
      lags the schedule by the prefetch depth at each switch.
    - Anything else with an ``enabled`` attribute that has ``assign`` (a
      ``tf.Variable`` your own pipeline reads, say), and optionally a
      ``clock`` (a ``ScheduleClock``) read per batch.

    The state is logged each epoch as ``logs["samplepairing"]``: the share of
    the epoch's steps with pairing on (1.0 or 0.0 for ``unit="epoch"``), so it
    shows in the progress bar and in ``History``.

    Args:
        warmup: epochs (steps) off at the start.
        on: epochs (steps) on in each cycle, > 0.
        off: epochs (steps) off in each cycle.
        finetune: epochs (steps) off at the end; needs the total from
            ``fit``'s ``epochs`` (and the steps per epoch for steps).
        unit: ``"epoch"`` or ``"step"``.
        targets: layers, models or map functions; by default every
            SamplePairing layer (and ``PairingModel``) in the model.

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
        self._initial: list[bool] = []
        self._start_step = 0
        self._epoch_start_step = 0
        self._steps_in_epoch = 0
        self._started = False

    # Where the targets are.

    def _switches(self) -> list:
        """The targets' switches that this callback flips (those without a clock)."""
        return [
            t.enabled
            for t in self.targets
            if not isinstance(getattr(t, "clock", None), ScheduleClock)
        ]

    def _clocks(self) -> list:
        return [
            t.clock for t in self.targets if isinstance(getattr(t, "clock", None), ScheduleClock)
        ]

    def _steps_per_epoch(self) -> int | None:
        return self.params.get("steps")

    def _total(self) -> int | None:
        epochs = self.params.get("epochs")
        if self.unit == "epoch" or epochs is None:
            return epochs
        steps = self._steps_per_epoch()
        return None if steps is None else epochs * steps

    def state(self, index: int) -> bool:
        """Whether pairing is on at epoch (or step) ``index`` of this fit."""
        return bool(
            schedule_state(index, self.warmup, self.on, self.off, self.finetune, self._total())
        )

    def _assign(self, state: bool) -> None:
        switches = self._switches()
        if switches and any(bool(s.numpy()) != state for s in switches):
            # Under JAX, fit holds the variables' values between steps; sync
            # them back first, so the assignment is what the next step reads.
            sync = getattr(self.model, "jax_state_sync", None)
            if sync is not None:
                sync()
            for switch in switches:
                switch.assign(state)
        for clock in self._clocks():
            clock.set(current=state)

    # Callback hooks.

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.targets is None:
            self.targets = _pairing_targets(self.model)
        if not self.targets:
            raise ValueError(
                "SamplePairingSchedule found nothing to switch: pass `targets=` "
                "(SamplePairing layers or samplepairing_map functions)."
            )
        for target in self.targets:
            if not callable(getattr(getattr(target, "enabled", None), "assign", None)):
                raise TypeError(
                    "`targets` must be SamplePairing layers, PairingModels, "
                    "samplepairing_map functions, WholeSetPairings, or objects with an "
                    f"`enabled` switch (with .assign), got {type(target).__name__}."
                )
        if self.finetune and self._total() is None:
            raise ValueError("`finetune` needs fit's total number of epochs (and steps).")
        execution = int(getattr(self.model, "steps_per_execution", 1) or 1)
        counts = {"warmup": self.warmup, "on": self.on, "off": self.off}
        counts["finetune"] = self.finetune
        if self.unit == "step" and execution > 1 and self._switches():
            uneven = {k: v for k, v in counts.items() if v % execution}
            if uneven:
                raise ValueError(
                    f"SamplePairingSchedule(unit='step') switches layers between calls of "
                    f"the train step, which runs steps_per_execution={execution} steps each: "
                    f"{uneven} must be multiples of {execution}."
                )
        self._initial = [bool(target.enabled.numpy()) for target in self.targets]
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        self._start_step = 0 if iterations is None else int(keras.ops.convert_to_numpy(iterations))
        self._started = False
        total = self._total()
        for target in self.targets:
            clock = getattr(target, "clock", None)
            if isinstance(clock, ScheduleClock) and clock.read_by == {"unindexed"}:
                warnings.warn(
                    f"SamplePairingSchedule: the {type(target).__name__} pairs each batch by "
                    "the state current when the batch is made, ahead of training by the "
                    "prefetch depth, so a switch reaches it late. Apply it to the dataset, "
                    "ds = ds.apply(pair), and each batch is paired by the state of the step "
                    "it is trained at.",
                    stacklevel=2,
                )
        for clock in self._clocks():
            clock.attach(
                warmup=self.warmup,
                on=self.on,
                off=self.off,
                finetune=self.finetune,
                total=-1 if total is None else total,
                by_step=self.unit == "step",
                steps=self._steps_per_epoch() or -1,
            )

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if not self._started:
            # Steps count from this fit's first epoch, as epochs do: a resumed
            # fit (initial_epoch) continues, a new fit on a trained model starts
            # over. The optimizer's counter serves only when the epoch's length
            # is unknown.
            steps = self._steps_per_epoch()
            if steps:
                self._start_step = epoch * steps
            elif epoch == 0:
                self._start_step = 0
            self._epoch_start_step = self._start_step
            self._started = True
            for clock in self._clocks():
                clock.set(first_epoch=epoch, fit_start_step=self._start_step)
        self._steps_in_epoch = 0
        for clock in self._clocks():
            clock.set(epoch=epoch, epoch_start_step=self._epoch_start_step)
        position = epoch if self.unit == "epoch" else self._epoch_start_step
        self._assign(self.state(position))

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.unit == "step":
            self._assign(self.state(self._epoch_start_step + batch))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        steps = self._steps_per_epoch()
        self._steps_in_epoch = batch + 1 if steps is None else min(batch + 1, steps)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        steps = range(self._epoch_start_step, self._epoch_start_step + self._steps_in_epoch)
        self._check_enumerated_maps(epoch, steps)
        self._epoch_start_step += self._steps_in_epoch
        if logs is None:
            return
        if self.unit == "epoch":
            logs["samplepairing"] = float(self.state(epoch))
        else:
            logs["samplepairing"] = sum(map(self.state, steps)) / max(len(steps), 1)

    def _check_enumerated_maps(self, epoch: int, steps: range) -> None:
        """Raises if a map over enumerate() paired a batch of this epoch for
        another step than the one fit trained it at (what is logged must be
        what was applied)."""
        for target in self.targets:
            clock = getattr(target, "clock", None)
            if not isinstance(clock, ScheduleClock) or "enumerate" not in clock.read_by:
                continue
            wrong = clock.steps_paired_elsewhere(steps.start, len(steps))
            if wrong:
                batches = "1 batch" if len(wrong) == 1 else f"{len(wrong)} batches"
                raise RuntimeError(
                    f"SamplePairingSchedule: the {type(target).__name__} over "
                    f"ds.enumerate() paired {batches} of epoch {epoch} (steps {steps.start}-"
                    f"{steps.stop - 1}) by the schedule's state at another step than the one "
                    f"fit trained {'it' if len(wrong) == 1 else 'them'} at (step {wrong[0]} "
                    "first). The enumerate index restarts with each pass of "
                    "the data, and here (a finite dataset that fit keeps across epochs, or "
                    "enumerate before repeat) it does not say at which step a batch is "
                    "trained. Apply the map to the dataset instead, ds = ds.apply(pair): it "
                    "stamps each batch with its step, however fit feeds the data."
                )

    def on_train_end(self, logs: dict | None = None) -> None:
        # Give the targets back as fit found them.
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()
        for target, state in zip(self.targets, self._initial, strict=True):
            target.enabled.assign(state)
        for clock in self._clocks():
            clock.set(attached=False, current=True)

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
