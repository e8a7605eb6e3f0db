"""Text for character-level language models: the embedded names, any text file, a character
vocabulary, and the examples the models learn from.

    from tinygrad_lite.data import CharVocab, context_windows, load_names
    names = load_names()                                # 32,033 names, a seeded 80/10/10 split
    vocab = CharVocab.from_words(names.train)           # '.' = 0 (the boundary), 'a'..'z' = 1..26
    x, y = context_windows(names.train, vocab, 3)       # 3 characters of context -> the next one

    from tinygrad_lite.data import load_text, sample_blocks, split_text
    text = load_text("../shared/data/tiny-shakespeare/input.txt")   # any text file
    vocab = CharVocab.from_text(text)                   # its sorted characters (65 for Shakespeare)
    train, val = split_text(vocab.encode(text))         # first 90% / last 10%
    xb, yb = sample_blocks(train, block_size=64, batch_size=12, rng=0)  # yb is xb shifted by one

- ``load_names``: the 32,033 most common US baby names of 2018 (US Social Security
  Administration data, as shipped by the makemore project; MIT License, copyright 2022
  Andrej Karpathy, the notice is ``tinygrad_lite/datasets/LICENSE-names``), embedded in the
  package. The package does not ship other text: ``load_text`` reads any file from disk.

Token ids are int64 NumPy arrays on the host; ``sample_blocks`` delivers tensors on a device.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .. import backend
from ..checks import check_int
from ..factory import as_tensor, to_numpy
from ..tensor import Tensor

NAMES_RESOURCE = "datasets/names.txt.gz"
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"  # of names.txt


@dataclass(frozen=True)
class WordSplit:
    """A list of words in three parts (training, validation, test), each a list of str."""

    train: list = field(repr=False)
    val: list = field(repr=False)
    test: list = field(repr=False)
    name: str = ""

    def __repr__(self) -> str:
        return f"WordSplit({self.name!r}, train={len(self.train)}, val={len(self.val)}, test={len(self.test)})"


def load_names(split_seed: int = 42, val_fraction: float = 0.1, test_fraction: float = 0.1) -> WordSplit:
    """The embedded names (32,033 lowercase first names), shuffled by ``split_seed`` and cut into
    training, validation and test parts: the first ``1 - val_fraction - test_fraction`` of the
    shuffled list (80% by default: 25,626 names), then validation, then test (as makemore cuts
    them; makemore shuffles with Python's ``random``, this with NumPy's, so the parts differ).

    The embedded file is checked against its SHA-256: a damaged install raises instead of
    training on damaged data."""
    raw = gzip.decompress(resources.files("tinygrad_lite").joinpath(NAMES_RESOURCE).read_bytes())
    if hashlib.sha256(raw).hexdigest() != NAMES_SHA256:
        raise ValueError(f"tinygrad_lite/{NAMES_RESOURCE} does not match its SHA-256 {NAMES_SHA256}: "
                         "the installed package is damaged; reinstall it")
    words = raw.decode("ascii").split()
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"load_names: {name} must be in (0, 1), got {value!r}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"load_names: val_fraction + test_fraction must be < 1, got "
                         f"{val_fraction} + {test_fraction}")
    order = np.random.default_rng(split_seed).permutation(len(words))
    shuffled = [words[i] for i in order]
    n1 = int((1 - val_fraction - test_fraction) * len(words))
    n2 = int((1 - test_fraction) * len(words))
    return WordSplit(shuffled[:n1], shuffled[n1:n2], shuffled[n2:], name="names")


def load_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The whole text of the file at ``path`` (tiny Shakespeare, or any text file). Errors name
    the file: a missing file, a directory, undecodable bytes (with their offset), an empty file."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"load_text: {path} is a directory; pass the text file in it "
                                f"(e.g. {path / 'input.txt'})")
    if not path.is_file():
        raise FileNotFoundError(f"load_text: no file {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        raise ValueError(f"load_text: {path} is not {encoding} text (byte {e.start}: {raw[e.start:e.start + 1]!r}); "
                         "pass its encoding=") from None
    if not text:
        raise ValueError(f"load_text: {path} is empty")
    return text


class CharVocab:
    """A character vocabulary: character <-> integer id (``stoi``, ``itos``), ``encode`` and
    ``decode``. ``boundary`` is a character that marks the start and end of a word (makemore's
    '.'), or None for running text."""

    def __init__(self, chars: Iterable[str], boundary: str | None = None):
        chars = list(chars)
        bad = [c for c in chars if not (isinstance(c, str) and len(c) == 1)]
        if bad:
            raise ValueError(f"CharVocab: chars must be single characters, got {bad[0]!r}")
        if len(set(chars)) != len(chars):
            dup = next(c for c in chars if chars.count(c) > 1)
            raise ValueError(f"CharVocab: the character {dup!r} appears twice")
        if not chars:
            raise ValueError("CharVocab: no characters")
        if boundary is not None and boundary not in chars:
            raise ValueError(f"CharVocab: the boundary {boundary!r} is not one of the characters")
        self.itos = chars
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.boundary = boundary
        codes = np.array([ord(c) for c in chars])
        self._table = np.full(codes.max() + 1, -1, dtype=np.int64)  # code point -> id, -1: unknown
        self._table[codes] = np.arange(len(chars))

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The sorted distinct characters of ``text`` (nanoGPT's character vocabulary)."""
        return cls(sorted(set(text)))

    @classmethod
    def from_words(cls, words: Sequence[str], boundary: str = ".") -> CharVocab:
        """``boundary`` as id 0, then the sorted distinct characters of ``words`` (makemore's
        vocabulary: '.', 'a'..'z' for the names). The boundary must not occur in a word."""
        chars = sorted(set("".join(words)))
        if boundary in chars:
            raise ValueError(f"CharVocab.from_words: the boundary {boundary!r} occurs in the words; "
                             "pick a character they do not use")
        return cls([boundary, *chars], boundary=boundary)

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def boundary_id(self) -> int:
        """The id of the boundary character (an error when the vocabulary has none)."""
        if self.boundary is None:
            raise ValueError("CharVocab: this vocabulary has no boundary character")
        return self.stoi[self.boundary]

    def encode(self, text: str) -> np.ndarray:
        """The ids of the characters of ``text``, an int64 array; a character outside the
        vocabulary raises, naming it and its position."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        inside = codes < len(self._table)
        ids = np.where(inside, self._table[np.where(inside, codes, 0)], -1)
        if ids.size and ids.min() < 0:
            at = int(np.argmax(ids < 0))
            raise ValueError(f"CharVocab.encode: the character {text[at]!r} at position {at} is not in the "
                             f"vocabulary of {len(self)} characters")
        return ids

    def decode(self, ids) -> str:
        """The text of a 1-D sequence of ids (a list, an array or a tensor)."""
        ids = to_numpy(ids)
        if ids.ndim != 1:
            raise ValueError(f"CharVocab.decode: expected a 1-d sequence of ids, got shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"CharVocab.decode: ids must be in [0, {len(self)}), got "
                             f"{int(ids.min())}..{int(ids.max())}")
        return "".join(self.itos[i] for i in ids.tolist())

    def __repr__(self) -> str:
        shown = "".join(self.itos) if len(self) <= 40 else "".join(self.itos[:40]) + "..."
        return f"CharVocab({len(self)} characters {shown!r}, boundary={self.boundary!r})"


def context_windows(words: Sequence[str], vocab: CharVocab, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """makemore's data set: for each word and each position, the ``block_size`` previous
    characters (padded with the boundary at the start) as ``x`` and the character there as ``y``,
    the boundary after the last one. A word of n characters gives n + 1 examples; ``x`` is int64
    of shape (examples, block_size), ``y`` int64 of shape (examples,)."""
    block_size = check_int("context_windows", "block_size", block_size)
    b = vocab.boundary_id
    xs, ys = [], []
    for w in words:
        seq = np.concatenate([np.full(block_size, b), vocab.encode(w), [b]])
        xs.append(np.lib.stride_tricks.sliding_window_view(seq[:-1], block_size))
        ys.append(seq[block_size:])
    if not xs:
        return np.zeros((0, block_size), np.int64), np.zeros(0, np.int64)
    return np.concatenate(xs).astype(np.int64), np.concatenate(ys).astype(np.int64)


def split_text(ids, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(train, val): the first ``1 - val_fraction`` of a token sequence and the rest (nanoGPT's
    split of Shakespeare: the validation text is the end of the file, not interleaved)."""
    ids = np.asarray(ids)
    if not 0 < val_fraction < 1:
        raise ValueError(f"split_text: val_fraction must be in (0, 1), got {val_fraction!r}")
    n = int((1 - val_fraction) * len(ids))
    return ids[:n], ids[n:]


