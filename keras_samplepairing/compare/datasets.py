"""Where the comparison's data comes from: built-in sets, files and Python objects.

- ``"digits"``: scikit-learn's 8x8 digits (nothing downloaded), a fixed
  stratified 80/20 split;
- ``"fashion-mnist"``: the idx files of the Debian package
  ``dataset-fashion-mnist``;
- an ``.npz`` path with ``x_train, y_train, x_test, y_test``;
- from Python: ``((x_train, y_train), (x_test, y_test))`` arrays, a dict of
  the four arrays, ``(train, test)`` ``tf.data`` datasets of ``(image,
  label)`` elements (batched or not), or a ``ComparisonData``.

Every source is checked by ``data.check_arrays`` the same way.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from keras_samplepairing.compare.data import NPZ_KEYS, ComparisonData, check_arrays

# Where the Debian package dataset-fashion-mnist puts its idx files.
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
BUILT_IN = ("digits", "fashion-mnist")
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


def load_data(data: Any = "digits", per_class: int | None = None) -> ComparisonData:
    """Loads the comparison's data by name, path or Python object.

    Args:
        data: ``"digits"``, ``"fashion-mnist"``, the path of an ``.npz`` file
            with ``x_train``, ``y_train``, ``x_test``, ``y_test``, or (from
            Python) ``((x_train, y_train), (x_test, y_test))`` arrays, a dict
            of those four arrays, ``(train, test)`` ``tf.data`` datasets of
            ``(image, label)`` elements, or a ``ComparisonData``.
        per_class: take the first ``per_class`` training images of each class
            (the fixed subset; the comparison draws one per seed instead,
            see ``data.training_subset``); None takes them all. The test set
            is never subset.

    Returns:
        The checked ``ComparisonData``.

    Raises:
        ValueError, TypeError: an unknown name, a missing file, a malformed
            array (naming its key), or a ``per_class`` larger than a class.
    """
    from keras_samplepairing.compare.data import take_per_class

    if isinstance(data, (str, os.PathLike)):
        loaded = _load_named(os.fspath(data))
    else:
        loaded = from_python(data)
    if per_class is not None:
        loaded = take_per_class(loaded, per_class)
    return loaded


def _load_named(data: str) -> ComparisonData:
    name = data.lower().replace("_", "-")
    if name in BUILT_IN and not os.path.exists(data):
        data = name  # Fashion-MNIST, fashion_mnist: the same data
    if data == "digits":
        return load_digits()
    if data == "fashion-mnist":
        return load_fashion_mnist()
    if data.endswith(".npz") or os.path.exists(data):
        return load_npz(data)
    raise ValueError(
        f"`data` must be 'digits', 'fashion-mnist' or the path of an .npz file, got "
        f"{data!r} (no such file)."
    )


def from_python(data: Any) -> ComparisonData:
    """The comparison's data from Python objects (see ``load_data``).

    Raises:
        TypeError: ``data`` is none of the accepted forms.
        ValueError: an array is malformed (naming it), or a dataset is endless.
    """
    if isinstance(data, ComparisonData):
        return data
    if isinstance(data, Mapping):
        missing = [key for key in NPZ_KEYS if key not in data]
        if missing:
            raise ValueError(
                f"`data` lacks {', '.join(map(repr, missing))}; a dict needs the keys "
                f"{', '.join(NPZ_KEYS)}."
            )
        return check_arrays("arrays", {key: np.asarray(data[key]) for key in NPZ_KEYS})
    if isinstance(data, (tuple, list)) and len(data) == 2:
        train, test = data
        if _is_dataset(train) and _is_dataset(test):
            (x_train, y_train), (x_test, y_test) = _from_dataset(train), _from_dataset(test)
            name = "tf.data"
        elif all(isinstance(part, (tuple, list)) and len(part) == 2 for part in data):
            (x_train, y_train), (x_test, y_test) = train, test
            name = "arrays"
        else:
            raise TypeError(_FORMS.format(got=_shown(data)))
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
        return check_arrays(name, {key: np.asarray(value) for key, value in arrays.items()})
    raise TypeError(_FORMS.format(got=_shown(data)))


_FORMS = (
    "`data` must be 'digits', 'fashion-mnist', an .npz path, ((x_train, y_train), (x_test, "
    "y_test)) arrays, a dict of those four arrays, (train, test) tf.data datasets of (image, "
    "label) elements, or a ComparisonData; got {got}."
)


def _shown(value: Any) -> str:
    text = repr(value) if not hasattr(value, "shape") else f"an array of shape {value.shape}"
    return text if len(text) < 80 else f"a {type(value).__name__}"


def _is_dataset(value: Any) -> bool:
    # tf.data without importing TensorFlow for the other forms.
    return any(cls.__name__ == "DatasetV2" for cls in type(value).__mro__)


def _from_dataset(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` arrays from a finite dataset of ``(image, label)``
    elements, batched (images of rank 4) or not."""
    import tensorflow as tf

    if int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise ValueError("`data`: a dataset is endless (repeat()); give one pass over the set.")
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise ValueError(f"`data`: dataset elements must be (image, label) pairs, got {spec}.")
    batched = spec[0].shape.rank == 4
    images, labels = [], []
    for x, y in dataset.as_numpy_iterator():
        images.append(x if batched else x[None])
        labels.append(np.reshape(y, (-1,) + np.shape(y)[1:]) if batched else np.asarray(y)[None])
    if not images:
        raise ValueError("`data`: a dataset is empty.")
    return np.concatenate(images), np.concatenate(labels)


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
    indices ``(N,)`` or ``(N, 1)`` in ``[0, K)``. The images' value range is read from the
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


def load_digits_split(subset: int | None, seed: int) -> tuple[tuple, tuple]:
    """The demo's digits: (8, 8, 1) float32 images in [0, 255], shuffled by
    ``seed``, the first 80% for training (its first ``subset`` images when
    given) and the rest for validation.

    Returns:
        ``(x_train, y_train), (x_val, y_val)``.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = (digits.images[..., None] * (255.0 / 16.0)).astype("float32")
    labels = digits.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], labels[order]
    split = int(0.8 * len(images))
    x_train, y_train = images[:split], labels[:split]
    if subset:
        x_train, y_train = x_train[:subset], y_train[:subset]
    return (x_train, y_train), (images[split:], labels[split:])
