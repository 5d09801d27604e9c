"""The on/off schedule: states, toggling in a model and in tf.data, no retracing."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import (
    SamplePairing,
    SamplePairingSchedule,
    WholeSetPairing,
    samplepairing_map,
)
from keras_samplepairing.engine.compiled import shared_compiled_pairing
from keras_samplepairing.ops.namespace import tensorflow_namespace
from keras_samplepairing.ops.schedule import schedule_state
from tests.helpers import constant_images
from tests.step_recorder import StepRecorder

IMAGES = constant_images(6, channels=1)
LABELS = np.arange(6) % 3


def test_epoch_states_follow_warmup_on_off_finetune():
    states = [schedule_state(i, 2, 3, 1, 2, 12) for i in range(12)]
    assert states == [0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0]
    # The paper: 8 on, 2 off, repeatedly.
    assert [schedule_state(i, 0, 8, 2, 0, None) for i in range(10)] == [1] * 8 + [0] * 2


class Recorder(keras.layers.Layer):
    """Stores the batch that reaches it, to see whether it was mixed."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = keras.Variable(np.zeros_like(IMAGES), trainable=False)

    def call(self, x, training=None):
        self.seen.assign(x)
        return x


class MixedEpochs(keras.callbacks.Callback):
    def __init__(self, recorder):
        super().__init__()
        self.recorder, self.mixed = recorder, []

    def on_epoch_end(self, epoch, logs=None):
        self.mixed.append(not np.array_equal(self.recorder.seen.numpy(), IMAGES))


def _model(with_layer, record=True):
    recorder = Recorder() if record else keras.layers.Identity()
    inputs = keras.Input((4, 4, 1))
    x = SamplePairing(seed=0)(inputs) if with_layer else inputs
    x = keras.layers.Flatten()(recorder(x))
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model, recorder


EXPECTED = [False, True, True, False, True, False]  # warmup 1, on 2, off 1, finetune 1


def test_toggling_inside_a_model_without_retracing():
    model, recorder = _model(with_layer=True)
    layer = model.layers[1]
    calls = []
    original = layer.call
    layer.call = lambda *a, **k: calls.append(1) or original(*a, **k)
    watch = MixedEpochs(recorder)
    schedule = SamplePairingSchedule(warmup=1, on=2, off=1, finetune=1)
    history = model.fit(
        IMAGES,
        LABELS,
        batch_size=6,
        epochs=6,
        shuffle=False,
        verbose=0,
        callbacks=[schedule, watch],
    )
    assert watch.mixed == EXPECTED
    assert history.history["samplepairing"] == [float(e) for e in EXPECTED]
    assert len(calls) == 1  # traced once: the switch is a variable, not a retrace
    assert bool(layer.enabled.numpy())  # restored after fit


def test_toggling_a_tf_data_map():
    model, recorder = _model(with_layer=False)
    pair = samplepairing_map(seed=0)
    ds = tf.data.Dataset.from_tensor_slices((IMAGES, LABELS)).batch(6).map(pair)
    watch = MixedEpochs(recorder)
    schedule = SamplePairingSchedule(warmup=1, on=2, off=1, finetune=1, targets=[pair])
    # Maps and layers with equal options share one compiled pairing.
    apply = shared_compiled_pairing(pair.options, tensorflow_namespace()).apply_dense
    traces = apply.experimental_get_tracing_count()
    model.fit(ds, epochs=6, verbose=0, callbacks=[schedule, watch])
    assert watch.mixed == EXPECTED
    # At most one trace for this batch shape (the compiled function is shared
    # between equal options), however often the schedule switches.
    assert apply.experimental_get_tracing_count() - traces <= 1


def test_step_unit_logs_the_share_of_steps_on():
    model, _ = _model(with_layer=True, record=False)
    schedule = SamplePairingSchedule(warmup=1, on=2, off=1, unit="step")
    history = model.fit(IMAGES, LABELS, batch_size=2, epochs=2, verbose=0, callbacks=[schedule])
    # Steps 0..5: off, on, on, off, on, on.
    assert history.history["samplepairing"] == pytest.approx([2 / 3, 2 / 3])


def test_config_and_bad_schedules():
    schedule = SamplePairingSchedule(warmup=3, on=8, off=2, finetune=4, unit="step")
    assert SamplePairingSchedule.from_config(schedule.get_config()).get_config() == (
        schedule.get_config()
    )
    with pytest.raises(ValueError, match="warmup"):
        SamplePairingSchedule(warmup=-1)
    with pytest.raises(ValueError, match="on"):
        SamplePairingSchedule(warmup=0, on=0, off=0, finetune=0)
    with pytest.raises(ValueError, match="unit"):
        SamplePairingSchedule(unit="batch")
    model, _ = _model(with_layer=False)
    with pytest.raises(ValueError, match="nothing to switch"):
        model.fit(IMAGES, LABELS, epochs=1, verbose=0, callbacks=[SamplePairingSchedule()])


