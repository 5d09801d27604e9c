"""Partners from the whole training set, as the paper draws them, on batches.

Only the draw of partners differs from the batch path: the front end's
apply mixes each batch with a partner batch row by row.

- In memory (arrays, or a finite dataset that fits): the set lives in
  TensorFlow variables (never graph constants, which stop at 2 GB); each
  batch gathers its images and their partners by index. Random partners are
  a fresh single cycle over the whole set each epoch (never the image
  itself); semantic partners come from a ``PartnerIndex``; a class
  constraint draws among the allowed classes.
- Streaming (files, larger than memory): a second, independently shuffled
  pass over the data, zipped and batched, mixed batch with batch.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_samplepairing.data.index import PartnerIndex, fingerprint
from keras_samplepairing.data.set_features import set_features
from keras_samplepairing.engine.checks import check_features_run_here
from keras_samplepairing.engine.clock import ScheduleClock
from keras_samplepairing.engine.engine import PairingEngine
from keras_samplepairing.engine.state import SeedStream, Switch
from keras_samplepairing.ops.namespace import tensorflow_namespace
from keras_samplepairing.ops.options import PairingOptions, check_names
from keras_samplepairing.ops.targets import class_ids

if TYPE_CHECKING:
    import tensorflow as tf

# Arguments of WholeSetPairing besides the options.
SET_ARGUMENTS = ("seed", "index", "k", "method", "in_memory", "memory_limit", "jit_compile")


def _structure(element: Any) -> str:
    if isinstance(element, dict):
        return "dict"
    if isinstance(element, (tuple, list)):
        if len(element) not in (2, 3):
            raise ValueError(
                "`data` elements must be images, (images, labels), (images, labels, "
                f"sample_weight) or a dict; got a tuple of {len(element)}."
            )
        return f"tuple{len(element)}"
    return "images"


def _to_dict(element: Any, kind: str) -> dict:
    if kind == "dict":
        if "images" not in element:
            raise ValueError(f"A dict element must have an 'images' key, got {sorted(element)}.")
        return dict(element)
    if kind == "images":
        return {"images": element}
    keys = ("images", "labels", "sample_weight")
    return dict(zip(keys, element, strict=False))


def _from_dict(batch: dict, kind: str) -> Any:
    if kind == "dict":
        return batch
    if kind == "images":
        return batch["images"]
    keys = ("images", "labels", "sample_weight")[: int(kind[-1])]
    return tuple(batch[k] for k in keys)


def _flatten(batch: dict) -> dict:
    """One level: boxes' keys become ``"bounding_boxes/<key>"``."""
    flat = {k: v for k, v in batch.items() if k != "bounding_boxes"}
    for key, value in batch.get("bounding_boxes", {}).items():
        flat[f"bounding_boxes/{key}"] = value
    return flat


def _unflatten(flat: dict) -> dict:
    batch = {k: v for k, v in flat.items() if not k.startswith("bounding_boxes/")}
    boxes = {k.split("/", 1)[1]: v for k, v in flat.items() if k.startswith("bounding_boxes/")}
    if boxes:
        batch["bounding_boxes"] = boxes
    return batch


def _materialise(dataset: tf.data.Dataset) -> Any:
    """A finite dataset's elements as NumPy arrays (one pass)."""
    import tensorflow as tf

    parts = [tf.nest.map_structure(np.asarray, b) for b in dataset.batch(4096)]
    if not parts:
        raise ValueError("`data` is empty.")
    return tf.nest.map_structure(lambda *arrays: np.concatenate(arrays), *parts)


def _element_bytes(spec: Any) -> int:
    import tensorflow as tf

    total = 0
    for leaf in tf.nest.flatten(spec):
        if None in leaf.shape or isinstance(leaf, tf.RaggedTensorSpec):
            return -1
        total += int(np.prod(leaf.shape, dtype=np.int64)) * leaf.dtype.size
    return total


