"""Text data: the embedded names, text files, the character vocabulary, makemore's and nanoGPT's
examples. Expected values come from the files themselves and from makemore's and nanoGPT's data
code transcribed in plain Python here."""
import gzip
import hashlib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.data import CharVocab, context_windows, load_names, load_text, sample_blocks, split_text
from tinygrad_lite.data import text as text_module

NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"  # ../shared/data/README.md
SHAKESPEARE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tiny-shakespeare" / "input.txt"


def embedded_names() -> list[str]:
    raw = gzip.decompress(resources.files("tinygrad_lite").joinpath("datasets/names.txt.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == NAMES_SHA256
    return raw.decode().splitlines()


def test_names_split_is_a_seeded_partition_of_the_file():
    words = embedded_names()
    assert len(words) == 32033 and all(w.isalpha() and w.islower() for w in words)
    s = load_names()
    assert (len(s.train), len(s.val), len(s.test)) == (25626, 3203, 3204)  # int(0.8 n), int(0.9 n)
    assert sorted(s.train + s.val + s.test) == sorted(words)
    assert load_names().train == s.train and load_names(split_seed=1).train != s.train
    assert s.name == "names" and "train=25626" in repr(s)


def test_names_license_ships_with_the_package():
    notice = resources.files("tinygrad_lite").joinpath("datasets/LICENSE-names").read_text()
    assert "MIT License" in notice and "Andrej Karpathy" in notice


def test_a_damaged_names_file_is_refused(monkeypatch):
    monkeypatch.setattr(text_module, "NAMES_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="damaged"):
        load_names()


@pytest.mark.parametrize("kwargs", [{"val_fraction": 0}, {"test_fraction": 1.2}, {"val_fraction": .5, "test_fraction": .5}])
def test_names_fractions_are_checked(kwargs):
    with pytest.raises(ValueError, match="fraction"):
        load_names(**kwargs)


def test_vocab_of_words_is_makemores():
    v = CharVocab.from_words(["emma", "olivia", "ava"])
    assert v.itos == list(".aeilmov") and v.stoi["."] == 0 == v.boundary_id and len(v) == 8
    names = load_names()
    full = CharVocab.from_words(names.train)
    assert "".join(full.itos) == ".abcdefghijklmnopqrstuvwxyz"


def test_encode_decode_round_trip_and_errors():
    text = "First Citizen:\nBefore we proceed, hear me speak.\n"
    v = CharVocab.from_text(text)
    assert v.itos == sorted(set(text)) and v.boundary is None
    ids = v.encode(text)
    assert ids.dtype == np.int64 and ids.tolist() == [v.itos.index(c) for c in text]
    assert v.decode(ids) == text and v.decode(tl.tensor(ids)) == text and v.decode([]) == ""
    with pytest.raises(ValueError, match=r"'x' at position 3"):
        v.encode("Firx")
    with pytest.raises(ValueError, match="'\u2603' at position 0"):
        v.encode("\u2603")  # a code point beyond the table
    with pytest.raises(ValueError, match=r"ids must be in \[0, "):
        v.decode([0, len(v)])
    with pytest.raises(ValueError, match="1-d"):
        v.decode(np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match="no boundary"):
        v.boundary_id  # noqa: B018


@pytest.mark.parametrize("chars, boundary, match", [
    (["a", "a"], None, "twice"), (["ab"], None, "single"), ([], None, "no characters"), (["a"], ".", "boundary"),
])
def test_vocab_checks_its_characters(chars, boundary, match):
    with pytest.raises(ValueError, match=match):
        CharVocab(chars, boundary)


def test_from_words_refuses_a_boundary_inside_a_word():
    with pytest.raises(ValueError, match="occurs in the words"):
        CharVocab.from_words(["a.b"])


def makemore_build_dataset(words, stoi, block_size):
    """makemore part 2's build_dataset, as written there."""
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return np.array(X), np.array(Y)


@pytest.mark.parametrize("block_size", [1, 3, 8])
def test_context_windows_are_makemores_examples(block_size):
    words = load_names().train[:500]
    v = CharVocab.from_words(words)
    x, y = context_windows(words, v, block_size)
    xe, ye = makemore_build_dataset(words, v.stoi, block_size)
    assert x.dtype == y.dtype == np.int64 and x.shape == (sum(len(w) + 1 for w in words), block_size)
    np.testing.assert_array_equal(x, xe)
    np.testing.assert_array_equal(y, ye)
    assert context_windows([], v, block_size)[0].shape == (0, block_size)


def test_split_text_is_a_prefix_and_a_suffix():
    ids = np.arange(1000)
    train, val = split_text(ids)
    assert len(train) == 900 and np.array_equal(np.concatenate([train, val]), ids)
    assert len(split_text(ids, 0.25)[1]) == 250
    with pytest.raises(ValueError, match="val_fraction"):
        split_text(ids, 1.0)


def test_sample_blocks_are_windows_and_their_next_tokens(device):
    ids = (np.arange(500) * 7919) % 101  # distinct enough that a window locates its start
    x, y = sample_blocks(ids, block_size=16, batch_size=5, rng=0, device=device)
    assert x.shape == y.shape == (5, 16) and x.dtype == tl.int64 and x.device == device
    xs, ys = x.numpy(), y.numpy()
    # nanoGPT's get_batch: x = data[i:i+T], y = data[i+1:i+1+T] with i uniform in [0, len - T)
    starts = np.random.default_rng(0).integers(0, len(ids) - 16, 5)
    np.testing.assert_array_equal(xs, np.stack([ids[i:i + 16] for i in starts]))
    np.testing.assert_array_equal(ys, np.stack([ids[i + 1:i + 17] for i in starts]))
    with pytest.raises(ValueError, match="longer than block_size"):
        sample_blocks(ids[:16], block_size=16, batch_size=1)


def test_load_text_reads_a_file_and_names_bad_ones(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("héllo\n", encoding="utf-8")
    assert load_text(f) == "héllo\n"
    with pytest.raises(FileNotFoundError, match="no file"):
        load_text(tmp_path / "missing.txt")
    with pytest.raises(IsADirectoryError, match="input.txt"):
        load_text(tmp_path)
    (tmp_path / "bad.txt").write_bytes(b"ab\xff")
    with pytest.raises(ValueError, match=r"bad.txt is not utf-8 text \(byte 2"):
        load_text(tmp_path / "bad.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_text(tmp_path / "empty.txt")


@pytest.mark.skipif(not SHAKESPEARE.exists(), reason=f"needs {SHAKESPEARE}")
def test_tiny_shakespeare_has_nanogpts_vocabulary():
    text = load_text(SHAKESPEARE)
    v = CharVocab.from_text(text)
    assert len(text) == 1115394 and len(v) == 65  # nanoGPT's prepare.py prints both
    train, val = split_text(v.encode(text))
    assert (len(train), len(val)) == (1003854, 111540)  # ditto
