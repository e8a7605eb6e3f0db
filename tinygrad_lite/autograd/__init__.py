"""Automatic differentiation: the engine (``Function``, ``backward``, ``grad``, the gradient
modes) and ``functional`` (``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``), as
``torch.autograd`` and ``torch.autograd.functional``."""
from . import functional
from .engine import (
    Function,
    backward,
    enable_grad,
    grad,
    inference_mode,
    is_grad_enabled,
    mark_written,
    no_grad,
    retain_grad,
    retains_grad,
    sum_to,
)

__all__ = ["Function", "backward", "enable_grad", "functional", "grad", "inference_mode", "is_grad_enabled",
           "mark_written", "no_grad", "retain_grad", "retains_grad", "sum_to"]
