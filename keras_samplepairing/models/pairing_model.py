"""A Keras model that trains with SamplePairing and mixed labels."""

from __future__ import annotations

import threading
from typing import Any

import keras
import numpy as np

from keras_samplepairing.engine.engine import batch_namespace
from keras_samplepairing.engine.owner import owner_state
from keras_samplepairing.ops.apply import apply_to_labels, apply_to_sample_weights
from keras_samplepairing.ops.draw import Pairing
from keras_samplepairing.ops.features import flat_features
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.targets import is_class_index

MODEL_KWARGS = ("name", "dtype", "trainable")


@keras.saving.register_keras_serializable(package="keras_samplepairing")
class PairingModel(keras.Model):
    """Trains ``head(encoder(x))`` on SamplePairing mixes with mixed labels.

    In training (``fit``) the model pairs each batch inside the compiled
    train step, under every Keras backend: it mixes the inputs
    (``mix_at="input"``) or the encoder's output (``mix_at="hidden"``, as
    Manifold Mixup does), and the loss sees the labels (and sample weights)
    mixed with the same λ and partner. ``evaluate``, ``predict`` and the
    exported model run ``head(encoder(x))`` on unmixed data.

    It uses Keras's own train step on every backend: the pairing drawn in
    ``call`` is handed to ``compute_loss`` within the same step, so the loss
    tracker, metrics, callbacks and distribution work as for any model.

    Labels: with ``label_mode="mix"`` (the default) the loss gets float
    one-hot/soft labels, so compile with a categorical loss
    (``keras.losses.CategoricalCrossentropy``). Class indices are one-hot
    encoded with ``num_classes``, in ``fit``, ``evaluate`` and validation
    alike, so the same labels work everywhere. Metrics see the first
    sample's labels in that form. Class indices given as arrays are checked
    to be in range before training; inside a compiled step an index out of
    range cannot be caught (XLA has no assertions) and encodes as all zeros.

    Args:
        encoder: model or layer from inputs to hidden features.
        head: model or layer from hidden features to predictions.
        mix_at: ``"input"`` or ``"hidden"``.
        seed: integer seed.
        jit_compile: compile the pairing's per-pixel mix with XLA when the
            step itself is not compiled.
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
        jit_compile: bool = True,
        **options: Any,
    ) -> None:
        model_kwargs = {k: options.pop(k) for k in MODEL_KWARGS if k in options}
        super().__init__(**model_kwargs)
        if mix_at not in ("input", "hidden"):
            raise ValueError(f"`mix_at` must be 'input' or 'hidden', got {mix_at!r}.")
        options.setdefault("label_mode", "mix")
        self.pairing_options = PairingOptions.from_kwargs("PairingModel", **options)
        self.encoder = encoder
        self.head = head
        self.mix_at = mix_at
        self.seed = seed
        self.jit_compile_pairing = jit_compile
        hidden = mix_at == "hidden"
        state = owner_state(
            self.pairing_options,
            seed,
            in_model=True,
            jit_compile=jit_compile,
            feature_fn=flat_features if hidden else None,
            min_rank=2 if hidden else 4,
        )
        self.seed_generator = state.seed_generator  # tracked: saved with the model
        self.enabled_variable = state.enabled_variable
        self.enabled = state.switch
        self._engine = state.engine
        # What one train step hands from `train_step` to `call` (the labels,
        # for a class constraint) and from `call` to `compute_loss` (the
        # pairing). Per thread: tf.distribute runs one replica per thread.
        self._step = threading.local()

    def build(self, input_shape: Any) -> None:
        if not self.encoder.built:
            self.encoder.build(input_shape)
        if not self.head.built:
            self.head.build(self.encoder.compute_output_shape(input_shape))
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not training:
            return self.head(self.encoder(inputs, training=training), training=training)
        labels = getattr(self._step, "labels", None)
        if self.mix_at == "input":
            hidden = self.encoder(self._mix(inputs, labels), training=True)
        else:
            hidden = self._mix(self.encoder(inputs, training=True), labels)
        return self.head(hidden, training=True)

    def _mix(self, x: Any, labels: Any) -> Any:
        # Labels go in only to choose partners by class; the loss mixes them.
        needs_labels = self.pairing_options.class_constraint != "any"
        batch = {"images": x, "labels": labels} if needs_labels else {"images": x}
        outputs, pairing = self._engine.pair(batch, with_pairing=True)
        self._step.pairing = pairing
        return outputs["images"]

    def train_step(self, *args: Any) -> Any:
        # TensorFlow and PyTorch call train_step(data), JAX train_step(state, data).
        _, y, _ = keras.utils.unpack_x_y_sample_weight(args[-1])
        self._step.labels = y
        try:
            return super().train_step(*args)
        finally:
            self._step.labels = None

    def _target_labels(self, y: Any, pairing: Pairing | None) -> Any:
        """The labels the loss and metrics see: one-hot/smoothed as the options
        say, and mixed by ``pairing`` when one was drawn."""
        if y is None:
            return y
        xp = batch_namespace(y)
        y = xp.asarray(y)
        if pairing is None:
            size = xp.shape(y)[0]
            unpaired = xp.full([size], False, "bool")
            pairing = Pairing(xp.arange(size), unpaired, None, xp.full([size], 1.0, "float32"))
        return apply_to_labels(y, pairing, self.pairing_options)

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        pairing = getattr(self._step, "pairing", None) if training else None
        self._step.pairing = None
        if pairing is not None and sample_weight is not None:
            xp = batch_namespace(sample_weight)
            sample_weight = apply_to_sample_weights(
                xp.asarray(sample_weight), pairing, self.pairing_options
            )
        return super().compute_loss(
            x=x,
            y=self._target_labels(y, pairing),
            y_pred=y_pred,
            sample_weight=sample_weight,
            training=training,
        )

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict:
        return super().compute_metrics(x, self._target_labels(y, None), y_pred, sample_weight)

    def _check_labels(self, y: Any) -> None:
        options = self.pairing_options
        if not isinstance(y, np.ndarray) or options.num_classes is None:
            return
        in_range = not y.size or (y.min() >= 0 and y.max() < options.num_classes)
        if is_class_index(y, options.num_classes) and not in_range:
            raise ValueError(
                f"`y` must be class indices in [0, {options.num_classes}) (num_classes), "
                f"got values from {y.min()} to {y.max()}."
            )

    def fit(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        self._check_labels(y)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        self._check_labels(y)
        return super().evaluate(x, y, *args, **kwargs)

    def get_config(self) -> dict:
        config = {
            "name": self.name,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "head": keras.saving.serialize_keras_object(self.head),
            "mix_at": self.mix_at,
            "seed": self.seed,
            "jit_compile": self.jit_compile_pairing,
        }
        config.update(self.pairing_options.to_config())
        if callable(self.pairing_options.features):
            config["features"] = keras.saving.serialize_keras_object(self.pairing_options.features)
        return config

    @classmethod
    def from_config(cls, config: dict) -> PairingModel:
        config = dict(config)
        for key in ("encoder", "head", "features"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
