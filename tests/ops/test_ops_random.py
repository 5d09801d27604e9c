import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing.ops import beta_sample, log_gamma_sample


@pytest.mark.parametrize("alpha", [0.2, 1.0, 2.0])
def test_beta_moments_match_beta_alpha_alpha(alpha):
    draws = beta_sample(tf.constant([3, 4]), [40000], alpha).numpy()
    expected_var = 1.0 / (4.0 * (2.0 * alpha + 1.0))
    assert np.all((draws >= 0) & (draws <= 1))
    assert abs(draws.mean() - 0.5) < 0.01
    assert abs(draws.var() - expected_var) < 0.08 * expected_var


def test_alpha_is_the_gamma_shape_not_a_rate():
    # Gamma(shape=2, rate=1) has mean 2; Gamma(shape=1, rate=2) would give 0.5.
    log_g = log_gamma_sample(tf.constant([1, 2]), [40000], 2.0).numpy()
    assert abs(np.exp(log_g).mean() - 2.0) < 0.05
    # Beta(0.2, 0.2) is U-shaped: P(X < 0.05) = 0.2910 (scipy.stats.beta);
    # a Uniform(0, 1) would give 0.05.
    draws = beta_sample(tf.constant([5, 6]), [40000], 0.2).numpy()
    assert abs(np.mean(draws < 0.05) - 0.2910) < 0.01


def test_same_seed_same_draws_and_no_gamma_op(assert_xla_safe):
    fn = tf.function(lambda seed: beta_sample(seed, [16], 0.4), jit_compile=True)
    seed = tf.constant([7, 8])
    np.testing.assert_array_equal(fn(seed), fn(seed))
    assert not np.array_equal(fn(seed), fn(tf.constant([7, 9])))
    assert_xla_safe(fn.get_concrete_function(seed))


def test_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        beta_sample(tf.constant([1, 2]), [4], 0.0)
