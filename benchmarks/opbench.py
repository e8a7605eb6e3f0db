"""Per-op overhead: forward plus backward of one op on tiny (8 x 8) float32 tensors.

On tensors this small the arithmetic is a few dozen nanoseconds, so the time is
what the library spends around it: wrapping, graph recording, the backward pass,
gradient accumulation. The NumPy column is the same forward and backward math
written by hand (the part no engine can avoid). ``graph3`` is a three-op graph,
``(a * b + a).sum()`` and its backward: a scalar-style experiment.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from timing import Case, cpu_case

SHAPE = (8, 8)
OPS = ("add", "matmul", "relu", "sum", "graph3")


def _numpy_cases(a: np.ndarray, b: np.ndarray) -> dict[str, Callable[[], object]]:
    g = np.ones(SHAPE, np.float32)
    g0 = np.ones((), np.float32)
    return {
        "add": lambda: (a + b, g, g),
        "matmul": lambda: (a @ b, g @ b.T, a.T @ g),
        "relu": lambda: (np.maximum(a, 0), g * (a > 0)),
        "sum": lambda: (a.sum(), np.broadcast_to(g0, SHAPE).copy()),
        "graph3": lambda: _graph3(a, b, g0),
    }


def _graph3(a, b, g0):
    """(a * b + a).sum() and d/da = g (b + 1), d/db = g a, with the sum's gradient broadcast."""
    g = np.broadcast_to(g0, SHAPE)
    return (a * b + a).sum(), g * b + g, g * a


def _autograd_cases(fwd: dict[str, Callable], a, b, ones: Callable) -> dict[str, Callable[[], object]]:
    """fn() clears the leaves' gradients, runs the op and backpropagates a gradient of ones."""
    grads = {op: ones(fwd[op](a, b)) for op in OPS}

    def case(op):
        f, g = fwd[op], grads[op]

        def run():
            a.grad = b.grad = None
            f(a, b).backward(g)

        return run

    return {op: case(op) for op in OPS}


def _forward_ops(relu: Callable) -> dict[str, Callable]:
    return {"add": lambda a, b: a + b, "matmul": lambda a, b: a @ b,
            "relu": lambda a, b: relu(a), "sum": lambda a, b: a.sum(),
            "graph3": lambda a, b: (a * b + a).sum()}


def make_cases(torch) -> dict[str, dict[str, Case]]:
    """{op: {library: case}} for NumPy, tinygrad_lite and (when given) PyTorch."""
    import tinygrad_lite as tl

    rng = np.random.default_rng(0)
    a_np, b_np = rng.standard_normal((2,) + SHAPE, dtype=np.float32)
    libs = {"numpy": _numpy_cases(a_np, b_np)}
    a, b = (tl.Tensor(v, requires_grad=True) for v in (a_np, b_np))
    libs["tinygrad_lite"] = _autograd_cases(_forward_ops(lambda t: t.relu()), a, b,
                                            lambda out: tl.ones_like(out))
    if torch is not None:
        ta, tb = (torch.from_numpy(v.copy()).requires_grad_() for v in (a_np, b_np))
        libs["torch"] = _autograd_cases(_forward_ops(torch.relu), ta, tb, torch.ones_like)
    return {op: {lib: cpu_case(cases[op]) for lib, cases in libs.items()} for op in OPS}
