"""Module and Parameter, the base every layer and model is built from.

A ``Module`` owns three registries, filled by plain attribute assignment
(``Module.__setattr__``), as in PyTorch:

- parameters: ``Parameter`` tensors, trained by optimizers;
- buffers: tensors of state that is not trained (running statistics), added with
  ``register_buffer``;
- sub-modules.

Iteration order is registration order, depth first (a module's own parameters,
then its buffers, then its children), so ``parameters()`` and ``state_dict()``
are deterministic.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np  # dtypes of host state only; arrays come from the backend

from tinygrad_lite import backend
from tinygrad_lite.factory import as_tensor
from tinygrad_lite.tensor import Tensor


class Parameter(Tensor):
    """A tensor that a ``Module`` registers as trainable; it requires grad by default.

    Ops on a Parameter give plain Tensors: only the leaf itself is a Parameter.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, dtype=None, device=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, device=device)

    def __repr__(self):
        return "Parameter(" + super().__repr__()[len("Tensor("):]


class IncompatibleKeys(NamedTuple):
    """What a non-strict ``load_state_dict`` skipped."""

    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of every layer and model: subclass it and define ``forward``.

    ``module(*args)`` calls ``forward(*args)``. Assign ``Parameter``s and
    sub-modules as attributes to register them; use ``register_buffer`` for
    non-trained tensors. ``training`` is True after construction; ``train()`` and
    ``eval()`` set it on the whole tree.
    """

    # names of a module's own parameters that are not weights W of the
    # regularization penalty R(W) (see nn.regularization); subclasses extend it
    _non_weights: frozenset = frozenset({"bias"})

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        """The module's computation; ``module(x)`` calls it. Subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    def __call__(self, *args, **kwargs):
        if args and type(args[0]) is not Tensor and backend.device_of(args[0]) is not None:
            raise TypeError(f"{type(self).__name__}: the input is a {type(args[0]).__name__}, not a Tensor; "
                            "wrap it: model(tl.Tensor(x)) (or tl.as_tensor(x) to avoid a copy)")
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() ran: call super().__init__() first"
            )
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            if name not in params:  # re-assigning keeps the registration order
                self._forget(name)
            self._put(params, name, value)
        elif isinstance(value, Module):
            if name not in modules:
                self._forget(name)
            self._put(modules, name, value)
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to parameter {name!r} of "
                    f"{type(self).__name__} (nn.Parameter or None expected)"
                )
            self._put(params, name, None)
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"buffer {name!r} must be a Tensor or None, got {type(value).__name__}")
            self._put(buffers, name, value)
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to sub-module {name!r}")
            self._put(modules, name, None)
        else:
            object.__setattr__(self, name, value)

    def _put(self, table: dict, name: str, value) -> None:
        """Register ``value`` in ``table`` and mirror it in the instance dict: ``self.weight``
        is then an ordinary attribute read, not a ``__getattr__`` call (a layer reads its
        parameters on every forward)."""
        table[name] = value
        self.__dict__[name] = value

    def __getattr__(self, name: str):
        # only called when normal lookup fails; look in the registries
        for registry in ("_parameters", "_buffers", "_modules"):
            table = self.__dict__.get(registry)
            if table is not None and name in table:
                return table[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        if not self._forget(name):
            object.__delattr__(self, name)

    def _forget(self, name: str) -> bool:
        found = False
        for table in (self._parameters, self._buffers, self._modules, self.__dict__):
            if name in table:
                del table[name]
                found = True
        return found

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (a Parameter, or None for an absent optional one) as ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}): expected nn.Parameter or None, "
                            f"got {type(param).__name__}")
        self._forget(name)
        self._put(self._parameters, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """Register ``tensor`` as non-trained state: saved in ``state_dict``, moved by ``to``."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer({name!r}): expected a Tensor or None, "
                            f"got {type(tensor).__name__}")
        if isinstance(tensor, Parameter):
            raise TypeError(f"register_buffer({name!r}): a Parameter is not a buffer")
        self._forget(name)
        self._put(self._buffers, name, tensor)

    # ------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(name, module) for this module and every descendant, each module once."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, each once, depth first."""
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct sub-module, in registration order."""
        return ((k, m) for k, m in self._modules.items() if m is not None)

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in registration order."""
        return (m for _, m in self.named_children())

    def _named_tensors(self, registry: str) -> Iterator[tuple[str, Tensor]]:
        seen = set()
        for prefix, m in self.named_modules():
            for k, t in getattr(m, registry).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{prefix}.{k}" if prefix else k), t

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) in registration order; a shared parameter appears once."""
        return self._named_tensors("_parameters")

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter of the tree, each once, in registration order (what an optimizer takes)."""
        return (p for _, p in self.named_parameters())

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) for every buffer of the tree, each once."""
        return self._named_tensors("_buffers")

    def buffers(self) -> Iterator[Tensor]:
        """Every buffer (non-trained state, e.g. running statistics) of the tree, each once."""
        return (b for _, b in self.named_buffers())

    # ------------------------------------------------------------ modes, grads, devices
    def train(self, mode: bool = True) -> Module:
        """Set ``training = mode`` on this module and every descendant."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``): dropout off, batch norm on running statistics; returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (``p.grad = None``, PyTorch's default); with
        ``set_to_none=False`` an existing gradient is set to zeros in place instead."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.zero_()

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter of the tree (False freezes them: ``backward``
        then leaves their ``.grad`` alone); returns self, as PyTorch."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn(m)`` on every sub-module and then on this module, children before parents
        (post-order, each child's subtree in registration order, as PyTorch), e.g. to initialize
        the weights: ``model.apply(init_fn)``. Returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def _apply(self, convert: Callable[[Tensor], Any]) -> Module:
        """Set each parameter's and buffer's array (and gradient) to ``convert(t)`` in place.

        In place, as PyTorch does, so that the same Parameter objects, and an
        optimizer already holding them, follow a move or a cast.
        """
        seen: set = set()
        for m in self.modules():
            for table in (m._parameters, m._buffers):
                for t in table.values():
                    if t is None or id(t) in seen:
                        continue
                    seen.add(id(t))
                    t.set_(convert(t))
                    if t.grad is not None:
                        t.grad = as_tensor(convert(t.grad), device=t.device)
        return self

    def to(self, device: str) -> Module:
        """Move parameters, buffers and gradients to ``device`` in place; returns self."""
        backend.get_xp(device)  # fail early on an unknown or unavailable device
        return self._apply(lambda t: t.data if t.device == device else backend.to_device(t.data, device))

    def astype(self, dtype) -> Module:
        """Cast float parameters and buffers to ``dtype`` in place (like ``to``); returns self."""
        dtype = np.dtype(dtype)
        return self._apply(lambda t: t.data.astype(dtype, copy=False) if t.dtype.kind == "f" else t.data)

    def double(self) -> Module:
        """Cast float parameters and buffers to float64 in place; returns self."""
        return self.astype(np.float64)

    def float(self) -> Module:
        """Cast float parameters and buffers to float32 in place; returns self."""
        return self.astype(np.float32)

    # ------------------------------------------------------------ state
    def _state_tensors(self) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, tensor) of every parameter and buffer, module by module, in order."""
        for prefix, m in self.named_modules():
            for table in (m._parameters, m._buffers):
                for k, t in table.items():
                    if t is not None:
                        yield (f"{prefix}.{k}" if prefix else k), t

    # buffers a state dict saved before they existed may lack; loading keeps their current value
    _optional_buffers: frozenset = frozenset()

    def _optional_state_keys(self) -> set:
        return {f"{prefix}.{k}" if prefix else k for prefix, m in self.named_modules()
                for k in m._optional_buffers}

    def state_dict(self) -> OrderedDict:
        """Every parameter and buffer by dotted name, as detached copies.

        Copies, not views, because optimizers update ``p.data`` in place: a saved
        state dict stays a snapshot (e.g. of the best model so far).
        """
        return OrderedDict((k, as_tensor(t.data.copy(), device=t.device)) for k, t in self._state_tensors())

    def load_state_dict(self, state: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy ``state`` (name -> Tensor or array) into the parameters and buffers.

        Every entry is checked before anything is written: a missing or unexpected
        key (strict only), a wrong shape (ValueError) or a wrong dtype (TypeError)
        raises naming the key, and the module is left unchanged. Parameters keep
        their identity (their ``.data`` is replaced), so optimizers stay valid.
        """
        own = OrderedDict(self._state_tensors())
        missing = [k for k in own if k not in state and k not in self._optional_state_keys()]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise ValueError(f"load_state_dict into {type(self).__name__}: missing keys {missing}, "
                             f"unexpected keys {unexpected}")
        staged = []
        for k, t in own.items():
            if k in state:
                staged.append((t, _staged_array(k, t, state[k])))
        for t, array in staged:
            t.set_(array)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (its settings)."""
        return ""

    def __repr__(self):
        lines = [f"({k}): " + repr(m).replace("\n", "\n  ") for k, m in self.named_children()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = ([extra] if extra else []) + lines
        return type(self).__name__ + "(\n  " + "\n  ".join(body) + "\n)"


@contextmanager
def eval_mode(module: Module) -> Iterator[Module]:
    """``with eval_mode(model):`` the model in eval mode (dropout off, batch norm on running
    statistics), and afterwards every sub-module back in the mode it had, even if the
    modes were mixed or an exception left the block. Combine with ``no_grad()`` to also
    build no graph."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, training in modes:
            object.__setattr__(m, "training", training)


