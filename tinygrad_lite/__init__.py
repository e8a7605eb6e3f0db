"""tinygrad_lite: a small reverse-mode autodiff Tensor on NumPy (CPU) or CuPy (GPU)."""
from . import cuda, host_memory
from .autograd import Function, enable_grad, inference_mode, is_grad_enabled, no_grad
from .backend import DTYPES as _DTYPES
from .backend import get_default_device, is_available, manual_seed, set_default_device
from .factory import (
    arange,
    as_tensor,
    empty,
    eye,
    full,
    full_like,
    linspace,
    multinomial,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,  # PyTorch's factory: the name now means it, not the module tinygrad_lite/tensor.py
    to_numpy,
    zeros,
    zeros_like,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph import draw_graph
from .tensor import Tensor, concatenate, einsum, maximum, minimum, stack, tril, triu, where
from .tensor import concatenate as cat  # PyTorch's name
from .version import __version__ as __version__

# isort: split
# after the core they build on (they import names from it), as torch.nn and torch.optim
from . import nn, optim
from .nn import load, save  # torch.save / torch.load

# PyTorch's dtype names, the NumPy dtypes of backend.DTYPES. Not in __all__: `from tinygrad_lite
# import *` must not shadow the builtins int, float and bool.
float16 = half = _DTYPES["float16"]
float32 = float = _DTYPES["float32"]
float64 = double = _DTYPES["float64"]
int32 = int = _DTYPES["int32"]
int64 = long = _DTYPES["int64"]
uint8, bool = _DTYPES["uint8"], _DTYPES["bool"]

host_memory.apply_setting()  # freed arrays reused, not faulted in again at every step

__all__ = [
    "Function",
    "GradcheckError",
    "Tensor",
    "arange",
    "as_tensor",
    "autograd",
    "cat",
    "concatenate",
    "cuda",
    "draw_graph",
    "einsum",
    "empty",
    "enable_grad",
    "eye",
    "full",
    "full_like",
    "get_default_device",
    "gradcheck",
    "gradgradcheck",
    "graph",
    "inference_mode",
    "is_available",
    "is_grad_enabled",
    "linspace",
    "load",
    "manual_seed",
    "maximum",
    "minimum",
    "multinomial",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "save",
    "set_default_device",
    "stack",
    "tensor",
    "to_numpy",
    "tril",
    "triu",
    "where",
    "zeros",
    "zeros_like",
]
