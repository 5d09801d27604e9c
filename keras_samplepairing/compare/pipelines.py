"""Building one run: a variant's model and training pipeline, from the cell's recipe.

Every run of a variant gets a new model (weights from Keras's seed, set by
the caller), a new seeded basic augmentation and its own mixing, all built
here from the ``TrainConfig`` the variants of a comparison share.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from keras_samplepairing.compare.data import ComparisonData
from keras_samplepairing.compare.rewiring import split_at, truncated_features, with_layer_after
from keras_samplepairing.compare.training import TrainConfig, compile_model, schedule_states
from keras_samplepairing.compare.variants import Variant


@dataclasses.dataclass
class TrainingSetup:
    """One run's model, training data and what switches and refreshes its mixing.

    Attributes:
        model: the compiled model.
        train: the batched training dataset. Endless (a fresh epoch each
            ``steps_per_epoch`` batches, so Keras keeps one iterator for the
            whole fit) unless ``steps_per_epoch`` is None: then one epoch per
            pass, and each epoch's batches are made after the previous
            epoch's callbacks ran (a refreshed index reaches all of them).
        targets: what ``SamplePairingSchedule`` switches (empty: no mixing).
        callbacks: further callbacks the run needs (an index refresh).
        pairing: the run's ``WholeSetPairing``, for whole-set variants.
        steps_per_epoch: batches per epoch for ``fit`` (None: the dataset's).
    """

    model: Any
    train: Any
    targets: list
    callbacks: list = dataclasses.field(default_factory=list)
    pairing: Any = None
    steps_per_epoch: int | None = None


class ScheduledKerasMix:
    """``keras.layers.MixUp``/``CutMix`` on a batched dataset, switchable like
    ``samplepairing_map``: ``SamplePairingSchedule`` drives its ``enabled``
    switch and its ``clock``, and each batch (from ``Dataset.enumerate()``)
    is mixed or not by the schedule's state at the step it is trained at,
    however far prefetching runs ahead.

    Args:
        layer: the Keras layer, taking and returning ``{"images", "labels"}``.
    """

    def __init__(self, layer: Any) -> None:
        from keras_samplepairing.engine.clock import ScheduleClock
        from keras_samplepairing.engine.state import Switch

        self.layer = layer
        self.enabled = Switch()
        self.clock = ScheduleClock()

    def __call__(self, index: Any, images: Any, labels: Any) -> tuple:
        import tensorflow as tf

        on = tf.logical_and(
            tf.convert_to_tensor(self.enabled.tensorflow_variable()), self.clock.enabled(index)
        )

        def mixed() -> tuple:
            out = self.layer({"images": images, "labels": labels})
            return tf.cast(out["images"], images.dtype), tf.cast(out["labels"], labels.dtype)

        return tf.cond(on, mixed, lambda: (images, labels))


def feature_refresh(pairing: Any, features: Any, every: int, epochs: int, schedule: bool) -> Any:
    """A ``PartnerIndexRefresh`` that rebuilds the index from the model's
    features at the end of the epoch before the first epoch with mixing on
    (under the schedule's warm-up the model was untrained when the index was
    built), then every ``every`` epochs while epochs with mixing on remain."""
    from keras_samplepairing import PartnerIndexRefresh

    states = schedule_states(epochs) if schedule else [True] * epochs
    first_on = states.index(True) if any(states) else epochs

    class FeatureRefresh(PartnerIndexRefresh):
        # The parent refreshes at every epoch's end it is called at (every=1):
        # this decides which.
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            after = epoch + 1
            if any(states[after:]) and after >= first_on and (after - first_on) % every == 0:
                super().on_epoch_end(epoch, logs)

    return FeatureRefresh(pairing, every=1, features=features)


def build_training(
    variant: Variant,
    data: ComparisonData,
    seed: int,
    config: TrainConfig,
    cache: dict | None = None,
) -> TrainingSetup:
    """Builds one run: the model (compiled) and the training pipeline.

    Call ``keras.utils.set_random_seed(seed)`` first: the model's initial
    weights come from it.

    Args:
        variant: what to mix.
        data: the run's data (its training subset).
        seed: the run's seed (pairing, augmentation, shuffling).
        config: the shared training settings (model, augmentation, ...).
        cache: objects that depend on the variant and the training images
            but not on the seed or the recipe (the whole-set partner index
            over pooled pixels), reused across runs: pass one dict per
            (variant, training subset).

    Raises:
        ValueError: the variant cannot run with the model (see
            ``Variant.skip_reason``).
    """
    import keras
    import tensorflow as tf

    cache = {} if cache is None else cache
    reason = variant.skip_reason(config.model)
    if reason is not None:
        raise ValueError(f"`variants`: {reason}.")
    k = data.num_classes
    shape, value_range = data.image_shape, data.value_range
    augment = config.augment.pipeline(seed, config.shift, shape)
    pairing_options = dict(variant.options)
    if variant.kind in ("whole-set", "batch"):
        pairing_options.setdefault("num_classes", k)
        pairing_options.setdefault("value_range", value_range)
    steps = -(-len(data.x_train) // config.batch_size)

    def new_model() -> Any:
        return config.model.build(shape, k, value_range)

    def plain_batches() -> Any:
        return (
            tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train))
            .shuffle(len(data.x_train), seed=seed, reshuffle_each_iteration=True)
            .batch(config.batch_size)
            .map(augment)  # in order: the seeded augmentation repeats itself
            .repeat()  # reshuffled each epoch; enumerate after it counts steps
        )

    def one_hot(images: Any, labels: Any) -> tuple:
        if labels.shape.rank == 1:
            labels = tf.one_hot(labels, k, dtype=tf.float32)
        return images, labels

    setup = TrainingSetup(model=None, train=None, targets=[], steps_per_epoch=steps)
    if variant.kind == "whole-set":
        from keras_samplepairing import WholeSetPairing

        if variant.refresh:
            model = new_model()
            features = truncated_features(model, config.model.feature_layer, shape)
            pairing = WholeSetPairing(
                (data.x_train, data.y_train), seed=seed, features=features, **pairing_options
            )
            setup.callbacks.append(
                feature_refresh(pairing, features, variant.refresh, config.epochs, config.schedule)
            )
            # One pass per epoch: the next epoch's batches are drawn after
            # the refresh, never prefetched from the old index.
            train = pairing.dataset(config.batch_size, augment=augment, repeat=False)
            setup.steps_per_epoch = None
        else:
            pairing = WholeSetPairing(
                (data.x_train, data.y_train),
                seed=seed,
                index=cache.get("index"),
                **pairing_options,
            )
            if pairing.index is not None:
                cache["index"] = pairing.index
            train = pairing.dataset(config.batch_size, augment=augment, repeat=True)
            model = new_model()
        setup.targets, setup.pairing = [pairing], pairing
    elif variant.kind == "batch":
        from keras_samplepairing import samplepairing_map

        pair = samplepairing_map(seed=seed, **pairing_options)
        train = plain_batches().enumerate().map(pair, num_parallel_calls=tf.data.AUTOTUNE)
        setup.targets = [pair]
        model = new_model()
    elif variant.kind == "keras":
        options = dict(variant.options)
        layer_class = getattr(keras.layers, options.pop("layer"))
        mix = ScheduledKerasMix(layer_class(seed=seed, **options))
        train = (
            plain_batches()
            .map(one_hot)
            .enumerate()
            .map(lambda i, element: mix(i, *element))  # in order: the seeded layer
        )
        setup.targets = [mix]
        model = new_model()
    elif variant.kind == "feature-layer":
        from keras_samplepairing import FeatureSamplePairing

        layer = FeatureSamplePairing(seed=seed, **pairing_options)
        train = plain_batches()
        setup.targets = [layer]
        model = with_layer_after(new_model(), config.model.split_layer, layer, shape)
    elif variant.kind == "pairing-model":
        from keras_samplepairing import PairingModel

        whole = new_model()
        if config.model.split_layer is not None:
            encoder, head = split_at(whole, config.model.split_layer, shape)
        else:  # mixing inputs: nothing before the mix
            inputs = keras.Input(shape, name="images")
            encoder, head = keras.Model(inputs, inputs), whole
        model = PairingModel(encoder, head, seed=seed, num_classes=k, **pairing_options)
        setup.targets = [model]
        train = plain_batches()  # integer labels: the model one-hot encodes them
    elif variant.kind == "none":
        train = plain_batches()
        model = new_model()
    else:
        raise ValueError(f"Variant {variant.name!r} has an unknown kind {variant.kind!r}.")
    if variant.kind != "pairing-model":
        train = train.map(one_hot)
    compile_model(model, config, len(data.x_train))
    setup.model, setup.train = model, train.prefetch(tf.data.AUTOTUNE)
    return setup
