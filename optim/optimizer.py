"""The Optimizer base class: parameter groups, lazy per-parameter state, state_dict.

An optimizer holds ``param_groups``, a list of dicts each with its own ``"params"``
and hyperparameters (e.g. a group of biases with ``weight_decay=0``), and ``state``,
a dict from parameter to that parameter's buffers. Buffers are created on the first
``step()`` that sees a gradient, with the parameter's array module, so they live on
the parameter's device; if the parameter later moves (its ``.data`` replaced by an
array on another device or of another dtype), its state follows on the next step.

Subclasses implement ``_hyper(group)``, the group's hyperparameters as a tuple of
Python numbers, and ``_update(x, g, slot, hyper)``, which changes the parameter
array ``x`` in place from its gradient ``g``, keeping buffers in ``slot.state``
(made with ``_buffer``) and using the two preallocated arrays ``slot.work`` for
temporaries, so that a step allocates nothing. A subclass whose update works piece
by piece sets ``_full_work = False``: it then gets no ``slot.work`` (two arrays the
size of the largest parameter) and takes small buffers from ``_scratch`` instead.
Gradients are read-only: they may alias other arrays.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable

from tinygrad_lite import Tensor, backend
from tinygrad_lite.backend import xp_of

# name: (low, high, high included); checked wherever the name appears in a group
_RANGES = {
    "lr": (0.0, math.inf, True),
    "eps": (0.0, math.inf, True),
    "weight_decay": (0.0, math.inf, True),
    "initial_accumulator_value": (0.0, math.inf, True),
    "momentum": (0.0, 1.0, False),
    "alpha": (0.0, 1.0, False),
}


def check_range(owner: str, name: str, value, low: float, high: float, high_included: bool,
                low_included: bool = True) -> None:
    """Raise TypeError unless ``value`` is a real number, ValueError unless it lies in the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    above = low <= value if low_included else low < value
    inside = above and (value <= high if high_included else value < high)  # NaN fails both
    if not inside:
        interval = f"{'[' if low_included else '('}{low}, {high}{']' if high_included else ')'}"
        raise ValueError(f"{owner}: {name}={value!r} is outside {interval}")


def _placed(value, x, copy: bool = False):
    """State entry ``value`` on parameter array ``x``'s device, float arrays in ``x``'s dtype.

    Copied if it has to move or ``copy``; Python numbers (the step count) pass through.
    """
    src = backend.device_of(value)
    if src is None:
        return value
    dtype = x.dtype if value.dtype.kind == "f" else value.dtype
    if not copy and src == backend.device_of(x) and value.dtype == dtype:
        return value
    return xp_of(x).array(backend.to_numpy(value), dtype=dtype)  # array() copies


def decayed_grad(x, g, weight_decay: float, out):
    """The L2-regularised gradient ``g + weight_decay * x``, written to and returned as ``out``.

    ``g`` is never written: gradients may alias other arrays.
    """
    xp_of(x).multiply(x, weight_decay, out=out)
    out += g
    return out


class _Slot:
    """What ``step()`` keeps per parameter: the array ``x`` it was made for (``p.data``),
    the parameter's ``state``, its array module ``xp``, two ``work`` arrays like ``x`` (None
    when the optimizer sets ``_full_work = False``) and a subclass's cached ``plan``."""

    __slots__ = ("plan", "state", "work", "x", "xp")

    def __init__(self, x, state: dict, xp, work: tuple):
        self.x, self.state, self.xp, self.work = x, state, xp, work
        self.plan = None  # what a subclass caches about how to update x (SGD: its pieces)


