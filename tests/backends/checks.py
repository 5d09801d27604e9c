"""Checks that run under one Keras backend, in a fresh process.

    KERAS_BACKEND=jax python checks.py result.json

Group ``model`` runs first, with TensorFlow made unimportable (what a JAX or
PyTorch user without TensorFlow has); then TensorFlow is let in and group
``pipeline`` uses ``tf.data``, in the same process (one start-up per backend).
Each check's outcome ("ok" or the traceback), by group, is written to the JSON
file, which ``tests/test_backends.py`` turns into one test per check.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import sys
import tempfile
import traceback


class _Missing(importlib.abc.Loader):
    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r}", name=spec.name)

    def exec_module(self, module):
        raise ModuleNotFoundError(module.__name__)


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    """Makes ``import tensorflow`` fail as it does where it is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            return importlib.machinery.ModuleSpec(name, _Missing(), origin=None)
        return None


BLOCK = _NoTensorFlow()
sys.meta_path.insert(0, BLOCK)  # lifted once the model group has run
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_samplepairing as ksp  # noqa: E402
from tests.helpers import constant_images, partners_of  # noqa: E402

BACKEND = keras.config.backend()
CHECKS: dict = {}

# Image i is the constant 10 * i: a λ = 0.5 mix of i and p holds 5i + 5p.
IMAGES = constant_images(8)
LABELS = np.arange(8) % 4


def check(group, backends=("jax", "torch")):
    def register(function):
        if BACKEND in backends:
            CHECKS.setdefault(group, {})[function.__name__] = function
        return function

    return register


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def partners(mixed):
    return partners_of(numpy(mixed))


def assert_single_cycle(p):
    assert sorted(p) == list(range(len(p))) and np.all(p != np.arange(len(p))), p


def model_with(layer, recorder=None):
    inputs = keras.Input((4, 4, 3))
    x = layer(inputs)
    if recorder is not None:
        x = recorder(x)
    x = keras.layers.Rescaling(1 / 255)(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(4)(x))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


