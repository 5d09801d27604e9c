"""Property tests over random shapes, dtypes, seeds and options."""

import numpy as np
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_samplepairing.ops import sample_pairing
from keras_samplepairing.ops.options import PairingOptions

OPTIONS = st.fixed_dictionaries(
    {
        "lam": st.one_of(st.floats(0.0, 1.0), st.just("beta"), st.just("similarity")),
        "alpha": st.floats(0.1, 4.0),
        "rate": st.floats(0.0, 1.0),
        "label_mode": st.sampled_from(["first", "mix"]),
        "pairing": st.sampled_from(["random", "most_similar", "least_similar", "sample"]),
        "similarity": st.sampled_from(["cosine", "euclidean", "kl"]),
    }
)


@st.composite
def batches(draw):
    b, h, w, c = (draw(st.integers(1, n)) for n in (6, 5, 5, 3))
    dtype = draw(st.sampled_from(["float32", "uint8", "float16"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    images = rng.uniform(0, 255, (b, h, w, c)).astype(dtype)
    labels = rng.integers(0, 4, b)
    return images, labels


@settings(max_examples=40, deadline=None)
@given(batch=batches(), options=OPTIONS, seed=st.integers(0, 2**31 - 1))
def test_shape_dtype_bounds_and_label_sums(batch, options, seed):
    images, labels = batch
    opts = PairingOptions(num_classes=4, **options)
    out, info = sample_pairing({"images": images, "labels": labels}, tf.constant([seed, 1]), opts)
    mixed, partners = out["images"].numpy(), info["partners"].numpy()
    assert mixed.shape == images.shape and mixed.dtype == images.dtype
    x1, x2 = images.astype("float64"), images[partners].astype("float64")
    slack = 0.5 if images.dtype == np.uint8 else 0.25 if images.dtype == np.float16 else 1e-3
    assert np.all(mixed >= np.minimum(x1, x2) - slack)
    assert np.all(mixed <= np.maximum(x1, x2) + slack)
    if opts.label_mode == "mix":
        np.testing.assert_allclose(out["labels"].numpy().sum(axis=1), 1.0, rtol=1e-5)
    else:
        np.testing.assert_array_equal(out["labels"], labels)
    if len(images) > 1:
        paired = info["paired"].numpy()
        assert np.all(partners[paired] != np.arange(len(images))[paired])


@settings(max_examples=25, deadline=None)
@given(batch=batches(), options=OPTIONS, seed=st.integers(0, 2**31 - 1))
def test_rate_zero_is_the_identity(batch, options, seed):
    images, labels = batch
    opts = PairingOptions(num_classes=4, **{**options, "rate": 0.0, "label_mode": "first"})
    out, _ = sample_pairing({"images": images, "labels": labels}, tf.constant([seed, 2]), opts)
    np.testing.assert_array_equal(out["images"], images)
    np.testing.assert_array_equal(out["labels"], labels)
