"""The comparison's data: the digits split, per-class subsets, idx files, .npz checks."""

import gzip
import struct

import numpy as np
import pytest

from keras_samplepairing.compare.datasets import (
    FASHION_MNIST_FILES,
    load_data,
    load_fashion_mnist,
    read_idx,
)


def test_digits_split_is_fixed_and_stratified():
    data = load_data("digits")
    assert data.x_train.shape == (1437, 8, 8, 1) and data.x_test.shape == (360, 8, 8, 1)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.num_classes == 10 and data.value_range == (0.0, 255.0)
    assert data.x_train.min() == 0.0 and data.x_train.max() == 255.0
    assert np.bincount(data.y_test).tolist() == [36, 36, 35, 37, 36, 37, 36, 36, 35, 36]
    again = load_data("digits", per_class=30)
    np.testing.assert_array_equal(again.x_test, data.x_test)  # the same test set
    assert again.fingerprint() != data.fingerprint()
    assert load_data("digits").fingerprint() == data.fingerprint()


def test_per_class_takes_the_first_of_each_class_in_order():
    full = load_data("digits")
    small = load_data("digits", per_class=3)
    assert len(small.y_train) == 30 and np.bincount(small.y_train).tolist() == [3] * 10
    keep = np.sort(np.concatenate([np.flatnonzero(full.y_train == k)[:3] for k in range(10)]))
    np.testing.assert_array_equal(small.x_train, full.x_train[keep])
    np.testing.assert_array_equal(small.y_train, full.y_train[keep])


def test_per_class_larger_than_a_class():
    with pytest.raises(ValueError, match=r"`per_class`=140 is larger .* class 8 has 139"):
        load_data("digits", per_class=140)
    with pytest.raises(ValueError, match="`per_class` must be >= 1"):
        load_data("digits", per_class=0)
    with pytest.raises(TypeError, match="`per_class`"):
        load_data("digits", per_class=2.5)


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_fashion(directory, train=12, test=4):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (train, 28, 28)),
        "y_train": np.arange(train) % 10,
        "x_test": rng.integers(0, 256, (test, 28, 28)),
        "y_test": np.arange(test) % 10,
    }
    for key, name in FASHION_MNIST_FILES.items():
        with gzip.open(directory / name, "wb") as file:
            file.write(_idx_bytes(arrays[key]))
    return arrays


def test_idx_reader(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    plain = tmp_path / "a-idx3-ubyte"
    plain.write_bytes(_idx_bytes(array))
    np.testing.assert_array_equal(read_idx(str(plain)), array)
    packed = tmp_path / "a-idx3-ubyte.gz"
    packed.write_bytes(gzip.compress(_idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(str(packed)), array)
    # Big-endian int32 data, as idx stores it.
    ints = np.array([1, -2, 70000], dtype=">i4")
    (tmp_path / "i").write_bytes(bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 3) + ints.tobytes())
    assert read_idx(str(tmp_path / "i")).tolist() == [1, -2, 70000]
    (tmp_path / "bad").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(str(tmp_path / "bad"))
    (tmp_path / "short").write_bytes(_idx_bytes(array)[:-1])
    with pytest.raises(ValueError, match="23 bytes follow"):
        read_idx(str(tmp_path / "short"))


def test_fashion_mnist_from_idx_files(tmp_path):
    arrays = _write_fashion(tmp_path)
    data = load_fashion_mnist(str(tmp_path))
    assert data.name == "fashion-mnist" and data.image_shape == (28, 28, 1)
    assert data.x_train.dtype == np.float32 and data.num_classes == 10
    np.testing.assert_array_equal(data.x_train[..., 0], arrays["x_train"])
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])


def test_fashion_mnist_missing_names_the_package(tmp_path):
    with pytest.raises(ValueError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(str(tmp_path))


def _npz(path, **overrides):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (20, 6, 6), dtype=np.uint8),
        "y_train": np.arange(20) % 4,
        "x_test": rng.integers(0, 256, (8, 6, 6), dtype=np.uint8),
        "y_test": np.arange(8) % 4,
    }
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return str(path)


