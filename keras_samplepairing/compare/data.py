"""The comparison's data: digits, Fashion-MNIST or the user's ``.npz``, checked.

Every source gives float32 images ``(N, H, W, C)``, int64 class indices in
``[0, K)`` and the images' value range, with a fixed train/test split: the
test set is the same for every variant and every seed.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import zipfile
from typing import Any

import numpy as np

# Where the Debian package dataset-fashion-mnist puts its idx files.
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
# The digits' split: a stratified 80/20 split by this fixed seed, never the run's.
DIGITS_SPLIT_SEED = 0
DIGITS_TEST_SHARE = 0.2

# idx type codes (the third byte of the magic number) and their NumPy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


@dataclasses.dataclass(frozen=True)
class ComparisonData:
    """A train/test split ready for training.

    Attributes:
        name: where it came from (``"digits"``, ``"fashion-mnist"`` or the
            ``.npz`` path).
        x_train: float32 images ``(N, H, W, C)``.
        y_train: int64 class indices ``(N,)``.
        x_test: float32 images ``(M, H, W, C)``.
        y_test: int64 class indices ``(M,)``.
        num_classes: K; labels are in ``[0, K)``.
        value_range: ``(low, high)`` of the pixel values, which the model
            rescales to ``[0, 1]``.
        split: how the train and test sets were made.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    value_range: tuple[float, float]
    split: str = "as given"

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


def load_data(data: str = "digits", per_class: int | None = None) -> ComparisonData:
    """Loads the comparison's data by name or path.

    Args:
        data: ``"digits"`` (scikit-learn's 8x8 digits, nothing downloaded),
            ``"fashion-mnist"`` (the idx files of the Debian package
            ``dataset-fashion-mnist``) or the path of an ``.npz`` file with
            ``x_train``, ``y_train``, ``x_test``, ``y_test``.
        per_class: take the first ``per_class`` training images of each class
            (a small-data subset, as the paper's 100-per-class CIFAR runs);
            None takes them all. The test set is never subset.

    Returns:
        The checked ``ComparisonData``.

    Raises:
        ValueError: an unknown name, a missing file, a malformed array, or a
            ``per_class`` larger than a class.
    """
    if not isinstance(data, (str, os.PathLike)):
        raise TypeError(f"`data` must be 'digits', 'fashion-mnist' or an .npz path, got {data!r}.")
    data = os.fspath(data)
    name = data.lower().replace("_", "-")
    if name in ("digits", "fashion-mnist") and not os.path.exists(data):
        data = name  # Fashion-MNIST, fashion_mnist: the same data
    if data == "digits":
        loaded = load_digits()
    elif data == "fashion-mnist":
        loaded = load_fashion_mnist()
    elif data.endswith(".npz") or os.path.exists(data):
        loaded = load_npz(data)
    else:
        raise ValueError(
            f"`data` must be 'digits', 'fashion-mnist' or the path of an .npz file, got "
            f"{data!r} (no such file)."
        )
    if per_class is not None:
        loaded = take_per_class(loaded, per_class)
    return loaded


