"""The SamplePairing augmentation layer."""

from __future__ import annotations

import inspect
from typing import Any

import keras

from keras_samplepairing.engine.engine import PairingEngine
from keras_samplepairing.engine.state import SeedStream, Switch, tensorflow_loaded
from keras_samplepairing.ops.apply import (
    apply_to_bounding_boxes,
    apply_to_images,
    apply_to_labels,
    apply_to_segmentation_masks,
)
from keras_samplepairing.ops.draw import Pairing
from keras_samplepairing.ops.namespace import namespace
from keras_samplepairing.ops.options import PairingOptions, option_parameters, options_doc

# Keyword arguments that go to keras.layers.Layer, not to the options.
LAYER_KWARGS = ("name", "dtype", "trainable", "autocast", "input_shape", "batch_input_shape")


def _in_tensorflow_graph(inputs: Any) -> bool:
    if not tensorflow_loaded() or keras.config.backend() == "tensorflow":
        return False
    import tensorflow as tf

    return not tf.executing_eagerly()


@keras.saving.register_keras_serializable(package="keras_samplepairing")
class SamplePairing(keras.layers.Layer):
    """SamplePairing: mixes each image with a partner from the same batch.

    Inoue (2018), "Data Augmentation by Pairing Samples for Images
    Classification": each image ``x1`` is mixed with a partner ``x2`` as
    ``x' = λ·x1 + (1 - λ)·x2`` (λ = 0.5 in the paper) and keeps ``x1``'s
    label. Partners are chosen at random (a random single-cycle permutation
    of the batch, so nobody is their own partner) or by the semantic
    similarity of the two images' features. An image without an allowed
    partner (a batch of one, or a class constraint nobody else in the batch
    meets) is returned unchanged, with its own labels and boxes.

    Where it runs, under every Keras backend (TensorFlow, JAX, PyTorch):

    - Mapped over a ``tf.data`` pipeline (``ds.map(layer)``), it augments
      every batch with a new pairing; inside ``tf.data`` it always runs as
      TensorFlow.
    - Inside a functional or Sequential model it augments only when the
      model runs with ``training=True`` (``fit``) and is exactly the identity
      otherwise, also in the serving function that ``model.export`` writes.
      In a subclassed model, pass ``training=training`` to it. Once an
      instance has been wired into a model, an unset ``training`` means
      inference for that instance everywhere; pass ``training=True`` to
      augment with it outside the model, or use a second instance.

    Input formats: a 4-D image batch; a tuple ``(images, labels)`` or
    ``(images, labels, sample_weight)``; or a dict ``{"images", "labels",
    "bounding_boxes", "segmentation_masks"}`` as ``keras.layers.MixUp`` takes
    it. Any other dict key raises, unless named in ``passthrough_keys``. The
    output has the input's structure.

    Labels are read by their shape: integer ``(B,)``/``(B, 1)`` are class
    indices, ``(B, K)`` one-hot or soft labels whatever their dtype, float
    ``(B,)`` class indices when ``num_classes`` is given and scalar targets
    otherwise.

    Detection: the mixed image's boxes are the first image's followed by the
    partner's (dense ``(B, 2N, 4)`` or ragged), with
    ``bounding_boxes["box_weights"]``: λ for the first image's boxes, 1 - λ
    for the partner's, 0 for padding, to weight the detection loss. Box class
    keys ``"labels"`` (Keras) and ``"classes"`` (KerasCV) are both accepted
    and returned as given. Segmentation masks follow ``label_mode``. Images
    keep their dtype: float images are mixed in their own dtype, integer
    images (uint8) in float32 and rounded to the nearest integer, ties to
    even. Like every Keras layer, the layer first casts float inputs to its
    compute dtype (``autocast=False`` or ``dtype=`` keeps float16 as given).

    Args:
        {options}
        seed: integer seed; the same seed gives the same pairings, with or
            without ``jit_compile``.
        jit_compile: compile the per-pixel mix with XLA (TensorFlow), which
            fuses the gather and the mix into one pass; under JAX, the step
            runs in ``jax.jit``. Set False only to debug.
        **kwargs: base layer keyword arguments (``name``, ``dtype``).

    Example:

    >>> images = np.random.uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    >>> labels = np.arange(8) % 4
    >>> layer = SamplePairing(label_mode="mix", num_classes=4, seed=1)
    >>> mixed_images, mixed_labels = layer((images, labels))
    >>> tuple(mixed_labels.shape)
    (8, 4)
    """

    # Features for similarity when they are not the images' (hidden features).
    _feature_fn = None
    # The smallest rank of the batch (4: images).
    _min_rank = 4

    def __init__(self, seed: int | None = None, jit_compile: bool = True, **kwargs: Any) -> None:
        layer_kwargs = {k: kwargs.pop(k) for k in LAYER_KWARGS if k in kwargs}
        super().__init__(**layer_kwargs)
        self.options = PairingOptions.from_kwargs(type(self).__name__, **kwargs)
        if isinstance(self.options.features, keras.layers.Layer):
            # Tracked as a sublayer: its weights are saved, loaded and listed
            # in `layer.weights` (non-trainable when the model is frozen).
            self.features_model = self.options.features
        self.seed = seed
        self.jit_compile = jit_compile
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Read at run time, so a schedule can switch pairing off and on
        # without retracing or recompiling.
        self.enabled_variable = keras.Variable(True, dtype="bool", trainable=False, name="enabled")
        self.enabled = Switch(self.enabled_variable)
        self._engine = PairingEngine(
            self.options,
            SeedStream(seed, self.seed_generator),
            self.enabled,
            jit_compile=jit_compile,
            feature_fn=self._feature_fn,
            min_rank=self._min_rank,
        )
        self._in_model = False

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if args and not isinstance(args[0], (bool, type(None))):
            # `ds.map(layer)` over (images, labels[, sample_weight]) elements
            # passes them as separate arguments.
            inputs, args = (inputs, *args), ()
        if not _in_tensorflow_graph(inputs):
            return super().__call__(inputs, *args, **kwargs)
        # In tf.data under JAX or PyTorch: Keras would turn the graph's
        # tensors into the backend's arrays, which a graph cannot do. The
        # layer runs as TensorFlow there, as Keras's own data layers do.
        saved = self._convert_input_args, self._allow_non_tensor_positional_args
        self._convert_input_args, self._allow_non_tensor_positional_args = False, True
        try:
            return super().__call__(inputs, *args, **kwargs)
        finally:
            self._convert_input_args, self._allow_non_tensor_positional_args = saved

    def compute_output_spec(self, inputs: Any, training: bool | None = None) -> Any:
        # Keras calls this only for symbolic inputs, i.e. when the layer is
        # wired into a functional/Sequential model. From then on an unset
        # `training` means inference (predict, serving), never augmentation.
        self._in_model = True
        return super().compute_output_spec(inputs, training=training)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Images keep their shape; class-index labels become ``(B, K)`` when
        they are one-hot encoded (``label_mode="mix"`` or smoothing)."""
        # Wrappers such as TimeDistributed ask for shapes, not specs, when a
        # model is built, and then call `call` with an unset `training`.
        self._in_model = True
        if isinstance(input_shape, dict):
            return {key: self._target_shape(key, shape) for key, shape in input_shape.items()}
        if (
            isinstance(input_shape, (tuple, list))
            and input_shape
            and isinstance(input_shape[0], (tuple, list))
        ):
            keys = ("images", "labels", "sample_weight")
            return type(input_shape)(
                self._target_shape(key, shape)
                for key, shape in zip(keys, input_shape, strict=False)
            )
        return input_shape

    def _target_shape(self, key: str, shape: Any) -> Any:
        options = self.options
        one_hot = options.label_mode == "mix" or options.label_smoothing > 0
        index_shaped = len(shape) == 1 or (len(shape) == 2 and shape[-1] == 1)
        if key == "labels" and one_hot and options.num_classes and index_shaped:
            return (shape[0], options.num_classes)
        if key == "bounding_boxes":
            boxes, count = dict(shape), shape["boxes"][1]
            doubled = None if count is None else 2 * count
            for name in boxes:
                if name != "boxes":
                    boxes[name] = (shape["boxes"][0], doubled)
            boxes["boxes"] = (shape["boxes"][0], doubled, 4)
            boxes["box_weights"] = (shape["boxes"][0], doubled)
            return boxes
        return tuple(shape) if isinstance(shape, list) else shape

    def _active(self, training: Any) -> Any:
        """True, False, or a bool tensor: whether this call augments."""
        if training is None:
            return not self._in_model
        if isinstance(training, bool):
            return training
        return training

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        active = self._active(training)
        if active is False:
            return inputs
        return self._engine.pair(inputs, active)

    # Keras's split of a random augmentation: draw once, apply to each target.

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        """Draws one pairing for ``data`` (images, a tuple or a dict).

        Returns:
            A ``keras_samplepairing.ops.Pairing``: each row's partner, which
            rows are paired, the mixing weights and the label weights; or
            None when ``training`` is False.
        """
        if not training:
            return None
        batch, _, xp = self._engine.prepare(data)
        compiled = self._engine.compiled(xp)
        if seed is None:
            seed = self._engine.stream.next_keras()
        return compiled.draw(
            batch["images"], batch.get("labels"), xp.seed_tensor(xp.asarray(seed)), True
        )

    def transform_images(
        self, images: Any, transformation: Pairing | None, training: bool = True
    ) -> Any:
        """The images mixed by ``transformation`` (from ``get_random_transformation``)."""
        if transformation is None or not training:
            return images
        return apply_to_images(namespace(transformation.partners).asarray(images), transformation)

    def transform_labels(
        self, labels: Any, transformation: Pairing | None, training: bool = True
    ) -> Any:
        """The labels for the mix, by ``label_mode``."""
        if transformation is None or not training:
            return labels
        xp = namespace(transformation.partners)
        return apply_to_labels(xp.asarray(labels), transformation, self.options)

    def transform_bounding_boxes(
        self, bounding_boxes: dict, transformation: Pairing | None, training: bool = True
    ) -> dict:
        """Both images' boxes, with ``box_weights``."""
        if transformation is None or not training:
            return bounding_boxes
        return apply_to_bounding_boxes(bounding_boxes, transformation)

    def transform_segmentation_masks(
        self, segmentation_masks: Any, transformation: Pairing | None, training: bool = True
    ) -> Any:
        """The masks for the mix, by ``label_mode``."""
        if transformation is None or not training:
            return segmentation_masks
        xp = namespace(transformation.partners)
        return apply_to_segmentation_masks(
            xp.asarray(segmentation_masks), transformation, self.options
        )

    def get_config(self) -> dict:
        config = super().get_config()
        options = self.options.to_config()
        if callable(self.options.features):
            options["features"] = keras.saving.serialize_keras_object(self.options.features)
        config.update(options)
        config.update({"seed": self.seed, "jit_compile": self.jit_compile})
        return config

    @classmethod
    def from_config(cls, config: dict) -> SamplePairing:
        config = dict(config)
        if isinstance(config.get("features"), dict):
            config["features"] = keras.saving.deserialize_keras_object(config["features"])
        return cls(**config)


SamplePairing.__doc__ = SamplePairing.__doc__.replace("{options}", options_doc(indent=8).lstrip())
SamplePairing.__init__.__signature__ = inspect.Signature(
    [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("seed", inspect.Parameter.KEYWORD_ONLY, default=None),
        inspect.Parameter("jit_compile", inspect.Parameter.KEYWORD_ONLY, default=True),
        *option_parameters(),
        inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
    ]
)
