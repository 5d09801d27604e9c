"""The trainer: mixed inputs or hidden features with mixed labels in train_step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import PairingModel
from keras_samplepairing.ops import apply_pairing, draw_batch_pairing

X = np.random.default_rng(0).uniform(0, 255, (8, 6, 6, 1)).astype("float32")
Y = np.arange(8) % 4


def _parts():
    encoder = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
        ]
    )
    return encoder, keras.layers.Dense(4)


def _spy_loss():
    seen = tf.Variable(tf.zeros([8, 4]), trainable=False)

    def loss(y_true, y_pred):
        seen.assign(tf.cast(y_true, tf.float32))
        return keras.losses.categorical_crossentropy(y_true, y_pred, from_logits=True)

    return seen, loss


@pytest.mark.parametrize("mix_at", ["input", "hidden"])
def test_train_step_feeds_mixed_labels_and_updates_weights(mix_at):
    model = PairingModel(*_parts(), mix_at=mix_at, num_classes=4, seed=0)
    seen, loss = _spy_loss()
    model.compile("adam", loss, jit_compile=True)
    model.build((None, 6, 6, 1))
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    labels = seen.numpy()
    one_hot = np.eye(4)[Y]
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-6)
    # λ = 0.5 with a partner from the batch: entries are 0, 0.5 or 1 and the
    # own class keeps at least half.
    assert set(np.unique(labels)) <= {0.0, 0.5, 1.0}
    assert np.all(labels[np.arange(8), Y] >= 0.5)
    assert not np.allclose(labels, one_hot)  # mixed, not the raw labels
    assert any(
        not np.array_equal(b, w) for b, w in zip(before, model.trainable_weights, strict=True)
    )
    # evaluate sees unmixed data and the labels one-hot encoded by the user.
    model.evaluate(X, one_hot, batch_size=8, verbose=0)
    np.testing.assert_array_equal(seen.numpy(), one_hot)


def test_predict_is_unaffected_and_model_saves(tmp_path):
    encoder, head = _parts()
    model = PairingModel(encoder, head, mix_at="hidden", num_classes=4, lam="beta", seed=3)
    model.compile("adam", keras.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0)
    np.testing.assert_allclose(model.predict(X, verbose=0), head(encoder(X)), rtol=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(loaded, PairingModel) and loaded.mix_at == "hidden"
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-5)
    model.export(str(tmp_path / "exported"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "exported"))  # keep it alive
    served = reloaded.serve(tf.constant(X))
    np.testing.assert_allclose(served, model.predict(X, verbose=0), rtol=1e-5, atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="mix_at"):
        PairingModel(*_parts(), mix_at="output")
    model = PairingModel(*_parts(), seed=0)  # mix labels, integer labels, no num_classes
    model.compile("adam", keras.losses.CategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="num_classes"):
        model.fit(X, Y, epochs=1, verbose=0)


def test_fit_reports_the_loss_of_the_mixed_batch():
    encoder, head = _parts()
    model = PairingModel(encoder, head, mix_at="input", num_classes=4, seed=0)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.SGD(0.0), loss_fn)  # weights stay as they are
    model.build((None, 6, 6, 1))
    seed = tf.constant(model.seed_generator.state.numpy())  # the draw's seed
    history = model.fit(X, Y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    loss = history.history["loss"][0]
    assert np.isfinite(loss) and loss > 0
    pairing = draw_batch_pairing(seed, tf.constant(X), model.pairing_options)
    mixed = apply_pairing(
        {"images": tf.constant(X), "labels": tf.constant(Y)}, pairing, model.pairing_options
    )
    expected = loss_fn(mixed["labels"], model(mixed["images"], training=False))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_evaluate_and_validation_take_the_labels_fit_takes():
    model = PairingModel(*_parts(), mix_at="hidden", num_classes=4, seed=0)
    model.compile(
        "adam", keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    history = model.fit(X, Y, validation_data=(X, Y), batch_size=4, epochs=2, verbose=0)
    assert all(np.isfinite(history.history[key]).all() for key in ("loss", "val_loss"))
    loss, accuracy = model.evaluate(X, Y, verbose=0)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
    with pytest.raises(ValueError, match=r"class indices in \[0, 4\)"):
        model.fit(X, Y + 4, epochs=1, verbose=0)


def test_sample_weights_are_mixed_with_the_labels():
    seen = tf.Variable(tf.zeros([8]), trainable=False)

    class Spy(keras.losses.Loss):
        def __call__(self, y_true, y_pred, sample_weight=None):
            seen.assign(tf.cast(sample_weight, tf.float32))
            return keras.losses.categorical_crossentropy(y_true, y_pred, from_logits=True)

    model = PairingModel(*_parts(), mix_at="input", num_classes=4, seed=0)
    model.compile(keras.optimizers.SGD(0.0), Spy())
    model.build((None, 6, 6, 1))
    seed = tf.constant(model.seed_generator.state.numpy())
    weights = np.arange(1, 9, dtype="float32")
    model.fit(X, Y, sample_weight=weights, batch_size=8, epochs=1, verbose=0, shuffle=False)
    partners = draw_batch_pairing(seed, tf.constant(X), model.pairing_options).partners.numpy()
    np.testing.assert_allclose(seen.numpy(), 0.5 * weights + 0.5 * weights[partners])


def test_unknown_options_are_named():
    with pytest.raises(TypeError, match="Did you mean 'label_mode'"):
        PairingModel(*_parts(), labelmode="mix")
