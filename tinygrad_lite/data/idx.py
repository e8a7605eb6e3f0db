"""Reader for the IDX format of MNIST and Fashion-MNIST (gzip-compressed or raw).

An IDX file is a 4-byte magic number ``00 00 TT DD`` (``TT`` the element type code,
``DD`` the number of dimensions), then ``DD`` big-endian uint32 sizes, then the
elements in row-major order, big-endian. Every check failure raises a ValueError
that names the file and what is wrong, so a truncated download is caught here.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

# IDX type code -> element dtype (big-endian, as the format stores it)
IDX_DTYPES = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes, decompressed when it starts with the gzip magic (whatever its name)."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:  # truncated or damaged compressed stream
        raise ValueError(f"{os.fspath(path)}: corrupt or truncated gzip data ({e})") from e


def parse_idx(buf: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file into an array of its native dtype (uint8 for MNIST)."""
    if len(buf) < 4:
        raise ValueError(f"{name}: {len(buf)} bytes is too short for an IDX header (needs 4)")
    if buf[0] != 0 or buf[1] != 0:
        raise ValueError(f"{name}: bad IDX magic number {buf[:4].hex()} (must start with 0000)")
    code, ndim = buf[2], buf[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{name}: unknown IDX element type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"{name}: truncated header: {len(buf)} bytes, the {ndim} sizes need {header}")
    shape = tuple(int(s) for s in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    # Python ints: a crafted header's product must not wrap (np.prod in int64 does) into a match
    expected = math.prod(shape) * dtype.itemsize
    got = len(buf) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise ValueError(f"{name}: payload {what}: shape {shape} of {dtype.name} needs {expected} bytes "
                         f"after the header, found {got}")
    data = np.frombuffer(buf, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip or raw); ``ndim`` checks the number of dimensions
    (1 for label files, 3 for image files)."""
    name = os.fspath(path)
    data = parse_idx(_read_bytes(path), name)
    if ndim is not None and data.ndim != ndim:
        raise ValueError(f"{name}: expected an IDX file of {ndim} dimension(s), found shape {data.shape}")
    return data


def read_idx_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike) -> tuple:
    """Images (N, H, W) uint8 and labels (N,) int64 from an MNIST-style file pair.

    Checks the ranks, the element type (unsigned bytes, as MNIST stores both) and
    that the label count equals the image count.
    """
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    for arr, p in ((images, images_path), (labels, labels_path)):
        if arr.dtype != np.uint8:
            raise ValueError(f"{os.fspath(p)}: expected unsigned bytes (type 0x08), found {arr.dtype}")
    if len(labels) != len(images):
        raise ValueError(f"{os.fspath(labels_path)}: {len(labels)} labels for {len(images)} images "
                         f"in {os.fspath(images_path)}")
    return images, labels.astype(np.int64)

