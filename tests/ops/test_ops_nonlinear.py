"""Nonlinear interpolation: per-channel λ and smooth spatial λ fields."""

import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import SamplePairing, samplepairing_map
from keras_samplepairing.ops import sample_pairing
from keras_samplepairing.ops.options import PairingOptions


def test_channel_mixing_uses_one_lambda_per_channel():
    # Image i is the constant i in channel 0..2 scaled by 1, 10, 100 (distinct per channel).
    scale = np.array([1.0, 10.0, 100.0], "float32")
    images = (
        np.ones((6, 5, 5, 3), "float32")
        * (np.arange(6, dtype="float32") + 1)[:, None, None, None]
        * scale
    )
    options = PairingOptions(lam="beta", alpha=0.5, mixing="channel", lam_range=(0.1, 0.9))
    out, info = sample_pairing({"images": images}, tf.constant([1, 2]), options)
    out, partners = out["images"].numpy(), info["partners"].numpy()
    x1, x2 = images[:, 0, 0, :], images[partners][:, 0, 0, :]
    lam = (out[:, 0, 0, :] - x2) / (x1 - x2)  # recover λ_c per channel
    np.testing.assert_allclose(
        out,
        lam[:, None, None, :] * images + (1 - lam[:, None, None, :]) * images[partners],
        rtol=1e-5,
    )
    assert np.all((lam >= 0.1 - 1e-5) & (lam <= 0.9 + 1e-5))
    assert np.all(np.std(lam, axis=1) > 1e-4)  # channels differ
    np.testing.assert_allclose(info["weights"], lam.mean(axis=1), rtol=1e-5)


@pytest.mark.parametrize("grid_size", [2, 4])
def test_spatial_field_is_smooth_and_in_range(grid_size):
    height = width = 32
    zeros, ones = (
        np.zeros((1, height, width, 1), "float32"),
        np.ones((1, height, width, 1), "float32"),
    )
    images = np.concatenate([ones, zeros])  # image 0 is 1, image 1 is 0: the mix shows λ
    options = PairingOptions(
        lam="beta", alpha=0.5, mixing="spatial", grid_size=grid_size, lam_range=(0.2, 0.8)
    )
    out, info = sample_pairing({"images": images}, tf.constant([3, 4]), options)
    field = out["images"].numpy()[0, :, :, 0]
    assert field.min() >= 0.2 - 1e-6 and field.max() <= 0.8 + 1e-6
    bound = (0.8 - 0.2) * grid_size / height + 1e-6
    assert np.abs(np.diff(field, axis=0)).max() <= bound
    assert np.abs(np.diff(field, axis=1)).max() <= bound
    assert field.std() > 0.0  # it varies
    np.testing.assert_allclose(info["weights"][0], field.mean(), rtol=1e-5)


def test_nonlinear_mixing_labels_use_the_mean_lambda():
    # The batch of the next test: the Beta draws compiled here serve its map.
    images = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    labels = np.arange(4)
    for mixing in ("channel", "spatial"):
        layer = SamplePairing(lam="beta", mixing=mixing, label_mode="mix", num_classes=4, seed=1)
        _, mixed = layer((images, labels))
        np.testing.assert_allclose(np.sum(mixed, axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("mixing", ["channel", "spatial"])
def test_nonlinear_under_xla_and_in_map(mixing, assert_xla_safe):
    images = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    layer = SamplePairing(lam="beta", mixing=mixing, seed=1)
    fn = tf.function(lambda x: layer(x), jit_compile=True)
    assert fn(images).shape == images.shape
    assert_xla_safe(fn.get_concrete_function(images))
    mapped = samplepairing_map(lam="beta", mixing=mixing, seed=0)(tf.constant(images))
    assert mapped.shape == images.shape


def test_nonlinear_bad_inputs():
    with pytest.raises(ValueError, match="mixing"):
        SamplePairing(mixing="cubic")
    with pytest.raises(ValueError, match="lam='beta'"):
        SamplePairing(mixing="spatial")
    with pytest.raises(ValueError, match="grid_size"):
        SamplePairing(lam="beta", mixing="spatial", grid_size=0)
    with pytest.raises(ValueError, match="grid_size"):
        SamplePairing(lam="beta", mixing="spatial", grid_size=16)(np.zeros((2, 8, 8, 3), "float32"))