def test_npz_is_loaded_and_checked(tmp_path):
    data = load_data(_npz(tmp_path / "ok.npz"))
    assert data.image_shape == (6, 6, 1) and data.num_classes == 4
    assert data.value_range == (0.0, 255.0) and data.x_train.dtype == np.float32
    unit = load_data(
        _npz(
            tmp_path / "unit.npz",
            x_train=np.linspace(0, 1, 20 * 108).reshape(20, 6, 6, 3),
            x_test=np.full((8, 6, 6, 3), 0.5),
        )
    )
    assert unit.value_range == (0.0, 1.0) and unit.image_shape == (6, 6, 3)
    over = load_data(
        _npz(
            tmp_path / "over.npz",
            x_train=np.linspace(0, 1.2, 720).reshape(20, 6, 6),
            x_test=np.linspace(0.1, 1.1, 288).reshape(8, 6, 6),
        )
    )
    assert over.value_range == pytest.approx((0.0, 1.2))  # not taken for [0, 255]
    floats = load_data(_npz(tmp_path / "f.npz", y_train=(np.arange(20) % 4).astype(float)))
    assert floats.y_train.dtype == np.int64


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"y_test": None}, "lacks 'y_test'"),
        ({"x_train": None, "y_train": None}, "lacks 'x_train', 'y_train'"),
        ({"y_train": np.arange(19) % 4}, "`x_train` has 20 images but `y_train` has 19"),
        ({"y_train": np.array([-1] + [1] * 19)}, "`y_train` .* negative value -1"),
        ({"y_test": np.array([0.5, 1, 2, 3, 0, 1, 2, 3])}, "`y_test` must be integer .* 0.5"),
        ({"y_train": np.eye(4)[np.arange(20) % 4]}, r"`y_train` must be class indices of shape"),
        ({"x_test": np.zeros((8, 5, 5))}, "`x_train` images are .* but `x_test`"),
        ({"x_train": np.zeros((20, 6))}, r"`x_train` must be images"),
        ({"y_test": np.array([0, 1, 2, 3, 4, 0, 1, 2])}, r"`y_test` has classes \[4\]"),
        # Gaps in the labels would make empty classes (and a wrong K).
        (
            {"y_train": np.arange(20) % 4 * 2, "y_test": np.arange(8) % 4 * 2},
            "no image of class 1, 3, 5",
        ),
        ({"x_test": np.linspace(0, 1, 288).reshape(8, 6, 6)}, "`x_test` is on another scale"),
        ({"x_train": np.zeros((20, 1, 6, 6)) + np.arange(6)}, "looks channels-first"),
    ],
)
def test_npz_errors_name_the_key(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        load_data(_npz(tmp_path / "bad.npz", **overrides))


def test_data_names_and_paths(tmp_path):
    assert load_data("DIGITS").name == "digits"
    with pytest.raises(ValueError, match="is a folder; give the .npz file itself"):
        load_data(str(tmp_path))
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match="is not an .npz file"):
        load_data(str(text))


def test_unknown_data():
    with pytest.raises(ValueError, match="'digits', 'fashion-mnist' or the path"):
        load_data("cifar10")
    with pytest.raises(ValueError, match="no such file"):
        load_data("/nonexistent/data.npz")


def test_n_by_1_integer_labels_are_class_indices(tmp_path):
    # keras.datasets ships CIFAR's labels as (N, 1): one class index per row.
    column = (np.arange(20) % 4)[:, None]
    data = load_data(
        _npz(tmp_path / "cifar_like.npz", y_train=column, y_test=(np.arange(8) % 4)[:, None])
    )
    assert data.y_train.shape == (20,) and data.y_train.tolist() == (np.arange(20) % 4).tolist()
    assert data.num_classes == 4
    with pytest.raises(ValueError, match=r"`y_train` must be class indices of shape \(N,\) or"):
        load_data(_npz(tmp_path / "onehot.npz", y_train=np.eye(4)[np.arange(20) % 4]))


def test_data_from_python_arrays_and_datasets():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x_train, y_train = rng.integers(0, 256, (12, 6, 6, 1)).astype("uint8"), np.arange(12) % 3
    x_test, y_test = rng.integers(0, 256, (6, 6, 6, 1)).astype("uint8"), np.arange(6) % 3
    arrays = load_data(((x_train, y_train), (x_test, y_test)))
    assert arrays.name == "arrays" and arrays.value_range == (0.0, 255.0)
    as_dict = load_data(
        {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    )
    assert as_dict.fingerprint() == arrays.fingerprint()
    batched = tf.data.Dataset.from_tensor_slices((x_train, y_train[:, None])).batch(5)
    datasets = load_data((batched, tf.data.Dataset.from_tensor_slices((x_test, y_test))))
    assert datasets.name == "tf.data" and datasets.fingerprint() == arrays.fingerprint()
    assert load_data(arrays, per_class=2).y_train.tolist() == [0, 1, 2, 0, 1, 2]
    endless = tf.data.Dataset.from_tensor_slices((x_train, y_train)).repeat()
    with pytest.raises(ValueError, match="endless"):
        load_data((endless, batched))
    with pytest.raises(ValueError, match="lacks 'y_test'"):
        load_data({"x_train": x_train, "y_train": y_train, "x_test": x_test})
    with pytest.raises(TypeError, match="`data` must be 'digits'"):
        load_data(42)
