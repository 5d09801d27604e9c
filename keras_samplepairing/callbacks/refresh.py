"""Rebuilds a whole-set partner index from the model being trained."""

from __future__ import annotations

from typing import Any

import keras

from keras_samplepairing.data.whole_set import WholeSetPairing
from keras_samplepairing.ops.options import positive_int


class PartnerIndexRefresh(keras.callbacks.Callback):
    """Recomputes the set's features and rebuilds the partner index every
    ``every`` epochs, as a model learns better features.

    The pipeline reads the index from variables at run time, so the new
    neighbours take effect at once, with no retracing.

    Args:
        whole_set: the ``WholeSetPairing`` whose index (or features) to rebuild.
        every: epochs between rebuilds, >= 1.
        features: a Keras model giving the features (e.g.
            ``truncated_model(model, "pool")``, sharing the trained model's
            weights); by default the pairing's own ``features`` option.

    Example:

    >>> pairing = WholeSetPairing((x, y), pairing="most_similar",
    ...                           features=truncated_model(model, "pool"))
    >>> model.fit(pairing.dataset(128), epochs=30,
    ...           callbacks=[PartnerIndexRefresh(pairing, every=5)])
    """

    def __init__(self, whole_set: WholeSetPairing, every: int = 5, features: Any = None) -> None:
        super().__init__()
        if not isinstance(whole_set, WholeSetPairing):
            raise TypeError(
                f"`whole_set` must be a WholeSetPairing, got {type(whole_set).__name__}."
            )
        every = positive_int("every", every)
        if whole_set.index is None and whole_set.features is None:
            raise ValueError(
                "`whole_set` has nothing to refresh: it pairs at random without similarity."
            )
        if features is None and whole_set.features_from == "array":
            raise ValueError(
                "`whole_set` was built from an (N, D) feature array, which it cannot compute "
                "again: give PartnerIndexRefresh the model that computes new features "
                "(features=...), or call whole_set.refresh(new_features) yourself."
            )
        self.whole_set = whole_set
        self.every = every
        self.features = features
        self.refreshed: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every:
            return
        # Under JAX, fit holds the weights elsewhere until synced.
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()
        self.whole_set.refresh(self.features)
        self.refreshed.append(epoch)
