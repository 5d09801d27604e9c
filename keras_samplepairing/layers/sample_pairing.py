"""The SamplePairing augmentation layer."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from keras_samplepairing.ops.compiled import shared_compiled_pairing
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.pipeline import check_batch
from keras_samplepairing.structure import unpack


@keras.saving.register_keras_serializable(package="keras_samplepairing")
class SamplePairing(keras.layers.Layer):
    """SamplePairing: mixes each image with a partner from the same batch.

    Inoue (2018), "Data Augmentation by Pairing Samples for Images
    Classification": each image ``x1`` is mixed with a partner ``x2`` as
    ``x' = λ·x1 + (1 - λ)·x2`` (λ = 0.5 in the paper) and keeps ``x1``'s
    label. Partners are chosen at random (a random single-cycle permutation
    of the batch, so nobody is their own partner when B >= 2) or by the
    semantic similarity of the two images' features.

    Where it runs:

    - Called directly (e.g. in ``tf.data``) with ``training`` unset, it
      augments.
    - Inside a functional or Sequential model it augments only when the
      model runs with ``training=True`` (``fit``) and is exactly the identity
      otherwise, also in the serving function that ``model.export`` writes.
      In a subclassed model, pass ``training=training`` to it. Once an
      instance has been wired into a model, an unset ``training`` means
      inference for that instance everywhere; pass ``training=True`` to
      augment with it outside the model, or use a second instance.

    Input formats: a 4-D image batch; a tuple ``(images, labels)``; or a
    dict ``{"images", "labels", "bounding_boxes", "segmentation_masks"}`` as
    ``keras.layers.MixUp`` takes it (other keys pass through). The output has
    the input's structure.

    Detection: the mixed image's boxes are the first image's followed by the
    partner's (dense ``(B, 2N, 4)`` or ragged), with
    ``bounding_boxes["box_weights"]``: λ for the first image's boxes, 1 - λ
    for the partner's, 0 for padding, to weight the detection loss. Box class
    keys ``"labels"`` (Keras) and ``"classes"`` (KerasCV) are both accepted
    and returned as given. Segmentation masks follow ``label_mode``: the
    first image's mask, or masks mixed with the pixels' λ (per pixel for
    ``mixing="spatial"``). Images
    keep their dtype: float images are mixed in their own dtype, integer
    images (uint8) in float32 and rounded to the nearest integer.

    Args:
        lam: the first image's share λ. A number in [0, 1] (default 0.5,
            the paper), ``"beta"`` (λ ~ Beta(alpha, alpha) per sample) or
            ``"similarity"`` (λ = 1 - s/2 from the pair's similarity s in
            [0, 1]: 0.5 for identical partners, 1 for unrelated ones).
        rate: the share of the batch that is paired, in [0, 1]; each sample
            is paired with probability ``rate``, the others pass through
            unchanged with their labels.
        label_mode: ``"first"`` keeps the first image's labels untouched
            (the paper; any dtype); ``"mix"`` returns float
            ``λ·y1 + (1 - λ)·y2``, one-hot encoding integer labels with
            ``num_classes``. With a λ that varies inside the image, a pair's
            label weight is the mean of its λ map.
        num_classes: number of classes; required for ``label_mode="mix"``
            with integer labels.
        pairing: ``"random"`` (the paper), ``"most_similar"``,
            ``"least_similar"`` or ``"sample"`` (partner drawn from
            softmax(similarity / temperature)); never the image itself for
            B >= 2.
        similarity: ``"cosine"``, ``"euclidean"`` (1 / (1 + mean squared
            difference)) or ``"kl"`` (exp(-KL(anchor || partner))).
        features: what similarity is computed on: ``"pooled"`` (images
            area-averaged to 8x8, flattened), ``"histogram"`` (per-channel
            16-bin intensity histograms over ``value_range``), or a Keras
            model/layer mapping images to ``(B, ...)`` features, called
            without gradient (pass a frozen one).
        temperature: > 0, softmax temperature for ``pairing="sample"``.
        class_constraint: ``"any"`` (the paper), ``"same"`` or
            ``"different"``: which labels a partner may have. Needs labels.
            A sample with no allowed partner gets a random one.
        alpha: Beta concentration for ``lam="beta"``, > 0.
        lam_range: ``(min, max)`` every λ is clipped into.
        mixing: ``"linear"`` (one λ per sample), ``"channel"`` (one λ per
            sample and channel) or ``"spatial"`` (a smooth λ field, a
            ``grid_size`` grid upsampled bilinearly); the last two need
            ``lam="beta"``.
        grid_size: grid side of the ``"spatial"`` λ field.
        value_range: ``(low, high)`` of pixel values, for histograms.
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults
            to ``keras.config.image_data_format()``.
        bounding_box_format: the boxes' format, one of Keras's
            (``"xyxy"``, ``"yxyx"``, ``"xywh"``, ``"center_xywh"``,
            ``"rel_*"``, ...). Boxes are never moved (both images of a batch
            share one size), so any format stays valid for the mix.
        label_smoothing: ε in [0, 1). If > 0, labels come back as float
            one-hot labels smoothed once after mixing, ``y·(1 - ε) + ε/K``
            (also for ``label_mode="first"``; integer labels need
            ``num_classes``). Do not smooth again in the loss.
        seed: integer seed; the same seed gives the same pairings.
        jit_compile: compile the math with XLA, which fuses the gather and
            the mix into one pass (inlined when the model itself is
            XLA-compiled). Set False only to debug.
        **kwargs: base layer keyword arguments (``name``, ``dtype``).

    Example:

    >>> images = np.random.uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    >>> labels = np.arange(8) % 4
    >>> layer = SamplePairing(label_mode="mix", num_classes=4, seed=1)
    >>> mixed_images, mixed_labels = layer((images, labels))
    >>> mixed_labels.shape
    TensorShape([8, 4])
    """

    # Features for similarity when they are not the images' (hidden features).
    _feature_fn = None

    def __init__(
        self,
        lam: float | str = 0.5,
        rate: float = 1.0,
        label_mode: str = "first",
        num_classes: int | None = None,
        pairing: str = "random",
        similarity: str = "cosine",
        features: str | keras.layers.Layer = "pooled",
        temperature: float = 1.0,
        class_constraint: str = "any",
        alpha: float = 1.0,
        lam_range: tuple[float, float] = (0.0, 1.0),
        mixing: str = "linear",
        grid_size: int = 4,
        value_range: tuple[float, float] = (0.0, 255.0),
        data_format: str | None = None,
        bounding_box_format: str = "xyxy",
        label_smoothing: float = 0.0,
        seed: int | None = None,
        jit_compile: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.options = PairingOptions(
            lam=lam,
            alpha=alpha,
            lam_range=lam_range,
            rate=rate,
            label_mode=label_mode,
            num_classes=num_classes,
            pairing=pairing,
            similarity=similarity,
            features=features,
            temperature=temperature,
            class_constraint=class_constraint,
            mixing=mixing,
            grid_size=grid_size,
            value_range=value_range,
            data_format=data_format or keras.config.image_data_format(),
            bounding_box_format=bounding_box_format,
            label_smoothing=label_smoothing,
        )
        self.seed = seed
        self.jit_compile = jit_compile
        self._compiled = shared_compiled_pairing(self.options, jit_compile, self._feature_fn)
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Read at run time, so a schedule can switch pairing off and on
        # without retracing or recompiling.
        self.enabled = keras.Variable(True, dtype="bool", trainable=False, name="enabled")
        self._in_model = False

    def compute_output_spec(self, inputs: Any, training: bool | None = None) -> Any:
        # Keras calls this only for symbolic inputs, i.e. when the layer is
        # wired into a functional/Sequential model. From then on an unset
        # `training` means inference (predict, serving), never augmentation.
        self._in_model = True
        return super().compute_output_spec(inputs, training=training)

    def _active(self, training: Any) -> Any:
        """True, False, or a bool tensor: whether this call augments."""
        if training is None:
            return not self._in_model
        if isinstance(training, bool):
            return training
        return tf.cast(training, tf.bool)

    def _pair(self, batch: dict, active: Any) -> tuple[dict, dict]:
        """Runs the compiled pipeline with this layer's seed and switches."""
        enabled = tf.convert_to_tensor(self.enabled)
        if active is not True:
            enabled = tf.logical_and(enabled, active)
        seed = tf.cast(self.seed_generator.next(), tf.int64)
        replica = tf.distribute.get_replica_context()
        if replica is not None and replica.num_replicas_in_sync > 1:
            # Every replica draws the same seed; folding in its id keeps the
            # replicas' pairings independent of each other.
            seed = tf.random.experimental.stateless_fold_in(
                seed, tf.cast(replica.replica_id_in_sync_group, tf.int64)
            )
        return self._compiled(batch, seed, enabled)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        active = self._active(training)
        if active is False:
            return inputs
        batch, repack = unpack(inputs)
        batch = check_batch(batch, self.options)
        outputs, _ = self._pair(batch, active)
        return repack(outputs)

    def get_config(self) -> dict:
        config = super().get_config()
        options = self.options
        features = options.features
        if callable(features):
            features = keras.saving.serialize_keras_object(features)
        config.update(
            {
                "lam": options.lam,
                "rate": options.rate,
                "label_mode": options.label_mode,
                "num_classes": options.num_classes,
                "pairing": options.pairing,
                "similarity": options.similarity,
                "features": features,
                "temperature": options.temperature,
                "class_constraint": options.class_constraint,
                "alpha": options.alpha,
                "lam_range": list(options.lam_range),
                "mixing": options.mixing,
                "grid_size": options.grid_size,
                "value_range": list(options.value_range),
                "data_format": options.data_format,
                "bounding_box_format": options.bounding_box_format,
                "label_smoothing": options.label_smoothing,
                "seed": self.seed,
                "jit_compile": self.jit_compile,
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> SamplePairing:
        config = dict(config)
        if isinstance(config.get("features"), dict):
            config["features"] = keras.saving.deserialize_keras_object(config["features"])
        return cls(**config)
