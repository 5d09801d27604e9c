"""The SamplePairing augmentation layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from keras_samplepairing.engine.owner import owner_state
from keras_samplepairing.engine.state import tensorflow_loaded
from keras_samplepairing.ops.draw import Pairing
from keras_samplepairing.ops.namespace import namespace
from keras_samplepairing.ops.options import PairingOptions, check_names

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
        lam: The first image's share λ. A number in [0, 1] (0.5, the paper),
            `"beta"` (λ ~ Beta(alpha, alpha) per sample) or `"similarity"` (λ =
            1 - s/2 from the pair's similarity s in [0, 1]: 0.5 for identical
            partners, 1 for unrelated ones).
        alpha: Beta concentration for `lam="beta"`, > 0.
        lam_range: `(min, max)` every λ is clipped into.
        rate: The share of the batch that is paired, in [0, 1]; each sample is
            paired with probability `rate`, the others pass through unchanged
            with their labels.
        label_mode: `"first"` keeps the first image's labels untouched (the
            paper; any dtype); `"mix"` returns float `λ·y1 + (1 - λ)·y2`,
            one-hot encoding class indices with `num_classes`. With a λ that varies
            inside the image, a pair's label weight is the mean of its λ map.
            Sample weights follow the labels.
        num_classes: Number of classes; required for `label_mode="mix"` or
            `label_smoothing` with class indices.
        pairing: `"random"` (the paper), `"most_similar"`, `"least_similar"` or
            `"sample"` (partner drawn from softmax(similarity / temperature));
            never the image itself.
        similarity: `"cosine"`, `"euclidean"` (1 / (1 + mean squared
            difference)) or `"kl"` (exp(-KL(anchor || partner))).
        features: What similarity is computed on: `"pooled"` (images
            area-averaged to 8x8, flattened), `"histogram"` (per-channel 16-bin
            intensity histograms over `value_range`), or a Keras model mapping
            the images, as given, to `(B, ...)` features. A model is called
            without gradient and saved with the layer, weights included.
        temperature: Softmax temperature for `pairing="sample"`, > 0.
        class_constraint: `"any"` (the paper), `"same"` or `"different"`: which
            labels a partner may have. Needs labels. A sample with no allowed
            partner in its batch is left unpaired (returned unchanged).
        mixing: `"linear"` (one λ per sample), `"channel"` (one λ per sample and
            channel) or `"spatial"` (a smooth λ field, a `grid_size` grid
            upsampled bilinearly); the last two need `lam="beta"`.
        grid_size: Grid side of the `"spatial"` λ field.
        value_range: `(low, high)` of pixel values, for histograms.
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.
        bounding_box_format: The boxes' Keras format (`"xyxy"`, `"yxyx"`,
            `"xywh"`, `"center_xywh"`, `"rel_*"`, ...). Boxes are never moved
            (both images of a pair share one size), so any format stays valid
            for the mix.
        label_smoothing: ε in [0, 1). If > 0, labels come back as float one-hot
            labels smoothed once after mixing, `y·(1 - ε) + ε/K` (also for
            `label_mode="first"`; class indices need `num_classes`); binary
            targets `(B,)` or `(B, 1)` as binary cross-entropy smooths them,
            `y·(1 - ε) + ε/2`. Do not smooth again in the loss.
        passthrough_keys: Keys of a dict batch returned unchanged, for metadata
            that must not follow the mix (e.g. ids). Any other key besides the
            images, labels, sample weights, boxes and masks raises: a per-sample
            value left unmixed would silently belong to the wrong image.
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

    def __init__(
        self,
        *,
        lam: float | str = 0.5,
        alpha: float = 1.0,
        lam_range: tuple[float, float] = (0.0, 1.0),
        rate: float = 1.0,
        label_mode: str = "first",
        num_classes: int | None = None,
        pairing: str = "random",
        similarity: str = "cosine",
        features: str | Callable = "pooled",
        temperature: float = 1.0,
        class_constraint: str = "any",
        mixing: str = "linear",
        grid_size: int = 4,
        value_range: tuple[float, float] = (0.0, 255.0),
        data_format: str | None = None,
        bounding_box_format: str = "xyxy",
        label_smoothing: float = 0.0,
        passthrough_keys: tuple[str, ...] = (),
        seed: int | None = None,
        jit_compile: bool = True,
        **kwargs: Any,
    ) -> None:
        arguments = locals()
        options = {name: arguments[name] for name in PairingOptions.names()}
        layer_kwargs = {k: kwargs.pop(k) for k in LAYER_KWARGS if k in kwargs}
        check_names(type(self).__name__, kwargs, [*options, "seed", "jit_compile"])
        super().__init__(**layer_kwargs)
        self.options = PairingOptions(**options)
        if isinstance(self.options.features, keras.layers.Layer):
            # Tracked as a sublayer: its weights are saved, loaded and listed
            # in `layer.weights` (non-trainable when the model is frozen).
            self.features_model = self.options.features
        self.seed = seed
        self.jit_compile = jit_compile
        state = owner_state(
            self.options,
            seed,
            in_model=True,
            jit_compile=jit_compile,
            feature_fn=self._feature_fn,
            min_rank=self._min_rank,
        )
        self.seed_generator = state.seed_generator  # tracked: saved with the layer
        self.enabled_variable = state.enabled_variable
        self.enabled = state.switch
        self._engine = state.engine
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
        shapes = self.compute_output_shape(keras.tree.map_structure(lambda t: t.shape, inputs))
        if isinstance(inputs, dict):
            return {key: self._target_spec(key, inputs[key], shapes[key]) for key in inputs}
        if isinstance(inputs, (tuple, list)):
            keys = ("images", "labels", "sample_weight")
            return type(inputs)(
                self._target_spec(key, value, shape)
                for key, value, shape in zip(keys, inputs, shapes, strict=False)
            )
        return self._target_spec("images", inputs, shapes)

    def _target_spec(self, key: str, value: Any, shape: Any) -> Any:
        """The output's spec for one input: images keep their dtype (as the
        mix does), mixed or smoothed labels and weights become float."""
        if key == "bounding_boxes":
            specs = {
                name: keras.KerasTensor(shape[name], dtype=value[name].dtype) for name in value
            }
            specs["box_weights"] = keras.KerasTensor(shape["box_weights"], dtype="float32")
            return specs
        dtype = keras.backend.standardize_dtype(value.dtype)
        mixes = self.options.label_mode == "mix"
        smooths = key == "labels" and self.options.label_smoothing > 0
        if key in ("labels", "segmentation_masks") and (mixes or smooths):
            dtype = dtype if dtype in ("float16", "bfloat16") else "float32"
        elif key == "sample_weight" and mixes:
            dtype = "float32"
        return keras.KerasTensor(shape, dtype=dtype)

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
        # One compiled call per batch: the engine runs the draw and the
        # transforms below together.
        return self._engine.pair(inputs, active, transform=self._transform_batch)

    def _transform_batch(
        self, batch: dict, seed: Any, enabled: Any, partners: Any = None
    ) -> tuple[dict, Pairing]:
        """Keras's split of a random augmentation: draw once, then transform
        each target with the same draw."""
        transformation = self._draw(batch, seed, enabled)  # get_random_transformation's
        transforms = {
            "images": self.transform_images,
            "labels": self.transform_labels,
            "sample_weight": self.transform_sample_weights,
            "bounding_boxes": self.transform_bounding_boxes,
            "segmentation_masks": self.transform_segmentation_masks,
        }
        outputs = {key: transforms[key](value, transformation) for key, value in batch.items()}
        return outputs, transformation

    # Keras's split of a random augmentation: draw once, apply to each target.

    def get_random_transformation(
        self, data: Any, training: bool = True, seed: Any = None, enabled: Any = True
    ) -> Pairing | None:
        """Draws one pairing for ``data`` (images, a tuple or a dict).

        Args:
            data: the batch, in any input format.
            training: False returns None (no augmentation).
            seed: optional stateless seed (default: the layer's next one).
            enabled: scalar bool; False draws a pairing that leaves every
                row unpaired.

        Returns:
            A ``keras_samplepairing.ops.Pairing``: each row's partner, which
            rows are paired, the mixing weights and the label weights; or
            None when ``training`` is False.
        """
        if not training:
            return None
        batch, _, _ = self._engine.prepare(data)
        return self._draw(
            batch, self._engine.stream.next_keras() if seed is None else seed, enabled
        )

    def _draw(self, batch: dict, seed: Any, enabled: Any) -> Pairing:
        """The engine's compiled draw for a checked batch."""
        xp = namespace(batch["images"])
        compiled = self._engine.compiled(xp).from_eager()
        return compiled.draw(
            batch["images"],
            batch.get("labels"),
            xp.seed_tensor(xp.asarray(seed)),
            xp.asarray(enabled, "bool"),
        )

    def _apply(self, key: str, value: Any, transformation: Pairing) -> Any:
        """One target mixed by the engine's compiled apply."""
        xp = namespace(transformation.partners)
        if key != "bounding_boxes":
            value = xp.asarray(value)
        return self._engine.compiled(xp).from_eager().apply({key: value}, transformation)[key]

    def transform_images(
        self, images: Any, transformation: Pairing | None, training: bool = True
    ) -> Any:
        """The images mixed by ``transformation`` (from ``get_random_transformation``);
        see ``keras_samplepairing.ops.apply_to_images``."""
        if transformation is None or not training:
            return images
        return self._apply("images", images, transformation)

    def transform_labels(
        self, labels: Any, transformation: Pairing | None, training: bool = True
    ) -> Any:
        """The labels for the mix, by ``label_mode`` (``ops.apply_to_labels``)."""
        if transformation is None or not training:
            return labels
        return self._apply("labels", labels, transformation)

    def transform_sample_weights(
        self, sample_weight: Any, transformation: Pairing | None, training: bool = True
    ) -> Any:
        """Sample weights for the mix: they follow the labels
        (``ops.apply_to_sample_weights``)."""
        if transformation is None or not training:
            return sample_weight
        return self._apply("sample_weight", sample_weight, transformation)

    def transform_bounding_boxes(
        self, bounding_boxes: dict, transformation: Pairing | None, training: bool = True
    ) -> dict:
        """Both images' boxes, with ``box_weights`` (``ops.apply_to_bounding_boxes``)."""
        if transformation is None or not training:
            return bounding_boxes
        return self._apply("bounding_boxes", bounding_boxes, transformation)

    def transform_segmentation_masks(
        self, segmentation_masks: Any, transformation: Pairing | None, training: bool = True
    ) -> Any:
        """The masks for the mix, by ``label_mode`` (``ops.apply_to_segmentation_masks``)."""
        if transformation is None or not training:
            return segmentation_masks
        return self._apply("segmentation_masks", segmentation_masks, transformation)

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
