"""The user's parts and their checks: models, basic augmentations, the recipe, numbers."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import user_parts

from keras_samplepairing.compare.augmentations import (
    AugmentChoice,
    PixelShift,
    augment_choice,
    check_augmentation,
    shift_pixels,
)
from keras_samplepairing.compare.models import (
    FEATURES,
    SPLIT,
    build_model,
    check_model,
    model_choice,
)
from keras_samplepairing.compare.rewiring import split_at, with_layer_after
from keras_samplepairing.compare.stats import holm
from keras_samplepairing.compare.training import (
    TrainConfig,
    describe_optimizer,
    learning_rate,
)

IMAGES = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 1)).astype("float32")


@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1)])
def test_built_in_models_name_their_split_and_feature_layers(shape):
    for name in ("compact", "wide", "resnet"):
        model = build_model(name, shape, 10)
        assert model.output_shape == (None, 10)
        encoder, head = split_at(model, SPLIT, shape)  # a clean cut
        assert len(model.get_layer(FEATURES).output.shape) == 2
        images = np.zeros((2, *shape), "float32")
        np.testing.assert_allclose(head(encoder(images)), model(images), rtol=1e-6, atol=1e-6)
    # compact on digits is the demo's network, weight for weight.
    compact = build_model("compact", (8, 8, 1), 10)
    assert sum(int(np.prod(w.shape)) for w in compact.weights) == 320 + 9248 + 18496 + 650
    wide = build_model("wide", shape, 10)
    assert wide.count_params() > 3 * compact.count_params()
    resnet = build_model("resnet", shape, 10)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in resnet.layers)


def test_user_model_is_checked_before_training():
    choice = model_choice(user_parts.tiny_model, split_layer="split", feature_layer="hidden")
    assert choice.name == "user_parts:tiny_model" and not choice.built_in
    summary = check_model(choice, IMAGES, 10, (0.0, 255.0))
    assert summary.endswith("weights") and "Conv2D" in summary
    cases = [
        (user_parts.wrong_shape_model, {}, r"outputs of shape \(11,\) .* must give \(10,\) logits"),
        (user_parts.softmax_model, {}, "ends in a softmax; return logits"),
        (user_parts.broken_model, {}, "failed to build .* RuntimeError: this model does not build"),
        (user_parts.tiny_model, {"split_layer": "nope"}, "`split_layer`: the model has no layer"),
        (user_parts.tiny_model, {"feature_layer": "nope"}, "`feature_layer`: the model has no"),
        (user_parts.skip_model, {"split_layer": "middle"}, "cannot be cut after 'middle'"),
    ]
    for function, layers, message in cases:
        with pytest.raises(ValueError, match=message):
            check_model(model_choice(function, **layers), IMAGES, 10, (0.0, 255.0))
    check_model(model_choice(user_parts.skip_model, "first"), IMAGES, 10, (0.0, 255.0))


def test_a_layer_goes_in_at_the_split_of_a_sequential_model():
    model = user_parts.sequential_model((8, 8, 1), 10)
    doubled = with_layer_after(model, "split", keras.layers.Rescaling(2.0), (8, 8, 1))
    encoder, head = split_at(model, "split", (8, 8, 1))
    np.testing.assert_allclose(head(encoder(IMAGES)), model(IMAGES), rtol=1e-6)
    np.testing.assert_allclose(doubled(IMAGES), head(2.0 * encoder(IMAGES)), rtol=1e-5)
    assert doubled.get_layer("split") is model.get_layer("split")  # the same weights


def test_models_and_augmentations_by_name():
    assert model_choice("user_parts:tiny_model").function is user_parts.tiny_model
    assert model_choice("wide", split_layer="x").split_layer == SPLIT  # a built-in's own
    for text, message in [
        ("compcat", r"unknown model 'compcat' \(did you mean 'compact'\?\)"),
        ("no_such_module:f", "cannot import 'no_such_module'"),
        ("user_parts:nothing", "'user_parts' has no 'nothing'"),
    ]:
        with pytest.raises(ValueError, match=message):
            model_choice(text)
    with pytest.raises(TypeError, match="`model` must be"):
        model_choice(user_parts.tiny_model((8, 8, 1), 10))  # a model, not a function
    with pytest.raises(ValueError, match=r"'pixelshift' \(did you mean 'pixel-shift'\?\)"):
        augment_choice("pixelshift")
    assert augment_choice("user_parts:flip_augment").factory is user_parts.flip_augment
    with pytest.raises(ValueError, match=r"changes the images' shape from \(4, 8, 8, 1\) to"):
        check_augmentation(augment_choice(user_parts.crop_augment), IMAGES, 0.125)
    check_augmentation(augment_choice(user_parts.flip_augment), IMAGES, 0.125)


def test_pixel_shift_moves_each_image_by_whole_pixels():
    assert [shift_pixels(0.125, (s, s, 1)) for s in (8, 28, 32)] == [1, 4, 4]
    images = np.zeros((32, 7, 7, 1), "float32")
    images[:, 3, 3, 0] = 100.0  # one bright pixel in the middle
    shifted = PixelShift(2, seed=3)(images).numpy()
    assert shifted.shape == images.shape
    offsets = set()
    for image in shifted:
        (row,), (column,) = (
            np.nonzero(image[..., 0] == 100.0)[0],
            np.nonzero(image[..., 0] == 100.0)[1],
        )
        assert np.count_nonzero(image) == 1  # moved whole, no interpolation
        offsets.add((row - 3, column - 3))
    assert offsets <= {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}
    assert len(offsets) > 8  # drawn per image
    # Seeded: a new instance with the seed repeats itself; the next call differs.
    again = PixelShift(2, seed=3)
    np.testing.assert_array_equal(again(images).numpy(), shifted)
    assert not np.array_equal(again(images).numpy(), shifted)
    # In a tf.data map, in order, as the comparison applies it.
    batches = [
        [
            b.numpy()
            for b, _ in tf.data.Dataset.from_tensor_slices((images, images[:, 0, 0, 0]))
            .batch(8)
            .map(AugmentChoice("pixel-shift").pipeline(3, 2 / 7, (7, 7, 1)))
        ]
        for _ in range(2)
    ]
    for first, second in zip(*batches, strict=True):
        np.testing.assert_array_equal(first, second)


def test_translate_is_keras_random_translation_and_none_is_identity():
    ours = AugmentChoice("translate").make(5, 0.125, (8, 8, 1))(IMAGES)
    keras_layer = keras.layers.RandomTranslation(0.125, 0.125, fill_mode="constant", seed=5)
    np.testing.assert_array_equal(ours, keras_layer(IMAGES))
    np.testing.assert_array_equal(AugmentChoice("none").make(5, 0.125, (8, 8, 1))(IMAGES), IMAGES)
    flipped = AugmentChoice("flip-shift").make(5, 0.125, (8, 8, 1))(IMAGES)
    assert flipped.shape == IMAGES.shape


def test_training_settings_take_numpy_scalars_and_schedules():
    config = TrainConfig(
        epochs=np.int64(4),
        batch_size=np.int32(8),
        learning_rate=np.float32(0.01),
        lr_floor=np.float64(0.1),
    )
    assert type(config.epochs) is int and type(config.learning_rate) is float
    json.dumps(config.describe((8, 8, 1)))  # what the results file records
    assert describe_optimizer(TrainConfig(epochs=3)) == "Adam, cosine decay to 0 over all steps"
    cosine = learning_rate(config, 100)
    assert float(cosine(0)) == pytest.approx(0.01, rel=1e-6)
    assert float(cosine(100)) == pytest.approx(0.001, rel=1e-5)  # the floor: 10%
    step = learning_rate(TrainConfig(epochs=4, learning_rate=0.01, lr_schedule="step"), 100)
    assert [float(step(s)) for s in (0, 49, 51, 76)] == pytest.approx([0.01, 0.01, 1e-3, 1e-4])
    assert learning_rate(TrainConfig(epochs=4, lr_schedule="constant"), 100) == 2e-3
    for arguments, message in [
        ({"lr_schedule": "linear"}, "`lr_schedule` must be one of cosine, constant, step"),
        ({"lr_steps": (0.8, 0.5)}, "`lr_steps` must be shares of training in"),
        ({"learning_rate": 0}, "`learning_rate` must be > 0"),
        ({"optimizer": "rmsprop"}, "`optimizer` must be one of adam, sgd"),
        ({"lr_floor": 2}, r"`lr_floor` must be in \[0, 1\]"),
    ]:
        with pytest.raises(ValueError, match=message):
            TrainConfig(epochs=3, **arguments)


def test_holm_and_the_comparison_take_numpy_numbers():
    adjusted = holm({"a": np.float32(0.01), "b": np.float64(0.04)}, alpha=np.float32(0.05))
    assert adjusted["a"] == (pytest.approx(0.02), True)
    assert adjusted["b"] == (pytest.approx(0.04), True)
    with pytest.raises(ValueError, match="p-value of 'x'"):
        holm({"x": np.float32("nan")})


def test_the_comparison_never_imports_the_demo():
    import ast
    import pathlib

    import keras_samplepairing.compare as package

    for path in pathlib.Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            assert not [n for n in names if n.startswith("keras_samplepairing.demo")], path.name
