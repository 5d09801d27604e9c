"""A Keras model that trains with SamplePairing and mixed labels."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from keras_samplepairing.ops.features import flat_features
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.pipeline import check_batch, sample_pairing


@keras.saving.register_keras_serializable(package="keras_samplepairing")
class PairingModel(keras.Model):
    """Trains ``head(encoder(x))`` on SamplePairing mixes with mixed labels.

    ``train_step`` pairs each batch on the device, inside the compiled step
    (XLA-compiled with the rest of it under ``jit_compile=True``). It mixes
    the inputs (``mix_at="input"``) or the encoder's output
    (``mix_at="hidden"``, as Manifold Mixup does), and it mixes the labels
    with the same λ and partner. ``evaluate``, ``predict`` and the exported
    model run ``head(encoder(x))`` on unmixed data.

    The labels the loss sees are float one-hot/soft labels
    (``label_mode="mix"``, the default), so compile with a categorical loss
    (``keras.losses.CategoricalCrossentropy``), not a sparse one. Integer
    labels are one-hot encoded with ``num_classes``.

    Args:
        encoder: model or layer from inputs to hidden features.
        head: model or layer from hidden features to predictions.
        mix_at: ``"input"`` or ``"hidden"``.
        seed: integer seed.
        **options: ``SamplePairing``'s options (``lam``, ``rate``,
            ``label_mode``, ``num_classes``, ``pairing``, ...). Similarity
            pairing uses the pixels (``mix_at="input"``) or the hidden
            features (``mix_at="hidden"``).

    Example:

    >>> encoder = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
    ...                             keras.layers.Dense(32, activation="relu")])
    >>> head = keras.layers.Dense(10)
    >>> model = PairingModel(encoder, head, mix_at="hidden", num_classes=10, seed=0)
    >>> model.compile("adam", keras.losses.CategoricalCrossentropy(from_logits=True))
    """

    def __init__(
        self,
        encoder: keras.layers.Layer,
        head: keras.layers.Layer,
        mix_at: str = "hidden",
        seed: int | None = None,
        **options: Any,
    ) -> None:
        model_kwargs = {k: options.pop(k) for k in ("name", "dtype", "trainable") if k in options}
        super().__init__(**model_kwargs)
        if mix_at not in ("input", "hidden"):
            raise ValueError(f"`mix_at` must be 'input' or 'hidden', got {mix_at!r}.")
        options.setdefault("label_mode", "mix")
        self.pairing_options = PairingOptions(**options)
        self._option_config = dict(options)
        self.encoder = encoder
        self.head = head
        self.mix_at = mix_at
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.enabled = keras.Variable(True, dtype="bool", trainable=False, name="enabled")

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return self.head(self.encoder(inputs, training=training), training=training)

    def mix_batch(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Predictions on a paired batch, and the labels for them.

        Runs in training mode; ``train_step`` calls it under the tape.
        """
        seed = tf.cast(self.seed_generator.next(), tf.int64)
        enabled = tf.convert_to_tensor(self.enabled)
        if self.mix_at == "input":
            batch = check_batch({"images": x, "labels": y}, self.pairing_options)
            mixed, _ = sample_pairing(batch, seed, self.pairing_options, enabled=enabled)
            return self(mixed["images"], training=True), mixed["labels"]
        hidden = self.encoder(x, training=True)
        batch = check_batch({"images": hidden, "labels": y}, self.pairing_options, min_rank=2)
        mixed, _ = sample_pairing(
            batch, seed, self.pairing_options, enabled=enabled, feature_fn=flat_features
        )
        return self.head(mixed["images"], training=True), mixed["labels"]

    def train_step(self, data: Any) -> dict:
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred, y_mixed = self.mix_batch(x, y)
            loss = self.compute_loss(
                x=x, y=y_mixed, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self.compute_metrics(x, y_mixed, y_pred, sample_weight=sample_weight)

    def get_config(self) -> dict:
        config = {
            "name": self.name,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "head": keras.saving.serialize_keras_object(self.head),
            "mix_at": self.mix_at,
            "seed": self.seed,
        }
        config.update(
            {k: list(v) if isinstance(v, tuple) else v for k, v in self._option_config.items()}
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> PairingModel:
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["head"] = keras.saving.deserialize_keras_object(config["head"])
        return cls(**config)