def sample_blocks(ids, block_size: int, batch_size: int, rng: np.random.Generator | int | None = None,
                  device: str | None = None) -> tuple[Tensor, Tensor]:
    """A random batch of ``batch_size`` windows of ``block_size`` tokens from the sequence ``ids``
    and the windows one token later (the next token at every position): nanoGPT's ``get_batch``.
    Returns int64 tensors ``(x, y)`` of shape (batch_size, block_size) on ``device``. ``rng`` is a
    ``np.random.Generator`` (advanced by the call), an int seed, or None for fresh entropy."""
    ids = np.asarray(ids)
    block_size = check_int("sample_blocks", "block_size", block_size)
    batch_size = check_int("sample_blocks", "batch_size", batch_size)
    if ids.ndim != 1 or len(ids) <= block_size:
        raise ValueError(f"sample_blocks: need a 1-d sequence longer than block_size {block_size}, "
                         f"got shape {ids.shape}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    start = rng.integers(0, len(ids) - block_size, batch_size)
    windows = np.lib.stride_tricks.sliding_window_view(ids, block_size + 1)[start]
    device = device or backend.get_default_device()
    return (as_tensor(np.ascontiguousarray(windows[:, :-1]), device=device),
            as_tensor(np.ascontiguousarray(windows[:, 1:]), device=device))