def load_digits() -> ComparisonData:
    """scikit-learn's digits: 8x8x1 float32 in [0, 255], a fixed stratified 80/20 split."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    images = (digits.images[..., None] * (255.0 / 16.0)).astype("float32")
    labels = digits.target.astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(
        images,
        labels,
        test_size=DIGITS_TEST_SHARE,
        stratify=labels,
        random_state=DIGITS_SPLIT_SEED,
    )
    split = (
        f"stratified {1 - DIGITS_TEST_SHARE:.0%}/{DIGITS_TEST_SHARE:.0%} "
        f"(sklearn train_test_split, random_state={DIGITS_SPLIT_SEED})"
    )
    return ComparisonData("digits", x_train, y_train, x_test, y_test, 10, (0.0, 255.0), split)


def read_idx(path: str) -> np.ndarray:
    """Reads one idx file (``.gz`` or plain), as MNIST and Fashion-MNIST ship.

    Args:
        path: the file.

    Returns:
        The array, in the file's shape and (native-endian) dtype.

    Raises:
        ValueError: the file is not an idx file or its size does not match
            its header.
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as file:
        raw = file.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an idx file (bad magic number {raw[:4].hex()}).")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated idx header.")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: the header says {shape} of {dtype} ({expected} bytes), "
            f"but {len(raw) - header} bytes follow."
        )
    array = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def load_fashion_mnist(directory: str = FASHION_MNIST_DIR) -> ComparisonData:
    """Fashion-MNIST from its four idx ``.gz`` files: 28x28x1 float32 in [0, 255].

    Args:
        directory: where the files are (the Debian package's folder by default).

    Raises:
        ValueError: a file is missing (naming the package that installs it) or
            malformed.
    """
    missing = [
        name
        for name in FASHION_MNIST_FILES.values()
        if not os.path.isfile(os.path.join(directory, name))
    ]
    if missing:
        raise ValueError(
            f"Fashion-MNIST is not installed: {', '.join(missing)} not found in {directory}. "
            "Install it with `apt-get install dataset-fashion-mnist`, or pass your own data "
            "as an .npz file."
        )
    arrays = {
        key: read_idx(os.path.join(directory, name)) for key, name in FASHION_MNIST_FILES.items()
    }
    return check_arrays(
        "fashion-mnist", arrays, value_range=(0.0, 255.0), split="the published train/t10k files"
    )


def load_npz(path: str) -> ComparisonData:
    """The user's data from an ``.npz`` with ``x_train, y_train, x_test, y_test``.

    Images are ``(N, H, W)`` or ``(N, H, W, C)``; labels are integer class
    indices ``(N,)`` in ``[0, K)``. The images' value range is read from the
    training images (uint8: ``[0, 255]``; floats: ``[0, 1]`` when within it,
    else their min and max).

    Raises:
        ValueError: the file is missing, or a key is missing or malformed.
    """
    if os.path.isdir(path):
        raise ValueError(f"`data`: {path!r} is a folder; give the .npz file itself.")
    if not os.path.isfile(path):
        raise ValueError(f"`data`: no such file {path!r}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"`data`: {path} is not an .npz file (np.savez writes one: "
            "np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...))."
        )
    try:
        with np.load(path, allow_pickle=False) as file:
            arrays = {key: file[key] for key in file.files}
    except (OSError, ValueError) as error:
        raise ValueError(f"`data`: {path} is not a readable .npz file ({error}).") from error
    missing = [key for key in NPZ_KEYS if key not in arrays]
    if missing:
        raise ValueError(
            f"`data`: {path} lacks {', '.join(repr(k) for k in missing)}; it needs the keys "
            f"{', '.join(NPZ_KEYS)} (it has {', '.join(sorted(arrays)) or 'none'})."
        )
    return check_arrays(
        path, {key: arrays[key] for key in NPZ_KEYS}, split="the file's x_train/x_test"
    )


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
    if array.ndim != 1:
        raise ValueError(
            f"`{key}` must be class indices of shape (N,), got shape {array.shape} "
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


def take_per_class(data: ComparisonData, per_class: int) -> ComparisonData:
    """The first ``per_class`` training images of each class, in the split's order.

    Raises:
        ValueError: ``per_class`` is not a positive int, or a class has fewer
            training images.
    """
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)):
        raise TypeError(f"`per_class` must be a positive int or None, got {per_class!r}.")
    if per_class < 1:
        raise ValueError(f"`per_class` must be >= 1, got {per_class}.")
    counts = np.bincount(data.y_train, minlength=data.num_classes)
    short = [(k, int(c)) for k, c in enumerate(counts) if c < per_class]
    if short:
        listed = ", ".join(f"class {k} has {c}" for k, c in short)
        raise ValueError(
            f"`per_class`={per_class} is larger than a class of the training split: {listed} "
            f"training images (the smallest class has {int(counts.min())})."
        )
    keep = np.concatenate(
        [np.flatnonzero(data.y_train == k)[:per_class] for k in range(data.num_classes)]
    )
    keep.sort()  # the split's order, classes interleaved
    return dataclasses.replace(data, x_train=data.x_train[keep], y_train=data.y_train[keep])
