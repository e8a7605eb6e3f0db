"""Array backends: the only module that names numpy or cupy.

A device is a string:
- ``"cpu"``: NumPy.
- ``"cuda"``: CuPy on an NVIDIA GPU (optional; ``pip install 'tinygrad-lite[cuda]'``).
- ``"strict"``: NumPy arrays that, like CuPy arrays, refuse plain host NumPy arrays
  mixed into their operations. It exists so that tests on a machine without a GPU
  still catch code that would break on ``"cuda"``.

Ops never import an array library; they ask ``get_xp(device)`` for one.
"""
from __future__ import annotations

import os

import numpy as np

DEVICES = ("cpu", "cuda", "strict")
DEFAULT_FLOAT = np.float32
_default_device = os.environ.get("TINYGRAD_LITE_DEVICE", "cpu")
_xp_cache: dict = {}
_generators: dict = {}
_seed: int | None = None


def is_float(dtype) -> bool:
    """True for floating-point dtypes (the ones that can require grad)."""
    return np.dtype(dtype).kind == "f"


# PyTorch's dtype names (``tl.float32``, ``tl.long``, ...), as the NumPy dtypes they are: they work
# wherever a dtype goes (``dtype=``, ``astype``, comparisons with ``t.dtype``)
DTYPES = {
    "float16": np.float16, "float32": np.float32, "float64": np.float64, "int32": np.int32,
    "int64": np.int64, "uint8": np.uint8, "bool": np.bool_,
    "half": np.float16, "float": np.float32, "double": np.float64, "int": np.int32, "long": np.int64,
}


# ---------------------------------------------------------------- strict device
def _refuse_host(name, args):
    for a in args:
        if type(a) is np.ndarray:
            raise TypeError(
                f"{name}: a host NumPy array of shape {a.shape} was mixed with 'strict' "
                "device arrays (CuPy would refuse this too); move it to the device first"
            )
        if isinstance(a, (tuple, list)):
            _refuse_host(name, a)


def _strict(out):
    if isinstance(out, np.ndarray) and not isinstance(out, StrictArray):
        return out.view(StrictArray)
    if isinstance(out, np.generic):  # reductions give 0-d device arrays on CuPy
        return np.asarray(out).view(StrictArray)
    if isinstance(out, tuple):
        return tuple(_strict(o) for o in out)
    return out


def _host(a):
    return a.view(np.ndarray) if isinstance(a, StrictArray) else a


_nested = False  # inside a NumPy function called on StrictArrays


class StrictArray(np.ndarray):
    """A NumPy array that refuses plain NumPy arrays in its operations, as CuPy does.

    Only the caller's arguments are checked: NumPy's own implementations (e.g.
    ``zeros_like`` copying from a host scalar array) may mix freely, as CuPy's do.
    """

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if not _nested:
            _refuse_host(ufunc.__name__, inputs + tuple(kwargs.get("out", ())))
        if "out" in kwargs:
            kwargs["out"] = tuple(_host(o) for o in kwargs["out"])
        return _strict(getattr(ufunc, method)(*(_host(i) for i in inputs), **kwargs))

    def __getitem__(self, index):  # an integer index gives a 0-d device array, as on CuPy
        return _strict(super().__getitem__(index))

    def __array_function__(self, func, types, args, kwargs):
        global _nested
        if _nested:
            return super().__array_function__(func, types, args, kwargs)
        _refuse_host(func.__name__, tuple(args) + tuple(kwargs.values()))
        _nested = True
        try:
            return _strict(super().__array_function__(func, types, args, kwargs))
        finally:
            _nested = False


class _StrictNamespace:
    """``numpy`` seen through the strict device: results are StrictArrays and
    host arrays are refused, except by the explicit transfers ``asarray``/``array``."""

    _transfers = ("asarray", "array", "ascontiguousarray")

    def __getattr__(self, name):
        attr = getattr(np, name)
        if not callable(attr) or isinstance(attr, type):
            return attr
        transfer = name in self._transfers

        def call(*args, **kwargs):
            if not transfer:
                _refuse_host(name, args)
            return _strict(attr(*args, **kwargs))

        return call


