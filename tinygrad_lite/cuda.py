"""``tl.cuda``: the calls of ``torch.cuda`` that training scripts make, for the library's "cuda"
device (CuPy on one NVIDIA GPU).

    device = "cuda" if tl.cuda.is_available() else "cpu"
    tl.cuda.manual_seed_all(0)
    tl.cuda.synchronize()               # before reading a clock around GPU work

Without a usable GPU, as in PyTorch on such a machine, ``is_available()`` is False,
``device_count()`` 0, and ``synchronize``, ``manual_seed`` and ``manual_seed_all`` do nothing:
there is no GPU stream to wait for and no GPU generator to seed (the "cpu" and "strict" streams are
never touched by them; ``tl.manual_seed`` seeds every device).
"""
from __future__ import annotations

from . import backend


def is_available() -> bool:
    """True when the "cuda" device can be used: CuPy is installed and finds a GPU and its driver."""
    return backend.is_available("cuda")


def device_count() -> int:
    """The number of GPUs the library can use: 1 with a usable GPU (it runs on CuPy's current
    device; there is no "cuda:1"), else 0."""
    return int(is_available())


def synchronize() -> None:
    """Wait until the work queued on the GPU is done (kernels run asynchronously); nothing to do
    without a GPU."""
    backend.synchronize("cuda")


def manual_seed(seed: int) -> None:
    """Seed the GPU's generator only (the "cpu" and "strict" streams go on): the same seed gives the
    same draws on "cuda" again. Without a GPU there is nothing to seed and nothing happens."""
    backend.seed_device("cuda", seed)


def manual_seed_all(seed: int) -> None:
    """``manual_seed``: the library uses one GPU, so seeding all of them is seeding that one."""
    manual_seed(seed)