def _step_model(with_layer, steps_per_execution=1):
    recorder = StepRecorder(lambda x: tf.reduce_any(tf.not_equal(x, IMAGES)))
    inputs = keras.Input((4, 4, 1))
    x = SamplePairing(seed=0)(inputs) if with_layer else inputs
    x = keras.layers.Flatten()(recorder(x))
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    model.compile(
        "sgd",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=steps_per_execution,
    )
    return model, recorder


def test_step_unit_counts_every_step_of_a_multi_step_execution():
    model, recorder = _step_model(with_layer=True, steps_per_execution=2)
    ds = tf.data.Dataset.from_tensors((IMAGES, LABELS)).repeat(6)  # 6 steps an epoch
    schedule = SamplePairingSchedule(warmup=2, on=4, off=2, finetune=4, unit="step")
    history = model.fit(ds, epochs=3, verbose=0, callbacks=[schedule])
    expected = [schedule_state(s, 2, 4, 2, 4, 18) for s in range(18)]
    assert recorder.recorded() == [int(e) for e in expected]
    assert history.history["samplepairing"] == pytest.approx(
        [np.mean(expected[i : i + 6]) for i in (0, 6, 12)]
    )
    with pytest.raises(ValueError, match="multiples of 2"):
        model.fit(ds, epochs=1, verbose=0, callbacks=[SamplePairingSchedule(warmup=1, unit="step")])


@pytest.mark.parametrize("unit", ["epoch", "step"])
def test_a_resumed_fit_continues_the_schedule(unit):
    model, recorder = _step_model(with_layer=True)
    ds = tf.data.Dataset.from_tensors((IMAGES, LABELS)).repeat(2)  # 2 steps an epoch
    model.fit(ds, epochs=2, verbose=0)  # epochs 0-1, 4 optimizer steps, no schedule
    recorder.flags.assign(-np.ones(64, "int32"))  # forget the first fit
    recorder.count.assign(0)
    schedule = SamplePairingSchedule(warmup=3, on=2, off=1, finetune=0, unit=unit)
    history = model.fit(ds, epochs=6, initial_epoch=2, verbose=0, callbacks=[schedule])
    if unit == "epoch":
        states = [schedule_state(e, 3, 2, 1, 0, 6) for e in range(2, 6)]
        steps = [s for state in states for s in (state, state)]
    else:  # steps 4..11
        steps = [schedule_state(s, 3, 2, 1, 0, 12) for s in range(4, 12)]
        states = [np.mean(steps[i : i + 2]) for i in range(0, 8, 2)]
    assert recorder.recorded() == [int(s) for s in steps]
    assert history.history["samplepairing"] == pytest.approx([float(s) for s in states])


def test_a_new_fit_on_a_trained_model_starts_the_schedule_over_in_both_units():
    model, recorder = _step_model(with_layer=True)
    ds = tf.data.Dataset.from_tensors((IMAGES, LABELS)).repeat(2)  # 2 steps an epoch
    model.fit(ds, epochs=2, verbose=0)  # an earlier stage: 4 optimizer steps
    recorded = {}
    for unit, counts in (("epoch", (1, 2, 1, 1)), ("step", (2, 4, 2, 2))):
        recorder.flags.assign(-np.ones(64, "int32"))
        recorder.count.assign(0)
        warmup, on, off, finetune = counts
        schedule = SamplePairingSchedule(warmup, on, off, finetune, unit=unit)
        model.fit(ds, epochs=5, verbose=0, callbacks=[schedule])
        recorded[unit] = recorder.recorded()
    expected = [schedule_state(e, 1, 2, 1, 1, 5) for e in range(5)]
    assert recorded["epoch"] == [int(state) for state in expected for _ in range(2)]
    assert recorded["step"] == recorded["epoch"]


