"""Where partners come from: the check for a streamed image paired with itself."""

import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing.engine.sources import identical_rows


@pytest.mark.parametrize("dtype", ["float32", "float16", "uint8"])
def test_identical_rows_compares_every_value_where_the_probe_matches(dtype):
    # 8x8x3 = 192 values a row: the probe reads every third, from the first.
    first = np.random.default_rng(0).integers(0, 200, (5, 8, 8, 3)).astype(dtype)
    second = first.copy()
    second[1].reshape(-1)[1] += 1  # off the probe: only the full compare sees it
    second[2].reshape(-1)[0] += 1  # on the probe
    second[3] = first[4]  # another image
    if dtype != "uint8":
        first[4, 0, 0, 0] = second[4, 0, 0, 0] = np.nan  # a copy, NaN and all
    same = identical_rows(tf.constant(first), tf.constant(second)).numpy()
    assert same.tolist() == [True, False, False, False, True]
