"""The embedded digits, the split, and the real Fashion-MNIST files when ../shared has them."""
import csv
import gzip
import hashlib
import io
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lite.data import fetch, load_dataset, load_digits, load_fashion_mnist, stratified_order

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"  # ../shared/data/README.md
FASHION_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fashion-mnist"


def embedded_bytes():
    return resources.files("tinygrad_lite").joinpath("datasets/digits.csv.gz").read_bytes()


def digits_table():
    """The CSV read with the csv module: 64 pixels then the label per row."""
    rows = list(csv.reader(io.StringIO(gzip.decompress(embedded_bytes()).decode())))
    return np.array([[int(v) for v in r] for r in rows])


def test_embedded_file_checksum():
    assert hashlib.sha256(embedded_bytes()).hexdigest() == DIGITS_SHA256


def test_digits_shapes_and_values():
    s = load_digits()
    assert (s.x_train.shape, s.x_val.shape, s.x_test.shape) == ((1257, 64), (270, 64), (270, 64))
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    assert s.classes == tuple("0123456789") and s.num_classes == 10 and s.num_features == 64
    assert s.image_shape == (8, 8) and s.name == "digits"
    x = np.concatenate([s.x_train, s.x_val, s.x_test])
    assert x.min() == 0 and x.max() == 16 and np.all(x == np.round(x))


def sorted_rows(a):
    return a[np.lexsort(a.T[::-1])]


def test_digits_parts_partition_the_file():
    s = load_digits()
    got = np.concatenate([np.column_stack([x, y]) for x, y in
                          ((s.x_train, s.y_train), (s.x_val, s.y_val), (s.x_test, s.y_test))])
    want = digits_table()
    assert got.shape == want.shape == (1797, 65)
    np.testing.assert_array_equal(sorted_rows(got), sorted_rows(want))


def test_digits_split_is_stratified():
    s, y = load_digits(), digits_table()[:, 64]
    freq = np.bincount(y, minlength=10) / len(y)
    for part in (s.y_train, s.y_val, s.y_test):
        assert np.all(np.abs(np.bincount(part, minlength=10) - freq * len(part)) <= 1.5)


def test_digits_split_seeded():
    a, b, c = load_digits(0), load_digits(0), load_digits(1)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)


def test_stratified_order_prefixes():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    order = stratified_order(y, seed=3)
    assert sorted(order) == list(range(100))
    for k in (10, 25, 50, 77):
        assert np.all(np.abs(np.bincount(y[order[:k]], minlength=3) - np.array([.5, .3, .2]) * k) <= 1)


def test_load_dataset_dispatch_and_errors():
    assert load_dataset("digits", split_seed=0).x_train.shape == (1257, 64)
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="no data_dir"):
        load_dataset("digits", data_dir="/tmp")
    with pytest.raises(ValueError, match="val_size"):
        load_digits(val_size=0)


@pytest.fixture(scope="module")
def fashion():
    if not FASHION_DIR.is_dir():
        pytest.skip(f"{FASHION_DIR} is absent (the real-file test needs ../shared beside the repository)")
    return load_fashion_mnist(FASHION_DIR, download=False)


def test_fashion_mnist_real_files(fashion):
    s = fashion
    assert len(s.x_train) + len(s.x_val) == 60000 and s.x_val.shape == (10000, 784)
    assert s.x_test.shape == (10000, 784) and s.x_train.dtype == np.float32
    y = np.concatenate([s.y_train, s.y_val])
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class
    assert np.array_equal(np.bincount(y), np.full(10, 6000))
    assert np.array_equal(np.bincount(s.y_test), np.full(10, 1000))
    assert 0.0 <= s.x_test.min() and s.x_test.max() == 1.0
    assert s.classes[9] == "Ankle boot" and s.image_shape == (28, 28)


def test_fashion_mnist_raw_unflattened():
    if not FASHION_DIR.is_dir():
        pytest.skip(f"{FASHION_DIR} is absent")
    s = load_fashion_mnist(FASHION_DIR, val_size=5000, scale=False, flatten=False, download=False)
    assert s.x_train.shape == (55000, 28, 28) and s.x_val.shape == (5000, 28, 28)
    assert s.x_test.max() == 255.0 and s.x_test.dtype == np.float32


def test_fashion_mnist_files_match_download_checksums():
    if not FASHION_DIR.is_dir():
        pytest.skip(f"{FASHION_DIR} is absent")
    for name, digest in fetch.REGISTRY["fashion-mnist"].sha256.items():
        assert fetch.sha256_of(FASHION_DIR / name) == digest, name
