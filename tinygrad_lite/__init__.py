"""tinygrad_lite: a small reverse-mode autodiff Tensor on NumPy (CPU) or CuPy (GPU)."""
from .autograd import Function, is_grad_enabled, no_grad
from .backend import get_default_device, is_available, manual_seed, set_default_device
from .factory import (
    arange,
    as_tensor,
    eye,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    to_numpy,
    zeros,
    zeros_like,
)
from .gradcheck import GradcheckError, gradcheck
from .graph import draw_graph
from .tensor import Tensor, concatenate, maximum, minimum, stack, where
from .tensor import concatenate as cat  # PyTorch's name

# isort: split
# after the core they build on (they import names from it), as torch.nn and torch.optim
from . import nn, optim

__version__ = "0.1.0"
__all__ = [
    "Function",
    "GradcheckError",
    "Tensor",
    "arange",
    "as_tensor",
    "cat",
    "concatenate",
    "draw_graph",
    "eye",
    "full",
    "full_like",
    "get_default_device",
    "gradcheck",
    "graph",
    "is_available",
    "is_grad_enabled",
    "manual_seed",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "set_default_device",
    "stack",
    "to_numpy",
    "where",
    "zeros",
    "zeros_like",
]
