"""Pure TensorFlow functions behind the layers: no Keras state, XLA-compilable."""

from keras_samplepairing.ops.features import histogram_features, pooled_features
from keras_samplepairing.ops.mixing import (
    label_weights,
    lambda_from_similarity,
    mix,
    mixing_weights,
    sample_lambda,
)
from keras_samplepairing.ops.options import PairingOptions
from keras_samplepairing.ops.pairing import (
    class_candidates,
    random_partners,
    scored_partners,
    select_partners,
)
from keras_samplepairing.ops.pipeline import check_batch, sample_pairing
from keras_samplepairing.ops.random import beta_sample, log_gamma_sample
from keras_samplepairing.ops.similarity import (
    cosine_similarity,
    euclidean_similarity,
    kl_divergence_matrix,
    kl_similarity,
    pairwise_similarity,
)
from keras_samplepairing.ops.targets import class_ids, mix_labels, one_hot_labels

__all__ = [
    "PairingOptions",
    "beta_sample",
    "check_batch",
    "class_candidates",
    "class_ids",
    "cosine_similarity",
    "euclidean_similarity",
    "histogram_features",
    "kl_divergence_matrix",
    "kl_similarity",
    "label_weights",
    "lambda_from_similarity",
    "log_gamma_sample",
    "mix",
    "mix_labels",
    "mixing_weights",
    "one_hot_labels",
    "pairwise_similarity",
    "pooled_features",
    "random_partners",
    "sample_lambda",
    "sample_pairing",
    "scored_partners",
    "select_partners",
]
