"""Where IDX files are looked for, downloading with checksums, and the offline error.

No network: mirrors are file:// URLs into a temporary directory, or a fake opener.
"""
import dataclasses
import gzip
import hashlib
import io
import struct
import urllib.error
import urllib.request

import numpy as np
import pytest

from tinygrad_lite.data import DatasetNotFoundError, download_file, fetch, find_dataset, load_fashion_mnist

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")
README_SHA256 = {  # copied from ../shared/data/README.md
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}


def idx(array):
    array = np.asarray(array, dtype=np.uint8)
    return struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + \
        array.tobytes()


def make_files(directory, marker, compress=True, skip=()):
    """A tiny valid data set whose labels are all ``marker`` (to tell directories apart)."""
    directory.mkdir(parents=True, exist_ok=True)
    content = {"train-images-idx3-ubyte": idx(np.full((12, 28, 28), 200)),
               "train-labels-idx1-ubyte": idx(np.full(12, marker)),
               "t10k-images-idx3-ubyte": idx(np.full((3, 28, 28), 100)),
               "t10k-labels-idx1-ubyte": idx(np.full(3, marker))}
    for name, data in content.items():
        if name not in skip:
            path = directory / (name + ".gz" if compress else name)
            path.write_bytes(gzip.compress(data) if compress else data)
    return directory


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Isolated search places and a file:// mirror holding valid files with known checksums."""
    mirror = make_files(tmp_path / "mirror", marker=5)
    sha = {f"{n}.gz": hashlib.sha256((mirror / f"{n}.gz").read_bytes()).hexdigest() for n in NAMES}
    debian = tmp_path / "debian" / "fashion-mnist"
    remote = dataclasses.replace(fetch.REGISTRY["fashion-mnist"], mirrors=(mirror.as_uri() + "/",),
                                 sha256=sha, system_dirs=(str(debian),))
    monkeypatch.setitem(fetch.REGISTRY, "fashion-mnist", remote)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(fetch.ENV_VAR, raising=False)
    return {"tmp": tmp_path, "cache": tmp_path / "cache" / "tinygrad_lite" / "fashion-mnist",
            "debian": debian, "monkeypatch": monkeypatch}


def offline(url, timeout=None):
    raise urllib.error.URLError("network is unreachable")


def marker_of(data_dir=None, **kw):
    return int(load_fashion_mnist(data_dir, val_size=2, download=False, **kw).y_test[0])


def test_registry_checksums_match_readme():
    assert fetch.REGISTRY["fashion-mnist"].sha256 == README_SHA256


def test_search_order(env):
    explicit = make_files(env["tmp"] / "explicit", marker=1)
    env["monkeypatch"].setenv(fetch.ENV_VAR, str(env["tmp"] / "envroot"))
    make_files(env["tmp"] / "envroot" / "fashion-mnist", marker=2)
    make_files(env["cache"], marker=3, compress=False)  # raw files are found too
    make_files(env["debian"], marker=4)
    assert marker_of(explicit) == 1
    assert marker_of() == 2
    env["monkeypatch"].delenv(fetch.ENV_VAR)
    assert marker_of() == 3
    for f in env["cache"].iterdir():
        f.unlink()
    assert marker_of() == 4


def test_incomplete_directory_is_skipped(env):
    partial = make_files(env["tmp"] / "partial", marker=1, skip=("t10k-labels-idx1-ubyte",))
    make_files(env["debian"], marker=4)
    assert marker_of(partial) == 4


def test_offline_error_lists_every_place(env):
    env["monkeypatch"].setenv(fetch.ENV_VAR, str(env["tmp"] / "envroot"))
    partial = make_files(env["tmp"] / "partial", marker=1, skip=("train-images-idx3-ubyte",))
    with pytest.raises(DatasetNotFoundError) as err:
        find_dataset("fashion-mnist", partial, opener=offline)
    msg = str(err.value)
    for place in (partial, env["tmp"] / "envroot" / "fashion-mnist", env["cache"], env["debian"]):
        assert str(place) in msg
    assert "missing train-images-idx3-ubyte" in msg
    assert "network is unreachable" in msg
    assert "apt install dataset-fashion-mnist" in msg and "TINYGRAD_LITE_DATA" in msg
    assert not list(env["cache"].glob("*"))


def test_download_off_never_opens_a_url(env):
    def forbidden(url, timeout=None):
        raise AssertionError("download=False must not open URLs")

    with pytest.raises(DatasetNotFoundError, match="download=False"):
        find_dataset("fashion-mnist", download=False, opener=forbidden)


def test_download_into_cache(env):
    split = load_fashion_mnist(val_size=2)
    assert split.x_train.shape == (10, 784) and int(split.y_test[0]) == 5
    assert sorted(p.name for p in env["cache"].iterdir()) == sorted(f"{n}.gz" for n in NAMES)
    assert marker_of(opener=offline) == 5  # found in the cache afterwards


def test_partial_cache_downloads_only_what_is_missing(env):
    mirror = make_files(env["tmp"] / "mirror", marker=5)
    env["cache"].mkdir(parents=True)
    keep = env["cache"] / "train-images-idx3-ubyte.gz"
    keep.write_bytes((mirror / keep.name).read_bytes())
    fetched = []

    def opener(url, timeout=None):
        fetched.append(url.rsplit("/", 1)[1])
        return urllib.request.urlopen(url, timeout=timeout)

    find_dataset("fashion-mnist", opener=opener)
    assert sorted(fetched) == sorted(f"{n}.gz" for n in NAMES[1:])


def test_falls_back_to_next_mirror(env):
    good = fetch.REGISTRY["fashion-mnist"].mirrors[0]
    missing = (env["tmp"] / "nowhere").as_uri() + "/"
    files = find_dataset("fashion-mnist", mirrors=[missing, good])
    assert set(files) == set(NAMES)


def test_checksum_mismatch_leaves_nothing(env):
    remote = fetch.REGISTRY["fashion-mnist"]
    bad = dict(remote.sha256, **{"train-images-idx3-ubyte.gz": "0" * 64})
    env["monkeypatch"].setitem(fetch.REGISTRY, "fashion-mnist", dataclasses.replace(remote, sha256=bad))
    with pytest.raises(DatasetNotFoundError, match="SHA-256 mismatch"):
        find_dataset("fashion-mnist")
    assert not list(env["cache"].glob("*")) and not list(env["cache"].glob(".*"))


def test_download_file_with_fake_opener(tmp_path):
    payload = b"the real bytes"
    good = hashlib.sha256(payload).hexdigest()
    served = []

    def opener(url, timeout=None):
        served.append(url)
        return io.BytesIO(b"tampered" if url == "a" else payload)

    dest = tmp_path / "c" / "f.gz"
    assert download_file(["a", "b"], dest, good, opener=opener) == dest
    assert served == ["a", "b"] and dest.read_bytes() == payload
    assert [p.name for p in dest.parent.iterdir()] == ["f.gz"]
    with pytest.raises(OSError, match="mismatch"):
        download_file(["a"], tmp_path / "d" / "f.gz", good, opener=opener)
    assert not list((tmp_path / "d").iterdir())


def test_interrupted_download_leaves_no_temp_file(tmp_path):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            raise ConnectionResetError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        download_file(["u"], tmp_path / "f.gz", "0" * 64, opener=lambda url, timeout=None: Broken())
    assert not list(tmp_path.iterdir())


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown data set 'cifar'"):
        find_dataset("cifar")