class Optimizer:
    """Base class: ``Optimizer(params, defaults)``.

    ``params`` is an iterable of tensors that require grad, or of dicts (parameter
    groups) with a ``"params"`` entry and any per-group hyperparameters; ``defaults``
    fills the hyperparameters a group does not give.
    """

    _full_work = True  # give every slot two work arrays shaped like its parameter

    def __init__(self, params: Iterable, defaults: dict):
        name = type(self).__name__
        if isinstance(params, (Tensor, dict)):
            raise TypeError(f"{name}: params must be an iterable of tensors or of dicts, "
                            f"got a single {type(params).__name__}")
        self.defaults = dict(defaults)
        self._check_group(self.defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}
        self._slots: dict = {}  # parameter -> _Slot, see step()
        self._work_bufs: dict = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{name} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        return f"{type(self).__name__}({groups})"

    # ------------------------------------------------------------ groups
    def add_param_group(self, group: dict) -> None:
        """Add a dict with ``"params"`` and optional hyperparameters (others from ``defaults``)."""
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' entry")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            self._check_param(p)
            if id(p) in seen:
                raise ValueError(f"{name}: a parameter of shape {p.shape} appears in more than one group")
            seen.add(id(p))
        if not params:
            raise ValueError(f"{name} got a parameter group with no parameters")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"{name}: unknown hyperparameters {sorted(unknown)}")
        full = {**self.defaults, **group, "params": params}
        self._check_group(full)
        self.param_groups.append(full)

    def _check_param(self, p) -> None:
        name = type(self).__name__
        if not isinstance(p, Tensor):
            raise TypeError(f"{name} can only optimize tensors, got {type(p).__name__}")
        if not p.requires_grad:
            raise ValueError(f"{name}: a tensor of shape {p.shape} does not require grad")
        if not p.is_leaf:
            raise ValueError(f"{name} cannot optimize a non-leaf tensor of shape {p.shape}")

    def _check_group(self, group: dict) -> None:
        """Validate a group's hyperparameters; subclasses add their own rules."""
        name = type(self).__name__
        for key, (low, high, high_included) in _RANGES.items():
            if key in group:
                check_range(name, key, group[key], low, high, high_included)
        if "betas" in group:
            betas = group["betas"]
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
            for i, beta in enumerate(betas):
                check_range(name, f"betas[{i}]", beta, 0.0, 1.0, False)

    # ------------------------------------------------------------ stepping
    def zero_grad(self) -> None:
        """Drop every parameter's gradient (``p.grad = None``), as PyTorch's default."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given.

        ``closure`` re-evaluates the loss (and its gradients) before the update.
        """
        loss = closure() if closure is not None else None
        slots, update = self._slots, self._update
        for group in self.param_groups:
            hyper = self._hyper(group)
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                x, g = p.data, grad.data
                slot = slots.get(p)
                if slot is None or slot.x is not x:  # first step, or p.data was replaced (moved)
                    slot = self._make_slot(p)
                if g.shape != x.shape:  # in-place updates would broadcast it silently
                    raise ValueError(f"{type(self).__name__}.step: gradient of shape {g.shape} "
                                     f"for a parameter of shape {x.shape}")
                update(x, g, slot, hyper)
        return loss

    def _make_slot(self, p) -> _Slot:
        """``p``'s slot: its state placed next to ``p.data``, its array module and work arrays."""
        x = p.data
        state = self.state.setdefault(p, {})
        for key, value in state.items():
            if backend.device_of(value) is not None and value.shape != x.shape:
                raise ValueError(f"{type(self).__name__}: state {key!r} of shape {value.shape} "
                                 f"does not fit a parameter now of shape {x.shape}")
            state[key] = _placed(value, x)
        work = (self._work(x, 0), self._work(x, 1)) if self._full_work else None
        slot = self._slots[p] = _Slot(x, state, xp_of(x), work)
        return slot

    def _work(self, x, i: int):
        """Work array ``i`` shaped like ``x``: a view of scratch buffer ``i``, sized at once for
        the largest parameter so that it is allocated once and steps allocate nothing."""
        largest = max(p.size for g in self.param_groups for p in g["params"])
        return self._scratch(x, max(largest, x.size), i)[: x.size].reshape(x.shape)

    def _scratch(self, x, size: int, i: int):
        """Flat scratch buffer ``i`` of at least ``size`` elements of ``x``'s array type and
        dtype, shared by all parameters (for updates done piece by piece)."""
        key = (type(x), x.dtype, i)
        buf = self._work_bufs.get(key)
        if buf is None or buf.size < size:
            buf = self._work_bufs[key] = xp_of(x).empty(size, dtype=x.dtype)
        return buf

    @staticmethod
    def _buffer(state: dict, name: str, x, fill: float = 0.0):
        """``state[name]``, first made as an array like ``x`` filled with ``fill``."""
        buf = state.get(name)
        if buf is None:
            buf = state[name] = xp_of(x).full(x.shape, fill, dtype=x.dtype)
        return buf

    def _hyper(self, group: dict) -> tuple:
        """The group's hyperparameters as Python numbers, read once per group and step."""
        raise NotImplementedError(f"{type(self).__name__}._hyper")

    def _update(self, x, g, slot: _Slot, hyper: tuple) -> None:
        raise NotImplementedError(f"{type(self).__name__}._update")

    # ------------------------------------------------------------ saving
    def state_dict(self) -> dict:
        """``{"state": {index: {name: host NumPy copy or number}}, "param_groups": [...]}``.

        Parameters are numbered in group order; groups list their indices under
        ``"params"``. The arrays are copies, so training on does not change them.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[p] = len(index)
                ids.append(index[p])
            groups.append({**group, "params": ids})
        state = {index[p]: {k: backend.to_numpy(v).copy() if backend.device_of(v) else v
                            for k, v in s.items()}
                 for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by ``state_dict`` (from any device).

        The state is copied onto each parameter's device and dtype. Nothing changes
        if the saved layout does not fit this optimizer (ValueError).
        """
        name = type(self).__name__
        saved = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in self.param_groups]
        if [len(g["params"]) for g in saved] != sizes:
            raise ValueError(f"{name}.load_state_dict: saved groups hold "
                             f"{[len(g['params']) for g in saved]} parameters, this optimizer {sizes}")
        groups = []
        for group, saved_group in zip(self.param_groups, saved):
            if set(saved_group) != set(group):
                raise ValueError(f"{name}.load_state_dict: saved hyperparameters {sorted(saved_group)} "
                                 f"are not this optimizer's {sorted(group)}")
            groups.append({**saved_group, "params": group["params"]})
            self._check_group(groups[-1])
        params = [p for g in self.param_groups for p in g["params"]]
        state = {}
        for i, entries in state_dict["state"].items():
            p = params[int(i)]
            for k, v in entries.items():
                if backend.device_of(v) is not None and tuple(v.shape) != tuple(p.shape):
                    raise ValueError(f"{name}.load_state_dict: state {k!r} has shape {tuple(v.shape)}, "
                                     f"parameter {i} has shape {p.shape}")
            state[p] = {k: _placed(v, p.data, copy=True) for k, v in entries.items()}
        self.state, self._slots = state, {}
        for group, new in zip(self.param_groups, groups):
            group.clear()
            group.update(new)
