"""Pure functions behind the layers: no Keras state, XLA-compilable, written
once against an array namespace (TensorFlow, or ``keras.ops`` for JAX and
PyTorch)."""

from keras_samplepairing.ops.apply import apply_pairing, pairing_info, sample_pairing
from keras_samplepairing.ops.draw import (
    Pairing,
    PartnerChoice,
    choose_partners,
    draw_batch_pairing,
    draw_pairing,
)
from keras_samplepairing.ops.features import flat_features, histogram_features, pooled_features
from keras_samplepairing.ops.mixing import (
    label_weights,
    lambda_from_similarity,
    mix,
    mixing_weights,
    sample_lambda,
)
from keras_samplepairing.ops.namespace import namespace
from keras_samplepairing.ops.partners import (
    class_candidates,
    random_partners,
    scored_partners,
    select_partners,
)
from keras_samplepairing.ops.random import beta_sample, log_gamma_sample, split_seed
from keras_samplepairing.ops.similarity import (
    cosine_similarity,
    euclidean_similarity,
    kl_divergence_matrix,
    kl_similarity,
    pairwise_similarity,
    to_distributions,
)
from keras_samplepairing.ops.targets import class_ids, mix_labels, one_hot_labels

__all__ = [
    "Pairing",
    "PartnerChoice",
    "apply_pairing",
    "beta_sample",
    "choose_partners",
    "class_candidates",
    "class_ids",
    "cosine_similarity",
    "draw_batch_pairing",
    "draw_pairing",
    "euclidean_similarity",
    "flat_features",
    "histogram_features",
    "kl_divergence_matrix",
    "kl_similarity",
    "label_weights",
    "lambda_from_similarity",
    "log_gamma_sample",
    "mix",
    "mix_labels",
    "mixing_weights",
    "namespace",
    "one_hot_labels",
    "pairing_info",
    "pairwise_similarity",
    "pooled_features",
    "random_partners",
    "sample_lambda",
    "sample_pairing",
    "scored_partners",
    "select_partners",
    "split_seed",
    "to_distributions",
]
