"""Tensor factories and conversions. Random ones draw from the device's generator, seeded by
``manual_seed``; ``tensor``, ``as_tensor`` and ``to_numpy`` cross between tensors and arrays."""
from __future__ import annotations

from numbers import Integral

import numpy as np  # dtypes and host-side arithmetic only

from . import backend
from .checks import check_int
from .checks import varargs as _shape
from .tensor import Tensor


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data``, as ``torch.tensor``: ``Tensor(data, requires_grad,
    dtype, device)`` with PyTorch's argument order (Python floats become float32, ints int64)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor without copying where it can, as ``torch.as_tensor``.

    A backend array already on ``device`` (default: its own) with ``dtype`` (default: its
    own) is wrapped as is, so the tensor and the array share memory; anything else
    (another device or dtype, lists, scalars, host arrays for "cuda") is converted. A
    Tensor on that device and of that dtype is returned itself. The result is a leaf
    that does not require grad.
    """
    if isinstance(data, Tensor):
        if (device is None or device == data.device) and (dtype is None or data.dtype == dtype):
            return data
        data = data.data
    src = backend.device_of(data)
    device = device or (src if src is not None else backend.get_default_device())
    return Tensor._wrap(backend.to_device(data, device, dtype), device)


def to_numpy(data):
    """``data`` (a Tensor, a backend array on any device, a list or scalar) as a host NumPy
    array: a copy from "cuda", else shared where NumPy allows."""
    return data.numpy() if isinstance(data, Tensor) else backend.to_numpy(data)


def _make(array, device, requires_grad):
    return Tensor._wrap(array, device).requires_grad_(requires_grad)


def _device(device):
    return device or backend.get_default_device()


def full(shape, value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``value`` (float32 unless ``dtype``)."""
    device = _device(device)
    xp = backend.get_xp(device)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _make(xp.full(shape, value, dtype=dtype or backend.DEFAULT_FLOAT), device, requires_grad)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of ``shape`` (``zeros(2, 3)`` or ``zeros((2, 3))``) filled with 0."""
    return full(_shape(shape), 0, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of ``shape`` filled with 1."""
    return full(_shape(shape), 1, dtype, device, requires_grad)


def arange(start, stop=None, step=1, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values as ``numpy.arange`` (int64 for int arguments, float32 for floats)."""
    device = _device(device)
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        is_int = all(isinstance(v, Integral) for v in (start, stop, step))  # NumPy ints too
        dtype = "int64" if is_int else backend.DEFAULT_FLOAT
    xp = backend.get_xp(device)
    return _make(xp.arange(start, stop, step, dtype=dtype), device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The ``n`` x ``m`` (default ``n`` x ``n``) identity matrix: 1 on the diagonal, 0 elsewhere."""
    device = _device(device)
    xp = backend.get_xp(device)
    return _make(xp.eye(n, m, dtype=dtype or backend.DEFAULT_FLOAT), device, requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1) (float32 unless ``dtype``; float16 ones are multiples of 2^-11)."""
    device = _device(device)
    return _make(backend.random(device, _shape(shape), dtype), device, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal samples (float32 unless ``dtype``; float16 ones are float32 draws, cast)."""
    device = _device(device)
    return _make(backend.randn(device, _shape(shape), dtype), device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (float32 unless
    ``dtype``; an integer dtype truncates), as ``torch.linspace``: computed in float64 from both
    ends, start + i step in the first half and end - (steps - 1 - i) step in the second (one
    step: start)."""
    steps = check_int("linspace", "steps", steps, low=0)
    start, end = float(start), float(end)  # numbers or one-element tensors
    i = np.arange(steps, dtype=np.float64)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    values = np.where((i < steps // 2) | (steps == 1), start + i * step, end - (steps - 1 - i) * step)
    device = _device(device)
    array = backend.to_device(values, device, dtype or backend.DEFAULT_FLOAT)
    return _make(array, device, requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of ``shape`` whose values are whatever the memory held (float32 unless ``dtype``), as
    ``torch.empty``: for arrays that are written before they are read."""
    device = _device(device)
    xp = backend.get_xp(device)
    return _make(xp.empty(_shape(shape), dtype=dtype or backend.DEFAULT_FLOAT), device, requires_grad)


def randint(low=0, high=None, size=None, dtype=None, device=None, requires_grad=False):
    """Integers drawn uniformly from [low, high) (int64 unless ``dtype``), as ``torch.randint``:
    ``randint(high, size)`` or ``randint(low, high, size)``, ``size`` a tuple (or an int). From
    the device's generator, seeded by ``manual_seed``."""
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    if size is None:
        raise TypeError("randint: missing size, e.g. randint(10, (3,)) or randint(0, 10, size=(3,))")
    low, high = check_int("randint", "low", low, low=None), check_int("randint", "high", high, low=None)
    if low >= high:
        raise ValueError(f"randint: low must be < high, got low={low}, high={high}")
    device = _device(device)
    values = backend.randint(device, low, high, _shape((size,)))
    return _make(values if dtype is None else values.astype(dtype), device, requires_grad)


def randperm(n, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0 .. n-1 (int64 unless ``dtype``), as ``torch.randperm``, from the
    device's generator, seeded by ``manual_seed``."""
    n = check_int("randperm", "n", n, low=0)
    device = _device(device)
    values = backend.randperm(device, n)
    return _make(values if dtype is None else values.astype(dtype), device, requires_grad)


def multinomial(input, num_samples, replacement=False):  # `input`: PyTorch's name
    """``input.multinomial(num_samples, replacement)``: indices drawn from the weights of a 1-D
    tensor, or of each row of a 2-D one (see ``Tensor.multinomial``)."""
    return input.multinomial(num_samples, replacement)


def _like(factory):
    def like(t, *args, dtype=None, device=None, requires_grad=False):
        return factory(t.shape, *args, dtype=dtype or t.dtype, device=device or t.device,
                       requires_grad=requires_grad)

    like.__name__ = factory.__name__ + "_like"
    like.__doc__ = f"``{factory.__name__}`` with the shape, dtype and device of ``t``."
    return like


zeros_like, ones_like, full_like = _like(zeros), _like(ones), _like(full)
rand_like, randn_like = _like(rand), _like(randn)
