"""Partners from the whole training set, as the paper draws them, on batches.

``WholeSetPairing`` builds the ``tf.data`` pipeline; the engine chooses the
partners (``engine.sources``, over the pure draws of ``ops.set_partners``)
and mixes each batch with them, as it mixes a batch within itself.

- In memory (arrays, or a finite dataset that fits): the set lives in
  TensorFlow variables (``SetStorage``); each batch gathers its images and
  their partners by index. Random partners are a fresh single cycle over the
  whole set each epoch (never the image itself); semantic partners come from
  a ``PartnerIndex``; a class constraint draws among the allowed classes.
- Streaming (files, larger than memory): a second, independently shuffled
  pass over the data, zipped and batched, mixed batch with batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from keras_samplepairing.data.index import PartnerIndex
from keras_samplepairing.data.index_search import as_features
from keras_samplepairing.data.features import whole_set_features
from keras_samplepairing.data.set_storage import SetStorage, class_tables, hold_or_stream
from keras_samplepairing.data.whole_set_pipeline import preview_draw, whole_set_dataset
from keras_samplepairing.engine.checks import check_features_run_here
from keras_samplepairing.engine.owner import owner_state
from keras_samplepairing.engine.sources import SetPartners
from keras_samplepairing.engine.structure import structure_of
from keras_samplepairing.ops.namespace import tensorflow_namespace
from keras_samplepairing.ops.options import PairingOptions, check_names, positive_int
from keras_samplepairing.ops.targets import class_ids

if TYPE_CHECKING:
    import tensorflow as tf

# Arguments of WholeSetPairing besides the options.
SET_ARGUMENTS = ("seed", "index", "k", "method", "in_memory", "memory_limit", "jit_compile")


class WholeSetPairing:
    """SamplePairing with partners drawn from the whole training set (the paper).

    Inoue (2018) draws each image's partner from the whole training set, and
    the semantic variants choose it by similarity over the whole set. This
    object holds the set (or a stream of it), draws partners for each batch,
    and mixes each batch with its partners through the same engine as the
    ``SamplePairing`` layer: every layer option works (λ strategies,
    ``rate``, label modes, sample weights, boxes, masks, mixing), and
    ``SamplePairingSchedule`` switches it (pass it in ``targets``).

    Partners:

    - ``pairing="random"``: in memory, a fresh random single cycle over the
      whole set each epoch (every image is a partner once, never its own);
      streaming, the next element of an independently shuffled stream
      (never the image itself either).
    - ``"most_similar"``, ``"least_similar"``, ``"sample"``: the nearest
      neighbour, the farthest, or a draw from softmax(similarity /
      temperature) over the ``k`` nearest, from a ``PartnerIndex`` built once
      over the set's ``features`` (``"pooled"``, ``"histogram"``, a Keras
      model, or an ``(N, D)`` array computed elsewhere). In memory only.
    - ``class_constraint``: partners among the image's own class (``"same"``)
      or the other classes (``"different"``): searched within those classes,
      not filtered afterwards. An image with no allowed partner stays
      unpaired. In memory only.
    - ``lam="similarity"``: the pair's similarity, from the stored features
      (in memory) or the two batches' features (streaming).

    Args:
        data: the training set: an array of images, a tuple ``(images,
            labels[, sample_weight])`` of arrays, a dict of arrays in Keras's
            format (dense boxes), or an unbatched ``tf.data.Dataset`` of such
            elements.
        seed: integer seed: the same seed gives the same epochs of pairs.
        index: a prebuilt ``PartnerIndex`` (e.g. loaded from a file); it is
            checked against the data and the options: built for other images,
            labels, features or settings, it is refused.
        k: neighbours kept per image in the index it builds (by default 16,
            or N - 1 for a smaller set).
        method: the index's search: ``"auto"``, ``"exact"`` or ``"faiss"``.
        in_memory: hold the set in memory (True) or stream it (False). By
            default arrays are held, and a dataset is held when its size is
            known and at most ``memory_limit`` bytes.
        memory_limit: the largest dataset held in memory by default, bytes.
        jit_compile: compile the per-pixel mix with XLA.
        **options: ``SamplePairing``'s options (``lam``, ``pairing``,
            ``similarity``, ``features``, ``class_constraint``, ...).
            ``features`` may also be an ``(N, D)`` array, one row an image.

    Example:

    >>> pairing = WholeSetPairing((x_train, y_train), seed=0, pairing="most_similar")
    >>> train = pairing.dataset(batch_size=128, augment=flip, repeat=True)
    >>> schedule = SamplePairingSchedule(warmup=10, on=8, off=2, finetune=10, targets=[pairing])
    >>> model.fit(train, steps_per_epoch=len(x_train) // 128, epochs=90, callbacks=[schedule])
    """

    def __init__(
        self,
        data: Any,
        seed: int | None = None,
        index: PartnerIndex | None = None,
        k: int | None = None,
        method: str = "auto",
        in_memory: bool | None = None,
        memory_limit: int = 4 << 30,
        jit_compile: bool = True,
        **options: Any,
    ) -> None:
        # Features computed elsewhere: an (N, D) array rather than an option.
        given = options.get("features")
        given_features = None
        if given is not None and not isinstance(given, str) and not callable(given):
            given_features = np.asarray(options.pop("features"), np.float32)
        check_names("WholeSetPairing", options, PairingOptions.names())
        self.options = PairingOptions(**options)
        state = owner_state(self.options, seed, in_model=False, jit_compile=jit_compile)
        self.stream = state.stream
        self.seed = self.stream.seed
        self.enabled = state.switch
        self.clock = state.clock
        self._engine = state.engine
        self.index = index
        self.k = None if k is None else positive_int("k", k)
        self.method = method
        if given_features is not None:
            self.features_from = "array"
        elif callable(self.options.features):
            self.features_from = "model"
        else:
            self.features_from = self.options.features
        self.storage: SetStorage | None = None
        self.features: np.ndarray | None = None
        self.in_memory, data = hold_or_stream(data, in_memory, memory_limit)
        if not self.in_memory:
            self._stream_data = data
            self.structure = structure_of(data.element_spec)
        if self.in_memory:
            self.storage = SetStorage(data)
            self.structure = self.storage.structure
            self.size = self.storage.size
            self._prepare_partners(given_features)
            self._source = SetPartners(self.options, self.storage, self.index)
        else:
            self._check_streamable(given_features, index)

    # What the partners are drawn from.

    def _check_streamable(self, given_features: Any, index: Any) -> None:
        options = self.options
        if options.lam == "similarity":  # the two batches' features, in the pipeline
            check_features_run_here(options, tensorflow_namespace())
        needs = {
            f"pairing={options.pairing!r}": options.pairing != "random",
            f"class_constraint={options.class_constraint!r}": options.class_constraint != "any",
            "features=<array>": given_features is not None,
            "index": index is not None,
        }
        for name, used in needs.items():
            if used:
                raise ValueError(
                    f"`{name}` needs random access to the whole set, which a stream does not "
                    "give: hold the set in memory (pass arrays, or in_memory=True), or pair "
                    "at random."
                )

    def _labels(self) -> np.ndarray:
        if "labels" not in self.storage.arrays:
            raise ValueError(
                f"`class_constraint={self.options.class_constraint!r}` needs labels in `data`."
            )
        import tensorflow as tf

        return class_ids(tf.constant(self.storage.arrays["labels"])).numpy()

    def _source_record(self) -> dict:
        """What an index built here depends on besides its settings."""
        histogram = self.features_from == "histogram"
        return {
            "features": self.features_from,
            "value_range": list(self.options.value_range) if histogram else None,
        }

    def _prepare_partners(self, given_features: np.ndarray | None) -> None:
        options = self.options
        semantic = options.pairing != "random"
        features = None
        if given_features is not None:
            if len(given_features) != self.size:
                raise ValueError(
                    f"`features` has {len(given_features)} rows for {self.size} images; "
                    "give one feature vector per image, in the data's order."
                )
            features = as_features(given_features)
        if self.index is not None:
            self._check_index(features)
            if features is None:
                features = self.index.features
        elif semantic:
            if features is None:
                features = self.compute_features()
            labels = self._labels() if options.class_constraint != "any" else None
            self.index = PartnerIndex.build(
                features,
                similarity=options.similarity,
                k=min(16, self.size - 1) if self.k is None else self.k,
                direction="farthest" if options.pairing == "least_similar" else "nearest",
                labels=labels,
                class_constraint=options.class_constraint,
                method=self.method,
                fingerprint=self.storage.fingerprint(),
                source=self._source_record(),
            )
        if options.lam == "similarity" and self.index is None:
            if features is None:
                features = self.compute_features()
            self._set_features(features)
        self.features = features
        if options.class_constraint != "any" and not semantic:
            for name, table in class_tables(self._labels()).items():
                self.storage.set_table(f"class/{name}", table)

    def _set_features(self, features: np.ndarray) -> None:
        """The features λ reads, and how KL reads them, as tables (assigned in
        place on a refresh)."""
        features = as_features(features)
        self.storage.set_table("features", features)
        self.storage.set_table("nonnegative", np.array(bool(np.min(features) >= 0.0)))

    def _check_index(self, features: np.ndarray | None) -> None:
        """An index answers one question about one set; asking it another, or
        about other data, would be silently wrong."""
        options = self.options
        if options.pairing == "random":
            raise ValueError(
                "`index` chooses partners by similarity, but `pairing='random'` draws them at "
                "random: pass pairing='most_similar', 'least_similar' or 'sample'."
            )
        wanted = {
            "similarity": options.similarity,
            "direction": "farthest" if options.pairing == "least_similar" else "nearest",
            "class_constraint": options.class_constraint,
            "features": self.features_from,
        }
        if self.k is not None:
            wanted["k"] = self.k
        if self.features_from == "histogram":
            wanted["value_range"] = tuple(options.value_range)
        labels = self._labels() if options.class_constraint != "any" else None
        self.index.check_answers(
            wanted, self.size, self.storage.fingerprint(), features=features, labels=labels
        )

    def compute_features(self, features: Any = None) -> np.ndarray:
        """``(N, D)`` features of the whole set by ``options.features`` (or
        ``features``: a string or a Keras model), in one batched pass."""
        if features is None and self.features_from == "array":
            raise ValueError(
                "This WholeSetPairing was built from an (N, D) feature array, which it cannot "
                "compute again: pass the new features, refresh(new_features) (an array, or "
                "a Keras model that computes them)."
            )
        options = self.options
        return whole_set_features(
            self.storage.images,
            options.features if features is None else features,
            value_range=options.value_range,
            data_format=options.data_format,
        )

    def refresh(self, features: Any = None) -> None:
        """Recomputes the set's features (``options.features``, or the given
        model or ``(N, D)`` array) and rebuilds the index in place, read at
        run time.

        Raises:
            ValueError: a streamed set, or a pairing built from a feature
                array refreshed without new features.
        """
        if not self.in_memory:
            raise ValueError("refresh needs the set in memory.")
        if isinstance(features, np.ndarray):
            new = as_features(features)
            if len(new) != self.size:
                raise ValueError(
                    f"`features` has {len(new)} rows for {self.size} images; give one "
                    "feature vector per image, in the data's order."
                )
        else:
            new = as_features(self.compute_features(features))
        if self.index is not None:
            self.index.rebuild(new)
        else:
            self._set_features(new)
        self.features = new

    def images(self) -> np.ndarray:
        """The whole set's images, as held (in memory only)."""
        if not self.in_memory:
            raise ValueError("A streamed set holds no images in memory.")
        return self.storage.images

    def preview(self, anchors: Any = None, count: int = 8, seed: int | None = None) -> dict:
        """The partner and λ this pairing draws for some anchors of the set, as
        a batch of its pipeline would (the same rules: random cycle, index
        neighbours, class constraint, rate, λ strategy).

        Args:
            anchors: indices into the set (default: ``count`` evenly spaced ones).
            count: how many anchors when ``anchors`` is None.
            seed: the draw's seed (default: the pairing's seed).

        Returns:
            NumPy arrays, one entry per anchor: ``"anchors"``, ``"partners"``
            (the anchor itself where unpaired), ``"paired"``, ``"lam"`` (the
            anchor's label weight λ, 1.0 where unpaired) and ``"similarity"``
            (the pair's similarity in the measure's own scale, NaN where the
            pairing has no features).
        """
        return preview_draw(self, anchors, count, seed)

    # The pipeline.

    def dataset(
        self,
        batch_size: int,
        augment: Any = None,
        repeat: bool = False,
        drop_remainder: bool = False,
        partner_dataset: tf.data.Dataset | None = None,
        shuffle_buffer: int | None = None,
    ) -> tf.data.Dataset:
        """The batched, paired training dataset.

        Args:
            batch_size: images per batch; each batch is one compiled call.
            augment: optional basic augmentation, applied to the images and to
                their partners separately, before they are mixed (the paper):
                a Keras layer, which gets the images (or the dict, with its
                boxes and masks); or a function taking the element's parts as
                the data has them, ``f(images)``, ``f(images, labels)``,
                ``f(images, labels, sample_weight)`` or ``f(batch_dict)``, and
                returning the same structure. It runs one batch after the
                other, so a seeded Keras layer augments the same way from run
                to run.
            repeat: an endless dataset (a new pairing each epoch), for
                ``fit(..., steps_per_epoch=...)``, which then keeps one
                iterator for the whole fit. Otherwise one epoch, re-drawn on
                each pass.
            drop_remainder: drop a last partial batch.
            partner_dataset: streaming only: where partners come from
                (default the data itself).
            shuffle_buffer: streaming only: the partner stream's shuffle
                buffer (default the dataset's size up to 10,000).

        Returns:
            A ``tf.data.Dataset`` of mixed batches with the data's structure.
            Each batch is paired by the schedule's state at the step ``fit``
            trains it at, however ``fit`` feeds it (``ScheduleClock.stamp``).
        """
        return whole_set_dataset(
            self, batch_size, augment, repeat, drop_remainder, partner_dataset, shuffle_buffer
        )


def pair_with_dataset(
    data: Any,
    batch_size: int = 32,
    augment: Any = None,
    repeat: bool = False,
    drop_remainder: bool = False,
    partner_dataset: Any = None,
    shuffle_buffer: int | None = None,
    **arguments: Any,
) -> tf.data.Dataset:
    """The paper's pairing in one call: ``WholeSetPairing(data, ...).dataset(...)``.

    Takes every option of ``SamplePairing`` by name (``pairing="most_similar"``
    chooses partners, as in the layer) and ``WholeSetPairing``'s arguments
    (``seed``, ``index``, ``k``, ...). To switch it with
    ``SamplePairingSchedule``, make the ``WholeSetPairing`` and pass it in
    ``targets``.

    Returns:
        A ``tf.data.Dataset`` of mixed batches with the data's structure.
    """
    check_names("pair_with_dataset", arguments, (*PairingOptions.names(), *SET_ARGUMENTS))
    return WholeSetPairing(data, **arguments).dataset(
        batch_size,
        augment=augment,
        repeat=repeat,
        drop_remainder=drop_remainder,
        partner_dataset=partner_dataset,
        shuffle_buffer=shuffle_buffer,
    )