class MixRecorder(keras.layers.Layer):
    """Holds 1 if the last training batch that reached it was mixed."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.mixed = keras.Variable(0, trainable=False, dtype="int32")

    def call(self, x, training=None):
        if training:
            changed = keras.ops.any(keras.ops.not_equal(x, IMAGES[: x.shape[0]]))
            self.mixed.assign(keras.ops.cast(changed, "int32"))
        return x


class EpochLog(keras.callbacks.Callback):
    def __init__(self, recorder):
        super().__init__()
        self.recorder, self.mixed = recorder, []

    def on_epoch_end(self, epoch, logs=None):
        self.mixed.append(int(numpy(self.recorder.mixed)))


# In a model, without TensorFlow.


@check("model")
def eager_calls_are_native_seeded_and_fresh():
    layer = ksp.SamplePairing(seed=3)
    first, second = layer(IMAGES), layer(IMAGES)
    native = {"jax": "jax", "torch": "torch"}[BACKEND]
    assert type(first).__module__.startswith(native), type(first)
    assert_single_cycle(partners(first))
    assert not np.array_equal(numpy(first), numpy(second))  # a new pairing each call
    again = ksp.SamplePairing(seed=3)
    np.testing.assert_array_equal(numpy(again(IMAGES)), numpy(first))  # same seed, same pairs
    np.testing.assert_array_equal(numpy(again(IMAGES)), numpy(second))
    other = numpy(ksp.SamplePairing(seed=4)(IMAGES))
    assert not np.array_equal(other, numpy(first))
    images, labels = ksp.SamplePairing(label_mode="mix", num_classes=4, seed=0)((IMAGES, LABELS))
    one_hot = np.eye(4)[LABELS]
    p = partners(images)
    np.testing.assert_allclose(numpy(labels), 0.5 * one_hot + 0.5 * one_hot[p], rtol=1e-6)


@check("model")
def a_model_layer_trains_and_is_the_identity_at_inference():
    layer = ksp.SamplePairing(seed=0)
    model = model_with(layer)
    history = model.fit(IMAGES, LABELS, batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    np.testing.assert_array_equal(numpy(layer(IMAGES, training=False)), IMAGES)
    inference = numpy(model(IMAGES))
    np.testing.assert_allclose(model.predict(IMAGES, verbose=0), inference, rtol=1e-5)
    np.testing.assert_array_equal(numpy(model(IMAGES)), inference)  # deterministic
    assert not np.allclose(numpy(model(IMAGES, training=True)), inference)
    loss = model.evaluate(IMAGES, LABELS, verbose=0)
    assert np.isfinite(loss)


@check("model")
def feature_pairing_passes_gradients_through_the_mix():
    layer = ksp.FeatureSamplePairing(seed=0)
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(6, 5)).astype("float32")
    layer(hidden, training=False)  # builds it
    weights = rng.normal(size=(6, 5)).astype("float32")
    seed = numpy(layer.seed_generator.state.value).copy()
    p = numpy(layer.get_random_transformation(hidden, seed=seed).partners)
    expected = 0.5 * weights
    np.add.at(expected, p, 0.5 * weights)  # d(0.5 h_i + 0.5 h_p(i)) / dh
    if BACKEND == "jax":
        import jax

        state = [v.value for v in layer.non_trainable_variables]

        def loss(h):
            out, _ = layer.stateless_call([], state, h, training=True)
            return (out * weights).sum()

        gradient = jax.grad(loss)(hidden)
    else:
        import torch

        h = torch.tensor(hidden, requires_grad=True)
        (layer(h, training=True) * torch.tensor(weights)).sum().backward()
        gradient = h.grad
    np.testing.assert_allclose(numpy(gradient), expected, rtol=1e-6)


@check("model")
def pairing_model_trains_on_mixed_labels():
    encoder = keras.Sequential(
        [keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(8, activation="relu")]
    )
    model = ksp.PairingModel(encoder, keras.layers.Dense(4), mix_at="hidden", num_classes=4, seed=0)
    model.compile("adam", keras.losses.CategoricalCrossentropy(from_logits=True))
    before = [numpy(w).copy() for w in model.trainable_weights] if model.built else None
    history = model.fit(
        IMAGES / 255.0,
        LABELS,
        validation_data=(IMAGES / 255.0, LABELS),
        batch_size=4,
        epochs=2,
        verbose=0,
    )
    for key in ("loss", "val_loss"):
        assert np.all(np.isfinite(history.history[key])) and min(history.history[key]) > 0, key
    assert np.isfinite(model.evaluate(IMAGES / 255.0, LABELS, verbose=0))
    assert before is None or any(
        not np.array_equal(b, numpy(w))
        for b, w in zip(before, model.trainable_weights, strict=True)
    )


@check("model")
def the_schedule_switches_a_model_layer_at_run_time():
    recorder = MixRecorder()
    model = model_with(ksp.SamplePairing(seed=0), recorder)
    log = EpochLog(recorder)
    schedule = ksp.SamplePairingSchedule(warmup=1, on=1, off=1)
    history = model.fit(
        IMAGES, LABELS, batch_size=8, epochs=4, shuffle=False, verbose=0, callbacks=[schedule, log]
    )
    assert log.mixed == [0, 1, 0, 1], log.mixed
    assert history.history["samplepairing"] == [0.0, 1.0, 0.0, 1.0]


@check("model", backends=("jax",))
def the_jax_step_is_native():
    import jax

    layer = ksp.SamplePairing(lam="beta", pairing="most_similar", seed=0)
    model = model_with(layer)
    trainable = [v.value for v in model.trainable_variables]
    state = [v.value for v in model.non_trainable_variables]
    jaxpr = str(
        jax.make_jaxpr(lambda s, x: model.stateless_call(trainable, s, x, training=True))(
            state, IMAGES
        )
    )
    for bridge in ("callback", "call_tf", "host"):
        assert bridge not in jaxpr, bridge
    assert "argsort" in jaxpr or "sort" in jaxpr  # the pairing is in the traced step


@check("model", backends=("torch",))
def torch_tensors_stay_torch_tensors_on_their_device():
    import torch

    images = torch.tensor(IMAGES)
    out, labels = ksp.SamplePairing(label_mode="mix", num_classes=4, seed=0)((images, LABELS))
    for tensor in (out, labels):
        assert isinstance(tensor, torch.Tensor) and tensor.device == images.device


@check("model")
def no_tensorflow_was_imported():
    assert "tensorflow" not in sys.modules


# In tf.data (TensorFlow inside the pipeline, the backend in the model).


def _distinct_pairings(batches, key=None):
    images = [numpy(b[key] if key is not None else b) for b in batches]
    for batch in images:
        assert_single_cycle(partners(batch))
    return len({tuple(partners(batch)) for batch in images})


@check("pipeline")
def a_layer_maps_over_tf_data_with_a_new_pairing_each_batch():
    import tensorflow as tf

    layer = ksp.SamplePairing(seed=0, label_mode="mix", num_classes=4)
    pairs = tf.data.Dataset.from_tensor_slices((IMAGES, LABELS)).batch(8).repeat(4)
    assert _distinct_pairings([x for x, _ in pairs.map(layer)]) > 1
    assert _distinct_pairings([x for x, _ in pairs.map(lambda x, y: layer((x, y)))]) > 1
    images = tf.data.Dataset.from_tensor_slices(IMAGES).batch(8).repeat(4)
    assert _distinct_pairings(list(images.map(layer))) > 1
    dicts = tf.data.Dataset.from_tensor_slices({"images": IMAGES, "labels": LABELS})
    out = list(dicts.batch(8).repeat(4).map(layer))
    assert _distinct_pairings(out, "images") > 1 and tuple(out[0]["labels"].shape) == (8, 4)
    assert isinstance(out[0]["images"], tf.Tensor)


@check("pipeline")
def the_switch_and_the_seed_are_read_at_run_time_in_tf_data():
    import tensorflow as tf

    layer = ksp.SamplePairing(seed=5)
    ds = tf.data.Dataset.from_tensor_slices(IMAGES).batch(8).map(layer)  # traced once
    first = numpy(next(iter(ds)))
    assert not np.array_equal(first, IMAGES)
    layer.enabled.assign(False)
    np.testing.assert_array_equal(numpy(next(iter(ds))), IMAGES)
    layer.enabled.assign(True)
    assert not np.array_equal(numpy(next(iter(ds))), first)  # the seed moved on
    same = ksp.SamplePairing(seed=5)
    again = tf.data.Dataset.from_tensor_slices(IMAGES).batch(8).map(same)
    np.testing.assert_array_equal(numpy(next(iter(again))), first)


@check("pipeline")
def the_schedule_switches_a_mapped_layer_and_map():
    import tensorflow as tf

    for target in (ksp.SamplePairing(seed=0), ksp.samplepairing_map(seed=0)):
        recorder = MixRecorder()
        model = model_with(keras.layers.Identity(), recorder)
        ds = tf.data.Dataset.from_tensor_slices((IMAGES, LABELS)).batch(8).map(target)
        log = EpochLog(recorder)
        schedule = ksp.SamplePairingSchedule(warmup=1, on=1, off=1, targets=[target])
        model.fit(ds, epochs=4, verbose=0, callbacks=[schedule, log])
        assert log.mixed == [0, 1, 0, 1], (type(target).__name__, log.mixed)


@check("pipeline")
def a_features_model_in_tf_data_is_refused_clearly():
    import tensorflow as tf

    features = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten()])
    pairs = tf.data.Dataset.from_tensor_slices((IMAGES, LABELS)).batch(8)
    attempts = {
        "layer": lambda: pairs.map(ksp.SamplePairing(pairing="most_similar", features=features)),
        "map": lambda: pairs.map(ksp.samplepairing_map(pairing="most_similar", features=features)),
        "stream": lambda: ksp.WholeSetPairing(
            pairs.unbatch(), in_memory=False, lam="similarity", features=features
        ),
    }
    for name, attempt in attempts.items():
        try:
            attempt()
        except ValueError as error:
            assert "cannot run inside tf.data under the" in str(error), (name, error)
        else:
            raise AssertionError(f"{name}: a Keras features model was accepted in tf.data")
    # In memory, the set's features are computed once, outside the pipeline.
    whole = ksp.WholeSetPairing((IMAGES, LABELS), pairing="most_similar", features=features, k=2)
    next(iter(whole.dataset(8)))


@check("pipeline", backends=("jax",))
def export_serves_the_model_without_the_layer():
    import tensorflow as tf

    model = model_with(ksp.SamplePairing(lam="beta", seed=0))
    model.fit(IMAGES, LABELS, batch_size=8, epochs=1, verbose=0)
    path = os.path.join(tempfile.mkdtemp(), "exported")
    model.export(path, verbose=False)
    loaded = tf.saved_model.load(path)  # kept alive while it serves
    served = loaded.serve(tf.constant(IMAGES)).numpy()
    np.testing.assert_allclose(served, model.predict(IMAGES, verbose=0), rtol=1e-5, atol=1e-5)


def main() -> None:
    results = {}
    for group in ("model", "pipeline"):
        if group == "pipeline":
            sys.meta_path.remove(BLOCK)
        results[group] = {}
        for name, function in CHECKS.get(group, {}).items():
            try:
                function()
                results[group][name] = "ok"
            except Exception:  # noqa: BLE001 - reported per check
                results[group][name] = traceback.format_exc()
    with open(sys.argv[1], "w") as f:
        json.dump({"backend": BACKEND, "results": results}, f)


if __name__ == "__main__":
    main()