# ---------------------------------------------------------------- devices
def _check_device(device):
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")


def _load_cupy():
    try:
        import cupy
    except ImportError as e:
        raise RuntimeError(
            "device 'cuda' needs CuPy, which is not installed: "
            "pip install 'tinygrad-lite[cuda12]' or 'tinygrad-lite[cuda13]' (the CuPy build "
            "for your CUDA version; any importable CuPy works)"
        ) from e
    if not cupy.cuda.is_available():
        raise RuntimeError(
            "device 'cuda': CuPy is installed but found no usable CUDA GPU/driver "
            "(cupy.cuda.is_available() is False); use device 'cpu'"
        )
    return cupy


def get_xp(device: str):
    """The array module (numpy-like namespace) of ``device``."""
    xp = _xp_cache.get(device)
    if xp is None:
        _check_device(device)
        xp = {"cpu": lambda: np, "strict": _StrictNamespace, "cuda": _load_cupy}[device]()
        _xp_cache[device] = xp
    return xp


_XP: dict = {}  # array type -> its array module, so that ops skip the device lookup


def xp_of(array):
    """The array module (numpy-like namespace) of backend array ``array``. For a Tensor (a
    Function's backward run with ``create_graph=True``), its ``__array_namespace__()``: NumPy's
    names over Tensor operations."""
    xp = _XP.get(type(array))
    if xp is None:
        device = device_of(array)
        if device is None and hasattr(array, "__array_namespace__"):
            return array.__array_namespace__()
        xp = _XP[type(array)] = get_xp(device)
    return xp


def is_array(a) -> bool:
    """True for a backend array, False for a Tensor: the few backward steps that write into an
    array in place (a speed-up) take a differentiable form on Tensors (``create_graph=True``)."""
    return type(a) in _XP or device_of(a) is not None  # _XP: the array types seen so far


def device_error(op: str, a: str, b: str) -> ValueError:
    """The error of an op given tensors on devices ``a`` and ``b``."""
    return ValueError(f"{op}: inputs are on different devices, {a!r} and {b!r}; move them with .to(device)")


def is_available(device: str) -> bool:
    """True when ``device`` can be used on this machine (never raises)."""
    try:
        get_xp(device)
        return True
    except (RuntimeError, ValueError):
        return False


def synchronize(device: str) -> None:
    """Wait until the work queued on ``device`` is done: on "cuda", CuPy's current stream (kernels
    run asynchronously there); on "cpu" and "strict", whose work is done when a call returns, and
    on an unavailable device, nothing."""
    if device == "cuda" and is_available("cuda"):
        get_xp("cuda").cuda.get_current_stream().synchronize()


def set_default_device(device: str) -> None:
    """Device used by new tensors that name none (env: ``TINYGRAD_LITE_DEVICE``)."""
    global _default_device
    _check_device(device)
    _default_device = device


def get_default_device() -> str:
    """Device used by new tensors that name none."""
    return _default_device


def device_of(array) -> str | None:
    """Device holding a backend array, or None for anything else (lists, scalars)."""
    if isinstance(array, StrictArray):
        return "strict"
    if isinstance(array, (np.ndarray, np.generic)):  # NumPy gives scalars for 0-d results
        return "cpu"
    if type(array).__module__.startswith("cupy"):
        return "cuda"
    return None


def to_numpy(array) -> np.ndarray:
    """A host NumPy copy/view of any backend array."""
    if isinstance(array, StrictArray):
        return array.view(np.ndarray)
    if device_of(array) == "cuda":
        return array.get()
    return np.asarray(array)


def to_device(array, device: str, dtype=None, copy: bool = False):
    """``array`` (backend array, NumPy array, list or scalar) as an array on ``device``;
    a new array when ``copy``, else shared with ``array`` where device and dtype allow."""
    src = device_of(array)
    if src == device and not copy and not isinstance(array, np.generic) and (dtype is None or array.dtype == dtype):
        return array  # as it is: asarray would give the strict device a new view
    if src is not None and src != device:
        array = to_numpy(array)
    xp = get_xp(device)
    return xp.array(array, dtype=dtype, copy=True) if copy else xp.asarray(array, dtype=dtype)


