"""A model summary: each layer, its output shape for a given input, its parameter count, and
the totals (Keras' ``model.summary()``, torchinfo's ``summary`` in PyTorch).

    print(nn.summary(model, (64, 1, 28, 28)))      # a shape: runs on zeros of that shape
    s = nn.summary(model, x)                       # or an example tensor (int indices, ...)
    s.total_params, s.rows[1].output_shape
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

from tinygrad_lite import backend, factory
from tinygrad_lite.autograd import no_grad
from tinygrad_lite.tensor import Tensor

from .module import Module, eval_mode


class LayerRow(NamedTuple):
    """One row of a ``ModelSummary``: a module of the model, in ``named_modules`` order."""

    name: str          # dotted name ("" for the model itself)
    layer: str         # class name
    depth: int         # 0 for the model, 1 for its children, ...
    output_shape: object  # tuple, a list of tuples (several outputs), or None (not called)
    calls: int         # how many times the input's forward pass called it
    params: int        # parameters it owns itself (not its sub-modules'), shared ones counted once


class ModelSummary:
    """What ``summary`` returns: ``rows`` (LayerRow), ``input_shape``, ``output_shape``,
    ``total_params``, ``trainable_params``, ``non_trainable_params``, ``param_bytes``;
    ``str()`` (and the repr) is the table."""

    def __init__(self, model_name: str, rows: list, input_shape, output_shape, params: list) -> None:
        self.model_name, self.rows = model_name, rows
        self.input_shape, self.output_shape = input_shape, output_shape
        self.total_params = sum(p.numel() for p in params)
        self.trainable_params = sum(p.numel() for p in params if p.requires_grad)
        self.non_trainable_params = self.total_params - self.trainable_params
        self.param_bytes = sum(p.data.nbytes for p in params)

    def __str__(self) -> str:
        cells = [("Layer (type)", "Output shape", "Param #")]
        for r in self.rows:
            label = r.layer if not r.name else f"{'  ' * (r.depth - 1)}{r.name.rsplit('.', 1)[-1]} ({r.layer})"
            shape = "--" if r.output_shape is None else _shape_text(r.output_shape)
            cells.append((label, shape + (f" x{r.calls}" if r.calls > 1 else ""), f"{r.params:,}"))
        widths = [max(len(row[i]) for row in cells) for i in range(3)]
        line = "-" * (sum(widths) + 4)

        def fmt(row):
            return f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}"

        out = [line, fmt(cells[0]), "=" * len(line), *map(fmt, cells[1:]), "=" * len(line),
               f"Total params: {self.total_params:,}",
               f"Trainable params: {self.trainable_params:,}",
               f"Non-trainable params: {self.non_trainable_params:,}",
               f"Parameter size: {_bytes_text(self.param_bytes)}",
               f"Input shape: {_shape_text(self.input_shape)}, output shape: {_shape_text(self.output_shape)}",
               line]
        return "\n".join(out)

    __repr__ = __str__


def _bytes_text(n: int) -> str:
    return f"{n / 2 ** 20:.2f} MiB" if n >= 2 ** 20 else f"{n / 2 ** 10:.1f} KiB"


def _shape_text(shape) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(map(_shape_text, shape)) + "]"
    return str(tuple(shape)) if isinstance(shape, tuple) else str(shape)


def _shape_of(out):
    """A tensor's shape; a list of them for a tuple or list of outputs; else the type's name."""
    if isinstance(out, Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return [_shape_of(o) for o in out]
    return type(out).__name__


def _inputs(model: Module, example, dtype) -> tuple:
    """The forward's arguments: the example tensor(s), or zeros of the given shape on the model's
    device (that of its first parameter or buffer)."""
    if isinstance(example, Tensor):
        return (example,)
    if isinstance(example, (tuple, list)) and example and all(isinstance(t, Tensor) for t in example):
        return tuple(example)
    if isinstance(example, (tuple, list)) and all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 0 for n in example):
        state = next(iter(model.parameters()), None)
        state = next(iter(model.buffers()), None) if state is None else state
        device = state.device if state is not None else backend.get_default_device()
        return (factory.zeros(*example, dtype=dtype, device=device),)
    raise TypeError(f"summary: example must be a shape (a tuple of ints >= 0), an example Tensor or a tuple "
                    f"of Tensors, got {example!r}")


def summary(model: Module, example, dtype=None) -> ModelSummary:
    """Run ``model`` once on ``example`` and tabulate each module: its name and type, the shape of
    its output, its own parameter count; then total, trainable and non-trainable parameters.

    ``example`` is a shape, batch axis included (the model runs on zeros of that shape and
    ``dtype``, default float32, on the model's device), an example Tensor (e.g. int indices
    for an Embedding) or a tuple of Tensors (several arguments). The pass runs in eval mode
    under ``no_grad``, so batch norm's running statistics and the graph are left alone, and
    every module is restored afterwards. Modules the forward pass does not call show "--".
    ``print(summary(...))`` prints the table; the object keeps the numbers.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be a Module, got {type(model).__name__}")
    args = _inputs(model, example, dtype)
    modules = list(model.named_modules())
    seen: dict = {}  # id(module) -> [first output shape, calls]

    def recording(m, forward):
        def wrapper(*a, **k):
            out = forward(*a, **k)
            entry = seen.setdefault(id(m), [_shape_of(out), 0])
            entry[1] += 1
            return out
        return wrapper

    own = [(m, m.__dict__.get("forward")) for _, m in modules]
    try:
        for m, _ in own:  # an instance attribute shadows the class's forward for this pass only
            object.__setattr__(m, "forward", recording(m, m.forward))
        with eval_mode(model), no_grad():
            out = model(*args)
    finally:
        for m, previous in own:
            del m.__dict__["forward"]
            if previous is not None:
                object.__setattr__(m, "forward", previous)
    counted: set = set()
    rows = []
    for name, m in modules:
        n = 0
        for p in m._parameters.values():
            if p is not None and id(p) not in counted:
                counted.add(id(p))
                n += p.numel()
        shape, calls = seen.get(id(m), (None, 0))
        rows.append(LayerRow(name, type(m).__name__, name.count(".") + 1 if name else 0, shape, calls, n))
    in_shape = _shape_of(args[0]) if len(args) == 1 else [_shape_of(a) for a in args]
    return ModelSummary(type(model).__name__, rows, in_shape, _shape_of(out), list(model.parameters()))


__all__ = ["LayerRow", "ModelSummary", "summary"]
