"""The lecture's regularization penalties R(W), added to the data loss as lambda R(W).

    L2:          R(W) = sum_k sum_l W_kl^2
    L1:          R(W) = sum_k sum_l |W_kl|
    Elastic net: R(W) = sum_k sum_l beta W_kl^2 + |W_kl|

Given a Module, W ranges over its weights: every parameter except biases and the
parameters of normalization layers and PReLU (a module lists those in
``_non_weights``). Given an iterable of tensors, exactly those are used (pass
``model.parameters()`` to include everything). The penalties are differentiable
Tensors; d(L2)/dW = 2W, d(L1)/dW = sign(W).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from tinygrad_lite.checks import check_choice, check_real
from tinygrad_lite.tensor import Tensor

from .module import Module


def weights(module: Module) -> list:
    """The parameters of ``module`` that regularization applies to (each once, in order)."""
    out, seen = [], set()
    for m in module.modules():
        for name, p in m._parameters.items():
            if p is not None and name not in m._non_weights and id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def _penalty(params: Module | Iterable[Tensor], term: Callable[[Tensor], Tensor], name: str) -> Tensor:
    params = weights(params) if isinstance(params, Module) else list(params)
    if not params:
        raise ValueError(f"{name}: there are no weights to regularize")
    total = term(params[0])
    for p in params[1:]:
        total = total + term(p)
    return total


def l2_penalty(params: Module | Iterable[Tensor]) -> Tensor:
    """R(W) = sum W^2 over the weights."""
    return _penalty(params, lambda w: (w * w).sum(), "l2_penalty")


def l1_penalty(params: Module | Iterable[Tensor]) -> Tensor:
    """R(W) = sum |W| over the weights."""
    return _penalty(params, lambda w: w.abs().sum(), "l1_penalty")


def elastic_net_penalty(params: Module | Iterable[Tensor], beta: float = 1.0) -> Tensor:
    """R(W) = sum (beta W^2 + |W|) over the weights."""
    return _penalty(params, lambda w: (w * w).sum() * beta + w.abs().sum(), "elastic_net_penalty")


def regularization_loss(params: Module | Iterable[Tensor], lam: float, kind: str = "l2",
                        beta: float = 1.0) -> Tensor:
    """lambda R(W), the term added to the data loss; ``lam`` is the lecture's ``reg``.

    ``kind`` is "l2", "l1" or "elastic_net" (which uses ``beta``).
    """
    check_real("regularization_loss", "lam", lam, 0.0)
    check_choice("regularization_loss", "kind", kind, ("l2", "l1", "elastic_net"))
    if kind == "l2":
        r = l2_penalty(params)
    elif kind == "l1":
        r = l1_penalty(params)
    else:
        r = elastic_net_penalty(params, beta)
    return r * lam


__all__ = ["elastic_net_penalty", "l1_penalty", "l2_penalty", "regularization_loss", "weights"]
