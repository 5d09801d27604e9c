"""The comparison's data: a checked train/test split and its training subsets.

Every source (``datasets.py``) gives float32 images ``(N, H, W, C)``, int64
class indices in ``[0, K)`` and the images' value range, with a fixed
train/test split: the test set is the same for every variant, cell and seed.
A per-class subset of the training images is either drawn per seed (the same
subset for every variant and cell at that seed, so comparisons stay paired)
or fixed (the first N of each class, in the split's order).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np

from keras_samplepairing.compare.arguments import count

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
# Mixed into each seed's subset draw, so the subset's random stream is not the
# one a user seeding NumPy with the same small integer gets.
SUBSET_SALT = 0x5A3B1E


@dataclasses.dataclass(frozen=True)
class ComparisonData:
    """A train/test split ready for training.

    Attributes:
        name: where it came from (``"digits"``, ``"fashion-mnist"``, the
            ``.npz`` path, ``"arrays"`` or ``"tf.data"``).
        x_train: float32 images ``(N, H, W, C)``.
        y_train: int64 class indices ``(N,)``.
        x_test: float32 images ``(M, H, W, C)``.
        y_test: int64 class indices ``(M,)``.
        num_classes: K; labels are in ``[0, K)``.
        value_range: ``(low, high)`` of the pixel values, which the model
            rescales to ``[0, 1]``.
        split: how the train and test sets were made.
        subset: how the training images were taken from the split's
            (empty: all of them).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    value_range: tuple[float, float]
    split: str = "as given"
    subset: str = ""

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of one image."""
        return tuple(int(d) for d in self.x_train.shape[1:])  # type: ignore[return-value]

    def fingerprint(self) -> str:
        """A short SHA-256 of the arrays: resuming checks it is the same data."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(str(array.shape).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """The data's settings, as the results file records them."""
        return {
            "data": self.name,
            "train_images": int(len(self.x_train)),
            "test_images": int(len(self.x_test)),
            "image_shape": list(self.image_shape),
            "num_classes": int(self.num_classes),
            "value_range": [float(v) for v in self.value_range],
            "split": self.split,
            "fingerprint": self.fingerprint(),
        }


def check_per_class(per_class: Any) -> int | None:
    """``per_class`` as an int >= 1 (NumPy integers too), or None.

    Raises:
        TypeError, ValueError: naming ``per_class``.
    """
    return None if per_class is None else count("per_class", per_class, 1)


def _check_class_sizes(data: ComparisonData, per_class: int) -> None:
    counts = np.bincount(data.y_train, minlength=data.num_classes)
    short = [(k, int(c)) for k, c in enumerate(counts) if c < per_class]
    if short:
        listed = ", ".join(f"class {k} has {c}" for k, c in short)
        raise ValueError(
            f"`per_class`={per_class} is larger than a class of the training split: {listed} "
            f"training images (the smallest class has {int(counts.min())})."
        )


def take_per_class(data: ComparisonData, per_class: int) -> ComparisonData:
    """The first ``per_class`` training images of each class, in the split's order
    (the fixed subset: ``--fixed-subset``).

    Raises:
        ValueError: ``per_class`` is not a positive int, or a class has fewer
            training images.
    """
    per_class = check_per_class(per_class)
    if per_class is None:
        raise TypeError("`per_class` must be a positive int, got None.")
    _check_class_sizes(data, per_class)
    keep = np.concatenate(
        [np.flatnonzero(data.y_train == k)[:per_class] for k in range(data.num_classes)]
    )
    keep.sort()  # the split's order, classes interleaved
    return dataclasses.replace(
        data,
        x_train=data.x_train[keep],
        y_train=data.y_train[keep],
        subset=f"the first {per_class} of each class",
    )


def draw_per_class(data: ComparisonData, per_class: int, seed: int) -> ComparisonData:
    """``per_class`` training images of each class drawn at random by ``seed``.

    Each class's images are put in a random order by the seed and the first
    ``per_class`` are kept (then sorted into the split's order), so the
    subsets of one seed are nested: 10 per class lie within 30 per class.

    Args:
        data: the whole split.
        per_class: images per class.
        seed: the run's seed; the same seed gives the same subset.

    Raises:
        ValueError: a class has fewer than ``per_class`` training images.
    """
    per_class = check_per_class(per_class)
    if per_class is None:
        raise TypeError("`per_class` must be a positive int, got None.")
    _check_class_sizes(data, per_class)
    rng = np.random.default_rng([SUBSET_SALT, int(seed)])
    keep = np.concatenate(
        [
            rng.permutation(np.flatnonzero(data.y_train == k))[:per_class]
            for k in range(data.num_classes)
        ]
    )
    keep.sort()
    return dataclasses.replace(
        data,
        x_train=data.x_train[keep],
        y_train=data.y_train[keep],
        subset=f"{per_class} of each class drawn by seed {int(seed)}",
    )


def training_subset(
    data: ComparisonData, per_class: int | None, seed: int, fixed: bool
) -> ComparisonData:
    """The training images one run uses: all, the fixed subset, or the seed's.

    Args:
        data: the whole split.
        per_class: images per class (None: all).
        seed: the run's seed.
        fixed: the first ``per_class`` of each class for every seed.
    """
    if per_class is None:
        return data
    return take_per_class(data, per_class) if fixed else draw_per_class(data, per_class, seed)


