"""Data sets as host NumPy arrays, split into training, validation and test parts.

- ``load_digits``: the UCI handwritten digits shipped inside the package (1797 images
  of 8x8, values 0..16; E. Alpaydin, C. Kaynak, 1998, CC BY 4.0).
- ``load_fashion_mnist`` / ``load_mnist``: the IDX files found on disk or downloaded
  (see :mod:`tinygrad_lite.data.fetch`), validation carved from the end of the training set.

Features are float32, labels int64. Preprocessing is separate
(:mod:`tinygrad_lite.data.preprocess`): fit it on ``x_train`` only.
"""
from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from ..checks import check_int
from .fetch import find_dataset
from .idx import read_idx_pair

DIGITS_RESOURCE = "datasets/digits.csv.gz"
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DIGIT_CLASSES = tuple(str(d) for d in range(10))
DATASETS = ("digits", "fashion-mnist", "mnist")


@dataclass(frozen=True)
class Split:
    """A data set in three parts: ``x_*`` float32 of shape (N, ...), ``y_*`` int64 of shape (N,)
    holding class indices into ``classes``; ``image_shape`` is one example seen as an image."""

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_val: np.ndarray = field(repr=False)
    y_val: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    classes: tuple = ()
    name: str = ""
    image_shape: tuple = ()

    @property
    def num_classes(self) -> int:
        """The number of classes, ``len(classes)``."""
        return len(self.classes)

    @property
    def num_features(self) -> int:
        """Values per example (the input size of a fully-connected network)."""
        return int(np.prod(self.x_train.shape[1:]))

    def __repr__(self) -> str:
        return (f"Split({self.name!r}, train={self.x_train.shape}, val={self.x_val.shape}, "
                f"test={self.x_test.shape}, classes={self.num_classes})")


def stratified_order(y: np.ndarray, seed: int) -> np.ndarray:
    """A seeded permutation of ``range(len(y))`` in which every prefix holds each class in
    proportion to its frequency (to within about one example).

    Each example gets the key (r + 1/2) / n_c, r its rank among the n_c examples of its
    class in a seeded shuffle; sorting by that key interleaves the classes evenly.
    """
    y = np.asarray(y)
    perm = np.random.default_rng(seed).permutation(len(y))
    key = np.empty(len(y), dtype=np.float64)
    for c in np.unique(y):
        members = perm[y[perm] == c]
        key[members] = (np.arange(len(members)) + 0.5) / len(members)
    return perm[np.argsort(key[perm], kind="stable")]


def _read_digits_csv() -> np.ndarray:
    raw = resources.files("tinygrad_lite").joinpath(DIGITS_RESOURCE).read_bytes()
    table = np.loadtxt(io.StringIO(gzip.decompress(raw).decode("ascii")), delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 65:
        raise ValueError(f"{DIGITS_RESOURCE}: expected rows of 64 pixels and a label, got {table.shape}")
    return table


def load_digits(split_seed: int = 0, val_size: int = 270, test_size: int = 270) -> Split:
    """The embedded UCI digits: 1797 images of 8x8, features (N, 64) float32 in 0..16 as given.

    The split is stratified and fixed by ``split_seed``: with :func:`stratified_order`
    the first ``test_size`` examples are the test set, the next ``val_size`` the
    validation set and the rest (1257 by default) the training set, each part holding
    every class in proportion.
    """
    table = _read_digits_csv()
    x, y = table[:, :64].astype(np.float32), table[:, 64]
    if not (0 < test_size and 0 < val_size and val_size + test_size < len(y)):
        raise ValueError(f"load_digits: need 0 < val_size, 0 < test_size and val_size + test_size "
                         f"< {len(y)}, got val_size={val_size}, test_size={test_size}")
    order = stratified_order(y, split_seed)
    test, val, train = np.split(order, [test_size, test_size + val_size])
    return Split(x[train], y[train], x[val], y[val], x[test], y[test],
                 classes=DIGIT_CLASSES, name="digits", image_shape=(8, 8))


def _images_to_features(images: np.ndarray, scale: bool, flatten: bool) -> np.ndarray:
    x = images.astype(np.float32)
    if scale:
        x /= np.float32(255.0)
    return x.reshape(len(x), -1) if flatten else x


def _load_idx_split(name: str, classes: tuple, data_dir, val_size: int, scale: bool, flatten: bool,
                    **find_kwargs) -> Split:
    files = find_dataset(name, data_dir, **find_kwargs)
    train_x, train_y = read_idx_pair(files["train-images-idx3-ubyte"], files["train-labels-idx1-ubyte"])
    test_x, test_y = read_idx_pair(files["t10k-images-idx3-ubyte"], files["t10k-labels-idx1-ubyte"])
    if train_x.shape[1:] != test_x.shape[1:]:
        raise ValueError(f"{name}: training images {train_x.shape[1:]} and test images "
                         f"{test_x.shape[1:]} differ in size")
    check_int(name, "val_size", val_size, 1, len(train_x) - 1)
    cut = len(train_x) - val_size
    x_all, x_test = (_images_to_features(a, scale, flatten) for a in (train_x, test_x))
    return Split(x_all[:cut], train_y[:cut], x_all[cut:], train_y[cut:], x_test, test_y,
                 classes=classes, name=name, image_shape=tuple(train_x.shape[1:]))


def load_fashion_mnist(data_dir: str | os.PathLike | None = None, val_size: int = 10000,
                       scale: bool = True, flatten: bool = True, **find_kwargs) -> Split:
    """Fashion-MNIST: 60,000 training and 10,000 test images of 28x28, 10 classes.

    The last ``val_size`` training images form the validation set (50,000/10,000/10,000
    by default). Features are float32, pixel / 255 in [0, 1] when ``scale`` (else
    0..255), of shape (N, 784) when ``flatten`` (else (N, 28, 28)). ``find_kwargs``
    (``download``, ``mirrors``, ``opener``, ``timeout``) go to
    :func:`~tinygrad_lite.data.fetch.find_dataset`, which documents where files are looked for.
    """
    return _load_idx_split("fashion-mnist", FASHION_CLASSES, data_dir, val_size, scale, flatten,
                           **find_kwargs)


def load_mnist(data_dir: str | os.PathLike | None = None, val_size: int = 10000,
               scale: bool = True, flatten: bool = True, **find_kwargs) -> Split:
    """MNIST handwritten digits, same layout and options as :func:`load_fashion_mnist`."""
    return _load_idx_split("mnist", DIGIT_CLASSES, data_dir, val_size, scale, flatten, **find_kwargs)


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, **kwargs) -> Split:
    """Load a data set by name: "digits" (embedded), "fashion-mnist" or "mnist"."""
    if name == "digits":
        if data_dir is not None:
            raise ValueError("load_dataset: 'digits' is embedded in the package and takes no data_dir")
        return load_digits(**kwargs)
    loaders = {"fashion-mnist": load_fashion_mnist, "mnist": load_mnist}
    if name not in loaders:
        raise ValueError(f"load_dataset: unknown data set {name!r}; expected one of {DATASETS}")
    return loaders[name](data_dir, **kwargs)