@pytest.mark.parametrize("unit", ["epoch", "step"])
def test_a_prefetched_repeated_map_follows_the_schedule_exactly(unit):
    # The README's setup: one iterator for the whole fit, prefetched far ahead.
    model, recorder = _step_model(with_layer=False)
    pair = samplepairing_map(seed=0)
    ds = (
        tf.data.Dataset.from_tensors((IMAGES, LABELS))
        .repeat()
        .enumerate()
        .map(pair, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(8)
    )
    schedule = SamplePairingSchedule(warmup=1, on=2, off=1, finetune=1, unit=unit, targets=[pair])
    history = model.fit(ds, epochs=6, steps_per_epoch=3, verbose=0, callbacks=[schedule])
    if unit == "epoch":
        states = [schedule_state(e, 1, 2, 1, 1, 6) for e in range(6)]
        steps = [s for state in states for s in (state,) * 3]
    else:
        steps = [schedule_state(s, 1, 2, 1, 1, 18) for s in range(18)]
        states = [np.mean(steps[i : i + 3]) for i in range(0, 18, 3)]
    # What each step trained on is what the schedule says, and what it logged.
    assert recorder.recorded() == [int(s) for s in steps]
    assert history.history["samplepairing"] == pytest.approx([float(s) for s in states])


# Hold-up round two: the clock must hold for every way fit feeds a dataset.


class EpochOfEachStep(keras.callbacks.Callback):
    """The epoch each training step ran in, as fit ran it (at the step's end:
    with a dataset of unknown length, a step begins and finds no data)."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_train_batch_end(self, batch, logs=None):
        self.epochs.append(self._epoch)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


def _fit_and_compare(dataset, target, recorder, model, unit, steps_per_epoch, epochs=6):
    """Fits; returns (applied, scheduled) per step and (logged, applied) per epoch."""
    schedule = SamplePairingSchedule(warmup=1, on=2, off=1, unit=unit, targets=[target])
    log = EpochOfEachStep()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras: "Your input ran out of data"
        history = model.fit(
            dataset,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            verbose=0,
            callbacks=[schedule, log],
        )
    applied = recorder.recorded()
    positions = log.epochs if unit == "epoch" else range(len(log.epochs))
    scheduled = [int(schedule.state(position)) for position in positions]
    per_epoch = [
        float(np.mean([a for a, e in zip(applied, log.epochs, strict=True) if e == epoch]))
        for epoch in range(epochs)
    ]
    return applied, scheduled, history.history["samplepairing"], per_epoch


def _assert_follows_schedule(dataset, target, recorder, model, unit, feed, steps):
    """Feeds ``dataset`` to ``fit`` as ``feed`` says; what was applied at each
    step is what the schedule says, and what is logged is what was applied."""
    if feed.endswith("repeat_after"):
        dataset = dataset.repeat()
    applied, scheduled, logged, per_epoch = _fit_and_compare(
        dataset.prefetch(8), target, recorder, model, unit, steps
    )
    assert applied == scheduled
    assert logged == pytest.approx(per_epoch)


# (how the dataset is built, steps_per_epoch): finite passes of 4 batches fed with fewer
# steps per epoch than a pass, more, none; repeated inside or outside.
FEEDS = [("finite", 2), ("finite", 3), ("finite", 5), ("finite", None), ("repeat_after", 3)]


@pytest.mark.parametrize("unit", ["epoch", "step"])
@pytest.mark.parametrize(
    "feed, steps",
    FEEDS
    + [
        ("unknown_length", None),
        ("unknown_length_repeat_after", 3),
        ("take_3_of_4", None),
        ("take_3_of_endless", None),
    ],
)
def test_a_map_applied_to_the_dataset_follows_the_schedule_however_fit_feeds_it(unit, feed, steps):
    # A pass of known length is stamped from its start; one of unknown length
    # (after a filter) batch by batch; a pass read in part (take after the
    # stamp) leaves the next to start at its epoch's beginning.
    model, recorder = _step_model(with_layer=False)
    pair = samplepairing_map(seed=0)
    ds = tf.data.Dataset.from_tensors((IMAGES, LABELS))
    ds = ds.repeat() if feed == "take_3_of_endless" else ds.repeat(4)
    if feed.startswith("unknown_length"):
        ds = ds.filter(lambda images, labels: True)
    ds = ds.apply(pair)
    if feed.startswith("take_3"):  # each epoch's iterator reads a pass in part
        ds = ds.take(3)
    _assert_follows_schedule(ds, pair, recorder, model, unit, feed, steps)


@pytest.mark.parametrize("unit", ["epoch", "step"])
@pytest.mark.parametrize("feed, steps", FEEDS)
def test_whole_set_pairing_follows_the_schedule_however_fit_feeds_it(unit, feed, steps):
    images = np.arange(64, dtype="float32")[:, None, None, None] * np.ones((1, 4, 4, 1))
    pairing = WholeSetPairing((images.astype("float32"), np.arange(64) % 3), seed=0)
    recorder = StepRecorder(lambda x: tf.reduce_any(tf.not_equal(tf.floor(x), x)))
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), recorder, keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ds = pairing.dataset(16)  # 4 batches a pass
    _assert_follows_schedule(ds, pairing, recorder, model, unit, feed, steps)


@pytest.mark.parametrize("order", ["finite", "enumerate_then_repeat"])
def test_a_map_over_enumerate_that_cannot_follow_the_schedule_says_so(order):
    # The enumerate index restarts with each pass; with passes that do not start
    # where the schedule's epochs start, the index cannot say which step a batch
    # is trained at. That is refused, naming the order that works.
    model, _ = _step_model(with_layer=False)
    pair = samplepairing_map(seed=0)
    ds = tf.data.Dataset.from_tensors((IMAGES, LABELS)).repeat(4).enumerate().map(pair)
    steps = 2 if order == "finite" else 3
    if order == "enumerate_then_repeat":
        ds = ds.repeat()
    schedule = SamplePairingSchedule(warmup=1, on=2, off=1, unit="step", targets=[pair])
    with pytest.raises(RuntimeError, match=r"ds\.apply\(pair\)"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(ds, epochs=6, steps_per_epoch=steps, verbose=0, callbacks=[schedule])
