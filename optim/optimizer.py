"""The Optimizer base class: parameter groups, lazy per-parameter state, state_dict.

An optimizer holds ``param_groups``, a list of dicts each with its own ``"params"``
and hyperparameters (e.g. a group of biases with ``weight_decay=0``), and ``state``,
a dict from parameter to that parameter's buffers. Buffers are created on the first
``step()`` that sees a gradient, with the parameter's array module, so they live on
the parameter's device; if the parameter later moves (its ``.data`` replaced by an
array on another device or of another dtype), its state follows on the next step.

``step()`` calls a subclass's ``_update(x, g, state, group)`` once per parameter with
a gradient, which writes the update as its equation reads, with in-place operators
(``v *= rho; v += dx``), hyperparameters read by name from ``group`` and buffers from
``_buffer(state, name, x)``:

- ``x`` is the parameter's array, changed in place: modules and user code hold it,
  so it must stay the same object (and keep its dtype);
- ``g`` is the gradient's array, read-only: it may alias other arrays;
- a function of arrays comes from the array module ``xp_of(x)``, never ``np.``, so
  that the update runs on any device (the "strict" test device refuses host arrays).

Terms that need an array of their own are written with three helpers, ``_decayed(g,
x, wd)`` for ``g + wd * x``, ``_scaled(a, y, z, over)`` for ``a * y * z / over`` and
``_root(s, c, eps)`` for ``sqrt(s) / c + eps``, as in ``x -= self._scaled(lr, v)``:
each writes into a scratch array kept by the optimizer (one per helper, the size of
the largest parameter), so that a step allocates nothing the size of a parameter.
Plain temporaries (``x -= lr * v``) read the same, but glibc's allocator hands such
large blocks back to the system when they are freed and faults their pages in again
when they are next allocated: run in a process of its own, the MLP benchmark's training
step (benchmarks/README.md) was then about 1.4x slower with SGD momentum, 1.9x with Adam.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from tinygrad_lite import autograd, backend
from tinygrad_lite.backend import xp_of
from tinygrad_lite.checks import check_real
from tinygrad_lite.tensor import Tensor

# checked wherever the name appears in a group: numbers >= 0, and numbers in [0, 1)
_NON_NEGATIVE = ("lr", "eps", "weight_decay", "initial_accumulator_value")
_DECAY_RATES = ("momentum", "alpha")


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


class Optimizer:
    """Base class: ``Optimizer(params, defaults)``.

    ``params`` is an iterable of tensors that require grad, or of dicts (parameter
    groups) with a ``"params"`` entry and any per-group hyperparameters; ``defaults``
    fills the hyperparameters a group does not give.
    """

    def __init__(self, params: Iterable, defaults: dict):
        name = type(self).__name__
        if callable(getattr(params, "parameters", None)):  # a Module (optim does not import nn)
            raise TypeError(f"{name}: got the model itself (a {type(params).__name__}); pass its parameters, "
                            f"as in PyTorch: {name}(model.parameters(), ...)")
        if isinstance(params, (Tensor, dict)):
            raise TypeError(f"{name}: params must be an iterable of tensors or of dicts, "
                            f"got a single {type(params).__name__}")
        self.defaults = dict(defaults)
        self._check_group(self.defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}
        self._placed_for: dict = {}  # parameter -> the array (p.data) its state was placed next to
        self._scratch: dict = {}  # (array type, dtype, role) -> flat array, see _scratch_like
        self._views: dict = {}  # (role, shape, dtype, array type) -> view of a scratch array
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
        """Validate a group's hyperparameters, storing the numbers as Python floats (a NumPy
        float64 scalar would promote float32 temporaries); subclasses add their own rules."""
        name = type(self).__name__
        for key in _NON_NEGATIVE:
            if key in group:
                group[key] = check_real(name, key, group[key], 0.0)
        for key in _DECAY_RATES:
            if key in group:
                group[key] = check_real(name, key, group[key], 0.0, 1.0, high_open=True)
        if "betas" in group:
            betas = group["betas"]
            if not isinstance(betas, (tuple, list)):
                raise TypeError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
            if len(betas) != 2:
                raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
            group["betas"] = tuple(check_real(name, f"betas[{i}]", beta, 0.0, 1.0, high_open=True)
                                   for i, beta in enumerate(betas))

    # ------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (``p.grad = None``), PyTorch's default; with
        ``set_to_none=False`` an existing gradient is set to zeros in place instead (then
        ``step`` still updates that parameter, with a zero gradient, as in PyTorch)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.zero_()

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given.

        ``closure`` re-evaluates the loss (and its gradients) before the update.
        """
        loss = closure() if closure is not None else None
        placed_for, written = self._placed_for, []
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                x, g = p.data, grad.data
                if g.shape != x.shape:  # in-place updates would broadcast it silently
                    raise ValueError(f"{type(self).__name__}.step: gradient of shape {g.shape} "
                                     f"for a parameter of shape {x.shape}")
                state = self.state.get(p)
                if state is None or placed_for.get(p) is not x:  # first step, or p.data replaced (moved)
                    state = self._place_state(p, x)
                self._update(x, g, state, group)
                written.append(x)
        # a graph kept from before this step (retain_graph) saved the old values: its backward must refuse
        autograd.mark_written(*written)
        return loss

    def _place_state(self, p, x) -> dict:
        """``p``'s state, its arrays placed next to ``x`` (``p.data``)."""
        state = self.state.setdefault(p, {})
        for key, value in state.items():
            if backend.device_of(value) is not None and value.shape != x.shape:
                raise ValueError(f"{type(self).__name__}: state {key!r} of shape {value.shape} "
                                 f"does not fit a parameter now of shape {x.shape}")
            state[key] = _placed(value, x)
        self._placed_for[p] = x
        return state

    @staticmethod
    def _buffer(state: dict, name: str, x, fill: float = 0.0):
        """``state[name]``, first made as an array like ``x`` filled with ``fill``."""
        buf = state.get(name)
        if buf is None:
            buf = state[name] = xp_of(x).full(x.shape, fill, dtype=x.dtype)
        return buf

    # The three helpers below write the update's temporaries into scratch arrays the
    # optimizer keeps (one per role, each the size of its largest parameter), so that a step
    # allocates nothing the size of a parameter; see the module docstring for why.
    def _decayed(self, g, x, weight_decay: float):
        """``g + weight_decay * x``, the L2-regularised gradient (``g`` itself without decay)."""
        if not weight_decay:
            return g
        dx = xp_of(x).multiply(x, weight_decay, out=self._scratch_like(x, 0))
        dx += g
        return dx

    def _decayed_or_shrunk(self, g, x, lr: float, weight_decay: float, decoupled: bool):
        """``_decayed`` (L2: ``g + wd x``), or with ``decoupled`` (AdamW's form) ``g`` itself
        after shrinking ``x`` in place by ``1 - lr wd``."""
        if not decoupled:
            return self._decayed(g, x, weight_decay)
        if weight_decay:
            x *= 1.0 - lr * weight_decay
        return g

    def _scaled(self, a: float, y, z=None, over=None):
        """``a * y``, times ``z`` and divided by ``over`` where given."""
        out = xp_of(y).multiply(y, a, out=self._scratch_like(y, 1))
        if z is not None:
            out *= z
        if over is not None:
            out /= over
        return out

    def _root(self, s, c: float = 1.0, eps: float = 0.0):
        """``sqrt(s) / c + eps``, the adaptive optimizers' denominator."""
        out = xp_of(s).sqrt(s, out=self._scratch_like(s, 2))
        if c != 1.0:
            out /= c
        out += eps
        return out

    def _scratch_like(self, y, role: int):
        """Scratch array ``role`` shaped like ``y``: a view of one flat array shared by all
        parameters, so valid only until the next use of the same role. The views are kept
        (a view costs more Python work than the update of a small parameter)."""
        key = (role, y.shape, y.dtype, type(y))
        view = self._views.get(key)
        if view is None:
            flat_key = (type(y), y.dtype, role)
            flat = self._scratch.get(flat_key)
            if flat is None or flat.size < y.size:
                flat = self._scratch[flat_key] = xp_of(y).empty(y.size, dtype=y.dtype)
                self._views.clear()  # views of a smaller array would keep it alive
            view = self._views[key] = flat[: y.size].reshape(y.shape)
        return view

    def _update(self, x, g, state: dict, group: dict) -> None:
        """Change parameter array ``x`` in place from its gradient ``g`` (read-only), keeping
        buffers in ``state``, with ``group``'s hyperparameters."""
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
        self.state, self._placed_for = state, {}
        for group, new in zip(self.param_groups, groups):
            group.clear()
            group.update(new)


# ---------------------------------------------------------------- state saved by an older version
# Optimizer state saved before an option existed loads with the option off, as PyTorch's
# optimizers do it in ``__setstate__`` (``group.setdefault("dampening", 0)`` ...).
def with_options(state_dict: dict, added: dict) -> dict:
    """``state_dict`` with each saved group that lacks an option of ``added`` given its value there.

    Only the options a class added later are filled in: any other difference in the saved
    hyperparameters still means another optimizer's state, which ``load_state_dict`` refuses.
    """
    groups = [{**added, **group} if isinstance(group, dict) else group
              for group in state_dict.get("param_groups", [])]
    return {**state_dict, "param_groups": groups}
