"""A training set held in memory for whole-set pairing: arrays on the host,
TensorFlow variables a pipeline gathers from.

The set lives in ``tf.Variable``s on the CPU (never graph constants, which
stop at 2 GB), made on first use; each batch gathers its anchors and their
partners by index. Tables the partner draws read (the set sorted by class,
the features, how KL reads them) live beside it, and are assigned in place
when they change, so a pipeline sees new values without retracing.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from keras_samplepairing.engine.structure import as_dict, structure_of


def fingerprint(images: np.ndarray) -> str:
    """A digest of a data set: its shape, its dtype and every image's bytes, so
    an index built for other data is recognised (about 1.6 GB/s: 0.1 s for
    50,000 CIFAR-sized uint8 images)."""
    images = np.ascontiguousarray(images)
    digest = hashlib.sha256(f"{images.shape}{images.dtype}".encode())
    digest.update(images.data)
    return digest.hexdigest()[:32]


def flatten(batch: dict) -> dict:
    """One level: the boxes' keys become ``"bounding_boxes/<key>"``."""
    flat = {k: v for k, v in batch.items() if k != "bounding_boxes"}
    for key, value in batch.get("bounding_boxes", {}).items():
        flat[f"bounding_boxes/{key}"] = value
    return flat


def unflatten(flat: dict) -> dict:
    """The inverse of ``flatten``."""
    batch = {k: v for k, v in flat.items() if not k.startswith("bounding_boxes/")}
    boxes = {k.split("/", 1)[1]: v for k, v in flat.items() if k.startswith("bounding_boxes/")}
    if boxes:
        batch["bounding_boxes"] = boxes
    return batch


def materialise(dataset: Any) -> Any:
    """A finite dataset's elements as NumPy arrays (one pass)."""
    import tensorflow as tf

    parts = [tf.nest.map_structure(np.asarray, b) for b in dataset.batch(4096)]
    if not parts:
        raise ValueError("`data` is empty.")
    return tf.nest.map_structure(lambda *arrays: np.concatenate(arrays), *parts)


def element_bytes(spec: Any) -> int:
    """Bytes of one element of this spec; -1 when a shape is not static."""
    import tensorflow as tf

    total = 0
    for leaf in tf.nest.flatten(spec):
        if None in leaf.shape or isinstance(leaf, tf.RaggedTensorSpec):
            return -1
        total += int(np.prod(leaf.shape, dtype=np.int64)) * leaf.dtype.size
    return total


def hold_or_stream(data: Any, in_memory: bool | None, memory_limit: int) -> tuple[bool, Any]:
    """``(in_memory, data)``: the data as NumPy arrays to hold, or the dataset to
    stream. Arrays are held; a dataset is held when asked, or by default when
    its size is known and at most ``memory_limit`` bytes."""
    import tensorflow as tf

    if not isinstance(data, tf.data.Dataset):
        if in_memory is False:
            raise ValueError("`in_memory=False` needs a tf.data.Dataset to stream.")
        return True, data
    spec = data.element_spec
    rank = as_dict(spec, structure_of(spec))["images"].shape.rank
    if rank != 3:
        raise ValueError(
            "`data` must hold one (H, W, C) image per element, unbatched; got images of "
            f"rank {rank}. Batching is done by .dataset(batch_size)."
        )
    if in_memory is None:
        size, per_element = int(data.cardinality()), element_bytes(spec)
        in_memory = size > 0 and 0 <= per_element * size <= memory_limit
    return (True, materialise(data)) if in_memory else (False, data)


def class_tables(labels: np.ndarray) -> dict[str, np.ndarray]:
    """The set sorted by class, for ``ops.set_partners.class_partners``:
    ``order`` (indices sorted by class) and, per index, ``start`` (where its
    class begins in ``order``), ``count`` (its class's size) and ``rank`` (its
    own position within its class)."""
    size = len(labels)
    order = np.argsort(labels, kind="stable")
    values, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
    dense = np.searchsorted(values, labels)
    rank = np.empty(size, np.int64)
    rank[order] = np.arange(size) - starts[dense[order]]
    return {
        "order": order.astype(np.int32),
        "start": starts[dense].astype(np.int32),
        "count": counts[dense].astype(np.int32),
        "rank": rank.astype(np.int32),
    }


class SetStorage:
    """The whole training set in memory.

    Args:
        data: an element of the whole set in one of Keras's structures, each
            part with the set as its first axis (arrays, or a dict with dense
            boxes).

    Attributes:
        structure: the elements' structure (``"images"``, ``"tuple2"``, ...).
        arrays: the parts as NumPy arrays, flattened one level.
        size: N.
    """

    def __init__(self, data: Any) -> None:
        self.structure = structure_of(data)
        element = as_dict(data, self.structure)
        arrays = {k: np.asarray(v) for k, v in element.items() if k != "bounding_boxes"}
        if "bounding_boxes" in element:
            boxes = element["bounding_boxes"]
            arrays["bounding_boxes"] = {k: np.asarray(v) for k, v in boxes.items()}
        self.arrays = flatten(arrays)
        images = self.arrays["images"]
        if images.ndim != 4:
            raise ValueError(
                "`data` must hold one (H, W, C) image per element, unbatched; got images of "
                f"rank {images.ndim - 1}. Batching is done by .dataset(batch_size)."
            )
        self.size = len(images)
        if self.size < 2:
            raise ValueError(f"`data` needs at least 2 images to pair, got {self.size}.")
        for key, value in self.arrays.items():
            if len(value) != self.size:
                raise ValueError(
                    f"`data` has {self.size} images but {len(value)} entries in {key!r}."
                )
        self._variables: dict | None = None
        self._tables: dict[str, np.ndarray] = {}
        self._fingerprint: str | None = None

    @property
    def images(self) -> np.ndarray:
        """The whole set's images, ``(N, ...)``."""
        return self.arrays["images"]

    def fingerprint(self) -> str:
        """``fingerprint`` of the images (computed once)."""
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self.images)
        return self._fingerprint

    def set_table(self, name: str, value: np.ndarray) -> None:
        """Adds or replaces a table the draws read (assigned in place once the
        variables exist, so a running pipeline sees it)."""
        self._tables[name] = value
        if self._variables is not None:
            variable = self._variables.get(f"table/{name}")
            if variable is None:
                self._variables[f"table/{name}"] = self._variable(f"table/{name}", value)
            else:
                variable.assign(value)

    def has_table(self, name: str) -> bool:
        """Whether the table ``name`` exists."""
        return name in self._tables

    def _variable(self, name: str, value: Any) -> Any:
        import tensorflow as tf

        with tf.init_scope(), tf.device("/cpu:0"):
            return tf.Variable(value, trainable=False, name=name.replace("/", "_"))

    def variables(self) -> dict:
        """The ``tf.Variable``s of the set and its tables (made on first use)."""
        if self._variables is None:
            variables = {k: self._variable(k, v) for k, v in self.arrays.items()}
            for name, value in self._tables.items():
                variables[f"table/{name}"] = self._variable(f"table/{name}", value)
            self._variables = variables
        return self._variables

    def table(self, name: str) -> Any:
        """The variable of table ``name``."""
        return self.variables()[f"table/{name}"]

    def gather(self, ids: Any) -> dict:
        """The set's rows ``ids`` as a batch dict (boxes nested again)."""
        import tensorflow as tf

        variables = self.variables()
        return unflatten({key: tf.gather(variables[key], ids) for key in self.arrays})