# up to this many rows, the one-hot product beats sorting (measured: a one-hot (V, N) @ (N, d)
# costs ~V N d, the sort and segment sums ~N d log N with a larger constant; they cross near V ~ 100)
_ONE_HOT_MAX_ROWS = 96


def scatter_add(target, index, values) -> None:
    """``target[index] += values`` with repeated indices accumulated, in place."""
    if all(isinstance(i, (slice, int)) or i is Ellipsis or i is None
           for i in (index if isinstance(index, tuple) else (index,))):
        target[index] += values  # basic indexing picks each element once: nothing repeats
    elif device_of(target) == "cuda":
        import cupyx

        cupyx.scatter_add(target, index, values)
    elif (not isinstance(index, tuple) and getattr(index, "dtype", None) is not None and index.dtype.kind in "iu"
          and target.ndim and target.dtype.kind == "f" and target.flags.c_contiguous
          and values.dtype.kind == "f" and values.shape == index.shape + target.shape[1:]):
        _scatter_add_rows(_host(target), _host(index), _host(values))
    else:
        np.add.at(target, index, values)


def _scatter_add_rows(target, index, values) -> None:
    """``np.add.at(target, index, values)`` for an integer array picking rows of a float ``target``
    (the gradient of an embedding lookup), without ``np.add.at``'s per-element loop: a one-hot
    matrix product for few rows, else a stable sort and one segment sum per distinct row (which
    adds in ``np.add.at``'s order)."""
    rows = target.shape[0]
    idx = index.reshape(-1)
    if not idx.size:
        return
    idx = np.where(idx < 0, idx + rows, idx)
    flat = target.reshape(rows, -1)  # a view: target is contiguous
    grad = values.reshape(idx.size, -1)
    if rows <= _ONE_HOT_MAX_ROWS:
        one_hot = np.zeros((rows, idx.size), dtype=grad.dtype)
        one_hot[idx, np.arange(idx.size)] = 1
        summed = one_hot @ grad
        if summed.dtype != flat.dtype:
            summed = summed.astype(flat.dtype)
        flat += summed
    else:
        order = np.argsort(idx, kind="stable")
        ordered = idx[order]
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        flat[ordered[starts]] += np.add.reduceat(grad[order], starts, axis=0)


# ---------------------------------------------------------------- random numbers
def manual_seed(seed: int) -> None:
    """Seed every device's generator: the same seed gives the same numbers."""
    global _seed
    _seed = int(seed)
    _generators.clear()


def seed_device(device: str, seed: int) -> None:
    """Seed ``device``'s generator only: the other devices' streams go on as they were (PyTorch's
    ``torch.cuda.manual_seed``). An unavailable device has no generator to seed: nothing happens."""
    _check_device(device)
    if is_available(device):
        _generators[device] = _new_generator(device, int(seed))


def _new_generator(device, seed):
    return (get_xp("cuda") if device == "cuda" else np).random.default_rng(seed)


def _generator(device):
    gen = _generators.get(device)
    if gen is None:
        gen = _generators[device] = _new_generator(device, _seed)
    return gen


def _float_dtype(dtype):
    dtype = np.dtype(DEFAULT_FLOAT if dtype is None else dtype)
    if dtype.kind != "f":
        raise TypeError(f"random numbers need a float dtype, got {dtype}")
    return dtype


_NATIVE = (np.dtype(np.float32), np.dtype(np.float64))  # what NumPy's and CuPy's generators draw