def _staged_array(key: str, target: Tensor, value):
    """``value`` checked against ``target`` and copied onto its device (nothing written yet)."""
    if isinstance(value, Tensor):
        value = value.data
    if backend.device_of(value) is None:
        value = np.asarray(value)
    if tuple(value.shape) != tuple(target.shape):
        raise ValueError(f"load_state_dict: {key!r} has shape {tuple(value.shape)}, "
                         f"the model expects {tuple(target.shape)}")
    if np.dtype(value.dtype) != np.dtype(target.dtype):
        raise TypeError(f"load_state_dict: {key!r} has dtype {value.dtype}, "
                        f"the model expects {target.dtype}")
    # a copy, so the model never aliases the caller's arrays
    return backend.to_device(value, target.device, copy=True)


def functional_call(module: Module, tensors: dict, *args, **kwargs):
    """``module(*args, **kwargs)`` with some parameters/buffers temporarily replaced.

    ``tensors`` maps dotted names (as in ``state_dict``) to Tensors used in place
    of the module's own for this one call; the module is restored afterwards.
    This is how a module's gradient is checked against finite differences:
    ``gradcheck(lambda x, *ps: functional_call(m, dict(zip(names, ps)), x), x, *params)``.
    """
    owners = dict(module.named_modules())
    slots = []
    for name, t in tensors.items():
        prefix, _, attr = name.rpartition(".")
        m = owners.get(prefix)
        table = None if m is None else next(
            (tb for tb in (m._parameters, m._buffers) if attr in tb), None)
        if table is None:
            raise ValueError(f"functional_call: {type(module).__name__} has no parameter or "
                             f"buffer named {name!r}")
        if not isinstance(t, Tensor):
            raise TypeError(f"functional_call: {name!r} must be a Tensor, got {type(t).__name__}")
        slots.append((m, table, attr, table[attr], t))
    try:
        for m, table, attr, _, t in slots:
            m._put(table, attr, t)
        return module(*args, **kwargs)
    finally:
        for m, table, attr, old, _ in reversed(slots):
            m._put(table, attr, old)
