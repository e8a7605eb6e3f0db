"""Host memory: keep the memory NumPy frees inside the process, for the next step's arrays.

A training step makes and frees the same large temporaries at every step (activations and
their gradients). With glibc's default malloc, arrays above a threshold are mapped from the
kernel and unmapped when freed, and free memory at the top of the heap is handed back: every
step then faults every page of its temporaries in again. On nanoGPT's small Shakespeare model
that was 18,000 page faults and 32 ms of system time in a step of 124-157 ms (91-93 ms with
the memory kept). ``keep_freed_memory`` tells malloc to serve arrays of up to 32 MB from its
heap and to keep up to 1 GB of free heap, so that freed memory is reused; the process's
resident size then stays near its peak, as with the caching allocators of PyTorch and CuPy
on a GPU.

It is applied when ``tinygrad_lite`` is imported, on Linux with glibc (elsewhere there is
nothing to set and nothing happens). ``TINYGRAD_LITE_MALLOC=system`` in the environment keeps
malloc's defaults.
"""
from __future__ import annotations

import ctypes
import os
import sys

ENV = "TINYGRAD_LITE_MALLOC"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 << 20  # the largest glibc allows on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)
TRIM_THRESHOLD = 1 << 30

_kept = False


def keep_freed_memory() -> bool:
    """Set glibc's malloc to keep freed memory for reuse (see the module's docstring). Returns
    True when it is set (now or before), False where the C library is not glibc."""
    global _kept
    if _kept:
        return True
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None)  # the C library this process already runs on
    if not hasattr(libc, "gnu_get_libc_version"):
        return False  # musl and others: their malloc takes no such settings
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    _kept = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _kept


def apply_setting() -> bool:
    """What ``import tinygrad_lite`` does: ``keep_freed_memory()`` unless ``TINYGRAD_LITE_MALLOC``
    is "system" ("keep" or unset: keep). Returns whether freed memory is kept."""
    value = os.environ.get(ENV, "keep")
    if value not in ("keep", "system"):
        raise ValueError(f"{ENV}={value!r}: expected 'keep' (reuse freed memory, the default) or 'system' "
                         "(malloc's defaults)")
    return keep_freed_memory() if value == "keep" else False