def _draw(method: str, device: str, shape, dtype):
    _check_device(device)
    dtype = _float_dtype(dtype)
    if dtype in _NATIVE:
        out = getattr(_generator(device), method)(shape, dtype=dtype)
    else:  # float16 (or a wider float): drawn in float32 (float64), then cast
        wide = np.float32 if dtype.itemsize < 4 else np.float64
        out = getattr(_generator(device), method)(shape, dtype=wide)
        if method == "random" and dtype.itemsize < 4:
            # rounding would turn values just below 1 into 1.0 (float16: 1 in 4096); floor
            # to multiples of 2^-digits instead, PyTorch's uniform grid for half precision
            scale = 2.0 ** (np.finfo(dtype).nmant + 1)
            out = xp_of(out).floor(out * scale) / scale
        out = out.astype(dtype)
    return _strict(out) if device == "strict" else out


def random(device: str, shape, dtype=None):
    """Uniform samples in [0, 1) from the device's seeded generator (float16: multiples of 2^-11)."""
    return _draw("random", device, shape, dtype)


def randn(device: str, shape, dtype=None):
    """Standard normal samples from the device's seeded generator (float16: float32 ones, cast)."""
    return _draw("standard_normal", device, shape, dtype)


# The discrete draws below are made from float64 uniform draws with array operations only, so that
# one mechanism runs on every device (and the generator's state covers them).
def randint(device: str, low: int, high: int, shape):
    """int64 samples, uniform over the integers in [low, high), from the device's seeded generator."""
    u = random(device, shape, np.float64)
    xp = xp_of(u)
    return xp.minimum(xp.floor(u * float(high - low)).astype(np.int64), high - low - 1) + low


def randperm(device: str, n: int):
    """A uniformly random permutation of 0 .. n-1 (int64): the order that sorts n uniform draws."""
    u = random(device, (n,), np.float64)
    return xp_of(u).argsort(u, kind="stable") if device != "cuda" else xp_of(u).argsort(u)


def multinomial(weights, num_samples: int, replacement: bool):
    """``num_samples`` category indices (int64) per row of the 2-D array ``weights`` (non-negative,
    each row with a positive sum; not normalised), drawn from the generator of its device.

    With replacement, each draw is independent: category i with probability w_i / sum(w), found
    by a search of a uniform draw in the row's cumulative weights. Without replacement, in the
    order drawn: the categories with the largest keys w_i / E_i (E_i standard exponential) are,
    in order, a sequential draw where each step picks among those left in proportion to their
    weights (Efraimidis and Spirakis; PyTorch draws the same way). Categories of weight 0 come only
    after all the others, as in PyTorch."""
    device = device_of(weights)
    xp = xp_of(weights)
    rows, k = weights.shape
    w = weights.astype(np.float64)
    if replacement:
        cdf = xp.cumsum(w, axis=1)
        u = random(device, (rows, num_samples), np.float64) * cdf[:, -1:]
        # the first category whose cumulative weight exceeds the draw: never one of weight 0
        idx = xp.stack([xp.searchsorted(cdf[r], u[r], side="right") for r in range(rows)]) if rows \
            else xp.zeros((0, num_samples), dtype=np.int64)
        # rounding may put a draw at the row's total: take the last category of positive weight there
        last = k - 1 - xp.argmax(xp.flip(w > 0, axis=1), axis=1)[:, None]
        return xp.where(idx >= k, last, idx).astype(np.int64)
    e = -xp.log1p(-random(device, (rows, k), np.float64))  # standard exponential, >= 0
    positive = w > 0
    keys = xp.where(positive, w / xp.where(e > 0, e, 1.0), 0.0)
    keys = xp.where(positive & (e == 0), xp.inf, keys)  # e = 0 (probability 2^-53): first
    order = xp.argsort(-keys, axis=1, kind="stable") if device != "cuda" else xp.argsort(-keys, axis=1)
    return order[:, :num_samples].astype(np.int64)


def get_rng_state() -> dict:
    """The generators' state (for exact resume of training)."""
    return {"seed": _seed, "generators": {d: g.bit_generator.state for d, g in _generators.items()}}


def set_rng_state(state: dict) -> None:
    """Restore what ``get_rng_state`` returned: the same numbers follow."""
    global _seed
    _generators.clear()
    _seed = state["seed"]
    for device, s in state["generators"].items():
        _generator(device).bit_generator.state = s
