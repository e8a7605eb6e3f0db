"""IDX reader on files built here byte by byte (struct), valid and damaged."""
import gzip
import struct

import numpy as np
import pytest

from tinygrad_lite.data import parse_idx, read_idx, read_idx_pair

# type code -> big-endian dtype, as the IDX format description lists them
CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(array, code):
    array = np.asarray(array)
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(CODES[code]).tobytes()


def write(path, data, compress):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, size=(7, 5, 4), dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("code", sorted(CODES))
def test_roundtrip_every_type(tmp_path, compress, code):
    rng = np.random.default_rng(code)
    want = (rng.normal(size=(3, 4, 2)) * 50).astype(CODES[code])
    got = read_idx(write(tmp_path / "f.idx", idx_bytes(want, code), compress))
    assert got.shape == (3, 4, 2)
    assert got.dtype == np.dtype(CODES[code]).newbyteorder("=")
    np.testing.assert_array_equal(got, want)
    got[0, 0, 0] = 1  # a writable copy, not a view of the file buffer


def test_gzip_detected_by_content_not_name(tmp_path, images):
    got = read_idx(write(tmp_path / "images-without-suffix", idx_bytes(images, 0x08), True))
    np.testing.assert_array_equal(got, images)


@pytest.mark.parametrize("compress", [False, True])
def test_pair_ok(tmp_path, images, compress):
    labels = np.arange(7) % 3
    x, y = read_idx_pair(write(tmp_path / "i", idx_bytes(images, 0x08), compress),
                         write(tmp_path / "l", idx_bytes(labels, 0x08), compress))
    np.testing.assert_array_equal(x, images)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, labels)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("damage, message", [
    (lambda b: b"\x08\x03" + b[2:], "magic"),
    (lambda b: b[:2] + b"\x07" + b[3:], "type code 0x07"),
    (lambda b: b[:2] + b"\x08\x00" + b[4:], "0 dimensions"),
    (lambda b: b[:3], "too short"),
    (lambda b: b[:10], "truncated header"),
    (lambda b: b[:-5], "payload truncated"),
    (lambda b: b + b"\x00\x00", "trailing bytes"),
])
def test_damaged_file_names_file_and_problem(tmp_path, images, compress, damage, message):
    path = write(tmp_path / "bad-images.idx", damage(idx_bytes(images, 0x08)), compress)
    with pytest.raises(ValueError, match=message) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_truncated_gzip_stream(tmp_path, images):
    data = gzip.compress(idx_bytes(images, 0x08))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="gzip") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_label_count_mismatch(tmp_path, images):
    img = write(tmp_path / "imgs", idx_bytes(images, 0x08), False)
    lab = write(tmp_path / "labs", idx_bytes(np.zeros(6), 0x08), False)
    with pytest.raises(ValueError, match="6 labels for 7 images") as err:
        read_idx_pair(img, lab)
    assert str(lab) in str(err.value)


def test_pair_checks_ranks_and_types(tmp_path, images):
    lab = write(tmp_path / "labs", idx_bytes(np.zeros(7), 0x08), False)
    with pytest.raises(ValueError, match="3 dimension"):
        read_idx_pair(lab, lab)  # a label file where images are expected
    wide = write(tmp_path / "wide", idx_bytes(images, 0x0C), False)
    with pytest.raises(ValueError, match="unsigned bytes"):
        read_idx_pair(wide, lab)


def test_parse_idx_names_source():
    with pytest.raises(ValueError, match="^mem: "):
        parse_idx(b"\x01\x00\x08\x01", "mem")


@pytest.mark.parametrize("dims, itemsize_code", [
    ((65536,) * 4, 0x08),        # 2**64 elements: wraps to 0 in 64-bit arithmetic, matching an empty payload
    ((4294967295,) * 3, 0x0E),   # far beyond any file; the product overflows int64
    ((2**31, 2**31, 4), 0x0D),   # 2**64 bytes once multiplied by the 4-byte element size
])
def test_oversized_header_names_file_and_sizes(tmp_path, dims, itemsize_code):
    """Header sizes are compared with the file size in exact integer arithmetic."""
    header = struct.pack(">BBBB", 0, 0, itemsize_code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    path = write(tmp_path / "huge.idx", header, False)  # a header and no payload
    elements = 1
    for d in dims:
        elements *= d
    nbytes = elements * np.dtype(CODES[itemsize_code]).itemsize
    with pytest.raises(ValueError, match="payload truncated") as err:
        read_idx(path)
    msg = str(err.value)
    assert str(path) in msg and str(dims) in msg and f"needs {nbytes} bytes" in msg and "found 0" in msg


@pytest.mark.parametrize("data", [b"", b"\x00", b"<html>404 not found</html>", bytes(range(256))])
def test_garbage_file_names_file(tmp_path, data):
    path = write(tmp_path / "junk.idx", data, False)
    with pytest.raises(ValueError) as err:
        read_idx(path)
    assert str(err.value).startswith(f"{path}: ")