class WholeSetPairing:
    """SamplePairing with partners drawn from the whole training set (the paper).

    Inoue (2018) draws each image's partner from the whole training set, and
    the semantic variants choose it by similarity over the whole set. This
    object holds the set (or a stream of it), draws partners for each batch,
    and mixes each batch with its partners through the same front end as
    the ``SamplePairing`` layer: every layer option works (λ strategies,
    ``rate``, label modes, sample weights, boxes, masks, mixing), and
    ``SamplePairingSchedule`` switches it (pass it in ``targets``).

    Partners:

    - ``pairing="random"``: in memory, a fresh random single cycle over the
      whole set each epoch (every image is a partner once, never its own);
      streaming, the next element of an independently shuffled stream.
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
            checked against the data.
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
        import tensorflow as tf

        # Features computed elsewhere: an (N, D) array rather than an option.
        given_features = options.get("features")
        if given_features is None or isinstance(given_features, str) or callable(given_features):
            given_features = None
        else:
            given_features = np.asarray(options.pop("features"), np.float32)
        check_names("WholeSetPairing", options, PairingOptions.names())
        self.options = PairingOptions(**options)
        self.stream = SeedStream(seed)
        self.seed = self.stream.seed
        self.enabled = Switch()
        self.clock = ScheduleClock()
        self._engine = PairingEngine(
            self.options, self.stream, self.enabled, jit_compile, clock=self.clock
        )
        self.index = index
        self.k = k
        self.method = method
        self._storage: dict | None = None
        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            self._kind = _structure(spec)
            self._check_unbatched(_to_dict(spec, self._kind)["images"].shape.rank)
            size = int(data.cardinality())
            if in_memory is None:
                per_element = _element_bytes(spec)
                in_memory = size > 0 and 0 <= per_element * size <= memory_limit
            if in_memory:
                data = _materialise(data)
            else:
                self._stream_data = data
        else:
            self._kind = _structure(data)
            in_memory = True if in_memory is None else in_memory
            if not in_memory:
                raise ValueError("`in_memory=False` needs a tf.data.Dataset to stream.")
        self.in_memory = bool(in_memory)
        if self.in_memory:
            element = _to_dict(data, self._kind)
            arrays = {k: np.asarray(v) for k, v in element.items() if k != "bounding_boxes"}
            if "bounding_boxes" in element:
                boxes = element["bounding_boxes"]
                arrays["bounding_boxes"] = {k: np.asarray(v) for k, v in boxes.items()}
            self._arrays = _flatten(arrays)
            self._check_unbatched(self._arrays["images"].ndim - 1)
            self.size = len(self._arrays["images"])
            if self.size < 2:
                raise ValueError(f"`data` needs at least 2 images to pair, got {self.size}.")
            for key, value in self._arrays.items():
                if len(value) != self.size:
                    raise ValueError(
                        f"`data` has {self.size} images but {len(value)} entries in {key!r}."
                    )
            self._prepare_partners(given_features)
        else:
            self._check_streamable(given_features, index)

    # What the partners are drawn from.

    def _check_unbatched(self, rank: int | None) -> None:
        if rank != 3:
            raise ValueError(
                "`data` must hold one (H, W, C) image per element, unbatched; got images of "
                f"rank {rank}. Batching is done by .dataset(batch_size)."
            )

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
        if "labels" not in self._arrays:
            raise ValueError(
                f"`class_constraint={self.options.class_constraint!r}` needs labels in `data`."
            )
        import tensorflow as tf

        return class_ids(tf.constant(self._arrays["labels"])).numpy()

    def _prepare_partners(self, given_features: np.ndarray | None) -> None:
        options = self.options
        semantic = options.pairing != "random"
        self.fingerprint = fingerprint(self._arrays["images"])
        features = None
        if given_features is not None:
            if len(given_features) != self.size:
                raise ValueError(
                    f"`features` has {len(given_features)} rows for {self.size} images; "
                    "give one feature vector per image, in the data's order."
                )
            features = given_features.reshape(self.size, -1)
        if self.index is not None:
            self.index.check_for(self.size, self.fingerprint)
            self._check_index_matches()
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
                fingerprint=self.fingerprint,
            )
        if options.lam == "similarity" and features is None:
            features = self.compute_features()
        self.features = features
        self._classes = None
        if options.class_constraint != "any" and not semantic:
            labels = self._labels()
            order = np.argsort(labels, kind="stable")
            values, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
            dense = np.searchsorted(values, labels)
            rank = np.empty(self.size, np.int64)
            rank[order] = np.arange(self.size) - starts[dense[order]]
            self._classes = {
                "order": order.astype(np.int32),
                "start": starts[dense].astype(np.int32),
                "count": counts[dense].astype(np.int32),
                "rank": rank.astype(np.int32),
            }

    def _check_index_matches(self) -> None:
        """An index answers one question; asking it another would be silently wrong."""
        options, settings = self.options, self.index.settings
        if options.pairing == "random":
            raise ValueError(
                "`index` chooses partners by similarity, but `pairing='random'` draws them at "
                "random: pass pairing='most_similar', 'least_similar' or 'sample'."
            )
        wanted = {
            "similarity": options.similarity,
            "direction": "farthest" if options.pairing == "least_similar" else "nearest",
            "class_constraint": options.class_constraint,
        }
        for name, value in wanted.items():
            if settings[name] != value:
                raise ValueError(
                    f"`index` was built with {name}={settings[name]!r}, but these options need "
                    f"{name}={value!r}: build the index for them."
                )

    def compute_features(self, features: Any = None) -> np.ndarray:
        """``(N, D)`` features of the whole set by ``options.features`` (or
        ``features``: a string or a Keras model), in one batched pass."""
        options = self.options
        return set_features(
            self._arrays["images"],
            options.features if features is None else features,
            value_range=options.value_range,
            data_format=options.data_format,
        )

    def refresh(self, features: Any = None) -> None:
        """Recomputes the set's features (``options.features`` or the given
        model or array) and rebuilds the index in place, read at run time."""
        if not self.in_memory:
            raise ValueError("refresh needs the set in memory.")
        if isinstance(features, np.ndarray):
            new = features.reshape(self.size, -1).astype(np.float32)
        else:
            new = self.compute_features(features)
        if self.index is not None:
            self.index.rebuild(new)
        self.features = new
        if self._storage is not None and "features" in self._storage:
            self._storage["features"].assign(new)

    # TensorFlow storage.

    def _tables(self) -> dict:
        if self._storage is None:
            import tensorflow as tf

            with tf.init_scope(), tf.device("/cpu:0"):
                storage = {
                    key: tf.Variable(value, trainable=False, name=key.replace("/", "_"))
                    for key, value in self._arrays.items()
                }
                if self.features is not None and self.index is None:
                    storage["features"] = tf.Variable(self.features, trainable=False)
                if self._classes is not None:
                    for key, value in self._classes.items():
                        storage[f"class_{key}"] = tf.Variable(value, trainable=False)
            self._storage = storage
        return self._storage

    def _gather(self, ids: Any) -> dict:
        import tensorflow as tf

        tables = self._tables()
        flat = {key: tf.gather(tables[key], ids) for key in self._arrays}
        return _unflatten(flat)

    def _features_of(self, ids: Any) -> Any:
        import tensorflow as tf

        table = self.index.tables()["features"] if self.index is not None else None
        return tf.gather(table if table is not None else self._tables()["features"], ids)

    def _choose(self, anchors: Any, partners: Any, seed: Any) -> tuple[Any, Any, Any]:
        """Partner ids (drawn here, or the given random cycle's), whether each
        anchor has one, and each pair's similarity."""
        import tensorflow as tf

        from keras_samplepairing.ops.random import gumbel_noise
        from keras_samplepairing.ops.similarity import paired_similarity, unit_similarity

        options = self.options
        size = tf.shape(anchors)[0]
        has = tf.ones([size], tf.bool)
        if self.index is not None:
            tables = self.index.tables()
            neighbours = tf.gather(tables["neighbours"], anchors)
            counts = tf.gather(tables["counts"], anchors)
            column = tf.zeros([size], tf.int32)
            if options.pairing == "sample":
                logits = tf.gather(tables["similarities"], anchors) / options.temperature
                valid = tf.range(self.index.k)[None, :] < counts[:, None]
                noise = gumbel_noise(seed, [size, self.index.k])
                scores = tf.where(valid, logits + noise, -np.inf)
                column = tf.argmax(scores, axis=1, output_type=tf.int32)
            partners = tf.gather(neighbours, column, batch_dims=1)
            has = counts > 0
        elif self._classes is not None:
            tables = self._tables()
            start = tf.gather(tables["class_start"], anchors)
            count = tf.gather(tables["class_count"], anchors)
            draw = tf.random.stateless_uniform([size], seed, alg="philox")
            if options.class_constraint == "same":
                choices = count - 1
                rank = tf.gather(tables["class_rank"], anchors)
                pick = tf.cast(draw * tf.cast(choices, tf.float32), tf.int32)
                position = start + pick + tf.cast(pick >= rank, tf.int32)  # skip itself
            else:
                choices = self.size - count
                pick = tf.cast(draw * tf.cast(choices, tf.float32), tf.int32)
                position = pick + tf.where(pick >= start, count, 0)  # skip its class
            has = choices > 0
            position = tf.clip_by_value(position, 0, self.size - 1)
            partners = tf.gather(tables["class_order"], position)
        partners = tf.where(has, partners, anchors)
        similarity = None
        if options.lam == "similarity":
            nonnegative = (
                self.index.settings["nonnegative"]
                if self.index is not None
                else bool(np.min(self.features) >= 0.0)
            )
            raw = paired_similarity(
                self._features_of(anchors),
                self._features_of(partners),
                options.similarity,
                nonnegative,
            )
            similarity = unit_similarity(raw, options.similarity)
        return partners, has, similarity

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
            augment: optional per-batch augmentation (a Keras preprocessing
                layer, or a function taking the element as the dataset gives
                it), applied to the images and to their partners separately,
                before they are mixed (the paper). It runs one batch after
                the other, so a seeded Keras layer augments the same way from
                run to run.
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
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")
        if self.in_memory:
            if partner_dataset is not None or shuffle_buffer is not None:
                raise ValueError(
                    "`partner_dataset` and `shuffle_buffer` are for streaming; in memory, "
                    "partners come from the whole set."
                )
            pairs = self._indexed_pairs(batch_size, repeat, drop_remainder)
        else:
            pairs = self._streamed_pairs(
                batch_size, repeat, drop_remainder, partner_dataset, shuffle_buffer
            )
        return self._mixed(pairs, augment)

    def _epoch_seeds(self, repeat: bool) -> tf.data.Dataset:
        import tensorflow as tf

        seeds = tf.data.Dataset.random(seed=self.seed, rerandomize_each_iteration=True).batch(2)
        return seeds if repeat else seeds.take(1)

    def _indexed_pairs(
        self, batch_size: int, repeat: bool, drop_remainder: bool
    ) -> tf.data.Dataset:
        import tensorflow as tf

        size = self.size
        cycle_partners = self.options.pairing == "random" and self._classes is None

        def epoch(seed: Any) -> tf.data.Dataset:
            order_seed, cycle_seed = tf.unstack(
                tf.random.experimental.stateless_split(seed, 2, alg="philox")
            )
            order = tf.argsort(tf.random.stateless_uniform([size], order_seed, alg="philox"))
            order = tf.cast(order, tf.int32)
            if cycle_partners:
                # A random single cycle over the whole set: each image's
                # partner is the next in a shuffled order (never itself).
                cycle = tf.cast(
                    tf.argsort(tf.random.stateless_uniform([size], cycle_seed, alg="philox")),
                    tf.int32,
                )
                partner_of = tf.scatter_nd(cycle[:, None], tf.roll(cycle, -1, 0), [size])
                partners = tf.gather(partner_of, order)
            else:
                partners = order  # chosen per batch
            return (
                tf.data.Dataset.from_tensor_slices((order, partners))
                .batch(batch_size, drop_remainder)
                .map(lambda a, p: (a, p, seed))
            )

        pairs = self._epoch_seeds(repeat).flat_map(epoch)

        def gather(anchors: Any, partners: Any, seed: Any) -> tuple:
            choice_seed = tf.random.experimental.stateless_fold_in(
                seed, tf.cast(anchors[0], tf.int64), alg="philox"
            )
            has, similarity = tf.ones_like(anchors, tf.bool), None
            if not cycle_partners or self.options.lam == "similarity":
                chosen, has, similarity = self._choose(anchors, partners, choice_seed)
                partners = chosen if not cycle_partners else partners
            meta = {"anchors": anchors, "partners": partners, "has": has, "seed": seed}
            if similarity is not None:
                meta["similarity"] = similarity
            return self._gather(anchors), self._gather(partners), meta

        pairs = pairs.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
        # Keras reads an epoch's length from the cardinality.
        batches = size // batch_size if drop_remainder else -(-size // batch_size)
        known = tf.data.INFINITE_CARDINALITY if repeat else batches
        return pairs.apply(tf.data.experimental.assert_cardinality(known))

    def _streamed_pairs(
        self,
        batch_size: int,
        repeat: bool,
        drop_remainder: bool,
        partner_dataset: Any,
        shuffle_buffer: int | None,
    ) -> tf.data.Dataset:
        import tensorflow as tf

        data = self._stream_data
        partners = data if partner_dataset is None else partner_dataset
        if shuffle_buffer is None:
            size = int(partners.cardinality())
            shuffle_buffer = size if 0 < size <= 10_000 else 10_000
        if (
            isinstance(shuffle_buffer, bool)
            or not isinstance(shuffle_buffer, int)
            or shuffle_buffer < 1
        ):
            raise ValueError(f"`shuffle_buffer` must be an int >= 1, got {shuffle_buffer!r}.")
        partners = partners.shuffle(shuffle_buffer, seed=self.seed, reshuffle_each_iteration=True)
        anchors = data.repeat() if repeat else data
        pairs = tf.data.Dataset.zip(anchors, partners.repeat()).batch(batch_size, drop_remainder)
        # A seed per batch, drawn anew on each pass over a finite stream.
        return tf.data.Dataset.zip(pairs, self._epoch_seeds(repeat=True))

    def _as_triple(self, *element: Any) -> tuple:
        """``(anchors, partners, meta)`` dicts from either source's element."""
        if len(element) == 3:  # in memory, or already augmented
            return element
        import tensorflow as tf

        (anchor, partner), seed = element  # streaming
        anchors, partners = _to_dict(anchor, self._kind), _to_dict(partner, self._kind)
        has = tf.ones([tf.shape(anchors["images"])[0]], tf.bool)
        return anchors, partners, {"has": has, "seed": seed}

    def _mixed(self, pairs: tf.data.Dataset, augment: Any) -> tf.data.Dataset:
        import tensorflow as tf

        from keras_samplepairing.ops.draw import PartnerChoice, batch_features
        from keras_samplepairing.ops.similarity import paired_similarity, unit_similarity

        options, kind = self.options, self._kind
        if augment is not None:
            call = _augmenter(augment, kind)

            def augmented(*element: Any) -> tuple:
                anchors, partners, meta = self._as_triple(*element)
                return call(anchors), call(partners), meta

            pairs = pairs.map(augmented)  # in order: a seeded layer repeats itself

        def mix(index: Any, element: tuple) -> Any:
            anchors, partners, meta = self._as_triple(*element)
            batch, repack, _ = self._engine.prepare(anchors)
            partner_batch = {k: partners[k] for k in batch}
            similarity = meta.get("similarity")
            if similarity is None and options.lam == "similarity":
                # Streaming: the two batches' own features.
                raw = paired_similarity(
                    batch_features(batch["images"], options),
                    batch_features(partner_batch["images"], options),
                    options.similarity,
                )
                similarity = unit_similarity(raw, options.similarity)
            choice = PartnerChoice(tf.range(tf.shape(batch["images"])[0]), meta["has"], similarity)
            seed = tf.random.experimental.stateless_fold_in(meta["seed"], index, alg="philox")
            outputs, _ = self._engine.pair_with_partners(
                batch, partner_batch, choice, seed, clock_index=index
            )
            return _from_dict(repack(outputs), kind)

        return pairs.enumerate().map(mix, num_parallel_calls=tf.data.AUTOTUNE)


def _augmenter(augment: Any, kind: str) -> Any:
    """Calls ``augment`` on a batch dict the way the dataset's elements look.

    A Keras layer takes images, or a dict of images and their targets, as
    Keras's preprocessing layers do: of an ``(images, labels)`` tuple it gets
    the images. A function gets the element as the dataset gives it, a tuple
    as separate arguments when it takes several.
    """
    import keras

    layer = isinstance(augment, keras.layers.Layer)
    try:
        positional = len(inspect.signature(augment).parameters)
    except (TypeError, ValueError):
        positional = 1

    def call(batch: dict) -> dict:
        element = _from_dict(batch, kind)
        if kind.startswith("tuple") and layer:
            result = (augment(element[0]), *element[1:])
        elif kind.startswith("tuple") and positional > 1:
            result = augment(*element)
        else:
            result = augment(element)
        return _to_dict(result, kind)

    return call


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
