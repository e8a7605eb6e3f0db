"""Data for training: data sets, IDX files, mini-batch loaders and preprocessing.

    from tinygrad_lite.data import load_digits, DataLoader, Standardize
    split = load_digits()                       # embedded UCI digits, fixed split
    prep = Standardize().fit(split.x_train)     # statistics of the training data only
    x_train, x_val = prep.transform(split.x_train), prep.transform(split.x_val)
    for xb, yb in DataLoader(x_train, split.y_train, batch_size=64, shuffle=True, seed=0):
        ...

Text (``text``): the embedded names (``load_names``), any text file (``load_text``), a character
vocabulary (``CharVocab``) and the examples of character-level language models
(``context_windows``, ``split_text``, ``sample_blocks``).
"""
from .datasets import (
    DATASETS,
    Split,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    stratified_order,
)
from .fetch import DatasetNotFoundError, cache_dir, download_file, find_dataset, search_dirs, sha256_of
from .idx import parse_idx, read_idx, read_idx_pair
from .loader import DataLoader, sample_batch
from .preprocess import Compose, PCAWhiten, PerChannelMean, Standardize, Transform, ZeroCenter
from .sharded import ShardedLoader
from .text import CharVocab, WordSplit, context_windows, load_names, load_text, sample_blocks, split_text

__all__ = [
    "DATASETS", "CharVocab", "Compose", "DataLoader", "DatasetNotFoundError", "PCAWhiten",
    "PerChannelMean", "ShardedLoader", "Split", "Standardize", "Transform", "WordSplit", "ZeroCenter", "cache_dir", "context_windows",
    "download_file", "find_dataset", "load_dataset", "load_digits", "load_fashion_mnist", "load_mnist", "load_names", "load_text",
    "parse_idx", "read_idx", "read_idx_pair", "sample_batch", "sample_blocks", "search_dirs", "sha256_of", "split_text",
    "stratified_order",
]