def _images(key: str, array: np.ndarray) -> np.ndarray:
    if not (np.issubdtype(array.dtype, np.number) and not np.iscomplexobj(array)):
        raise ValueError(f"`{key}` must hold real numbers, got dtype {array.dtype}.")
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise ValueError(
            f"`{key}` must be images (N, H, W) or (N, H, W, C), got shape {array.shape}."
        )
    if len(array) == 0:
        raise ValueError(f"`{key}` is empty.")
    if array.shape[1] in (1, 3, 4) and array.shape[3] > 4:
        raise ValueError(
            f"`{key}` looks channels-first, shape {array.shape} (N, C, H, W); give images "
            "channels-last (N, H, W, C): np.moveaxis(images, 1, -1)."
        )
    array = array.astype("float32")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{key}` holds NaN or infinite values.")
    return array


def _labels(key: str, array: np.ndarray) -> np.ndarray:
    if array.ndim == 2 and array.shape[1] == 1:
        # (N, 1) holds one class index per image, as keras.datasets ships CIFAR
        # (one-hot labels have a column per class).
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"`{key}` must be class indices of shape (N,) or (N, 1), got shape {array.shape} "
            "(one-hot labels: take their argmax)."
        )
    if np.issubdtype(array.dtype, np.bool_) or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"`{key}` must be integer class indices, got dtype {array.dtype}.")
    if not np.issubdtype(array.dtype, np.integer):
        fractional = ~np.isfinite(array) | (array != np.round(array))
        if np.any(fractional):
            raise ValueError(
                f"`{key}` must be integer class indices, got the value {array[fractional][0]}."
            )
    if np.any(array < 0):
        raise ValueError(
            f"`{key}` must be class indices in [0, K), got the negative value {array.min()}."
        )
    return array.astype("int64")


def check_arrays(
    name: str,
    arrays: dict[str, np.ndarray],
    value_range: tuple[float, float] | None = None,
    split: str = "as given",
) -> ComparisonData:
    """Checks and converts ``x_train, y_train, x_test, y_test`` arrays.

    Args:
        name: the data's name (for messages and the results file).
        arrays: the four arrays by key.
        value_range: the pixels' range; None reads it from the training
            images: uint8 ``(0, 255)``, floats within [0, 1] ``(0, 1)``, other
            floats their min and max (never a guessed scale: floats in
            [0, 1.2] are not taken for [0, 255]).
        split: how the train and test sets were made (recorded).

    Returns:
        The checked ``ComparisonData``; K is the largest label + 1.

    Raises:
        ValueError: naming the key whose array is malformed.
    """
    raw_train = np.asarray(arrays["x_train"])
    x_train = _images("x_train", raw_train)
    x_test = _images("x_test", np.asarray(arrays["x_test"]))
    y_train = _labels("y_train", np.asarray(arrays["y_train"]))
    y_test = _labels("y_test", np.asarray(arrays["y_test"]))
    for images, labels in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = (x_train, y_train) if images == "x_train" else (x_test, y_test)
        if len(x) != len(y):
            raise ValueError(f"`{images}` has {len(x)} images but `{labels}` has {len(y)} labels.")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            f"`x_train` images are {x_train.shape[1:]} but `x_test` images are {x_test.shape[1:]}."
        )
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    if num_classes < 2:
        raise ValueError(f"`y_train` and `y_test` hold {num_classes} class; need at least 2.")
    unseen = sorted(set(np.unique(y_test).tolist()) - set(np.unique(y_train).tolist()))
    if unseen:
        raise ValueError(f"`y_test` has classes {unseen} that `y_train` never has.")
    absent = sorted(set(range(num_classes)) - set(np.unique(y_train).tolist()))
    if absent:
        shown = ", ".join(map(str, absent[:8])) + (", ..." if len(absent) > 8 else "")
        raise ValueError(
            f"`y_train` has no image of class {shown}, although labels go up to "
            f"{num_classes - 1}: labels must be 0..K-1 with every class present (number "
            "them with np.unique(labels, return_inverse=True))."
        )
    if value_range is None:
        low, high = float(x_train.min()), float(x_train.max())
        if raw_train.dtype == np.uint8:
            value_range = (0.0, 255.0)
        elif low >= 0.0 and high <= 1.0:
            value_range = (0.0, 1.0)
        else:
            value_range = (low, high)
        if value_range[1] <= value_range[0]:
            raise ValueError(f"`x_train` is constant ({low}); there is nothing to learn.")
    train_span = float(x_train.max() - x_train.min())
    test_span = float(x_test.max() - x_test.min())
    if train_span > 0 and test_span > 0 and not 0.25 <= test_span / train_span <= 4.0:
        raise ValueError(
            f"`x_test` is on another scale than `x_train`: its values span {test_span:g}, "
            f"x_train's {train_span:g} (e.g. one in [0, 1], the other in [0, 255]); scale both "
            "the same way."
        )
    return ComparisonData(
        name, x_train, y_train, x_test, y_test, num_classes, tuple(map(float, value_range)), split
    )
