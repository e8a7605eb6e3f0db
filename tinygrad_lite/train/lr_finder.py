"""The learning-rate range test: "find a good learning rate" before training in earnest.

The lecture's advice is to try learning rates on a log scale (1e-6 to 1e-1 ...) and watch
the loss: too low and it barely moves, too high and it explodes. ``lr_find`` does that in one
short run (Smith, "Cyclical Learning Rates", 2017): it raises the lr exponentially from
``start_lr`` to ``end_lr`` over ``num_steps`` mini-batch updates, records the loss of each
batch, and stops early once the loss has blown up. Afterwards the model, the optimizer, the
random generators and the loader are put back exactly as they were, so the test leaves
nothing behind.

    result = lr_find(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                     (x_train, y_train))
    result.plot("lr_find.png")      # loss against lr, log x
    opt.param_groups[0]["lr"] = result.suggestion

**The suggestion** is the lr where the smoothed loss falls fastest against ``log(lr)``
(its slope measured across the smoothing window), searched up to the smoothed loss's minimum. Why not the minimum itself: the loss is lowest
just before it blows up, so that lr sits at the edge of divergence, and a run with it
throughout (not a few steps of it at the end of a sweep) diverges or oscillates. Where the
descent is steepest the lr is already large enough to make fast progress and still a safe
distance (typically about a decade) below that edge. The other common rule of thumb, a tenth
of the lr at the minimum, is there too (``lr_min / 10``); the two usually agree within a
factor of a few. Both are starting points for a proper search (``tinygrad_lite.hparam``).

The smoothing is a centred moving average (``smooth`` steps), not the exponential average
often used for this: an exponential average lags, which shifts the curve, and so the
suggestion, to larger lrs by ``smooth`` steps' worth of the sweep.
"""
from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np  # host-side curve analysis

from .. import autograd, backend
from ..checks import check_int, check_real
from ..optim.optimizer import Optimizer
from .evaluation import as_loader, model_device
from .plots import axes_geometry, new_figure, save_png


@dataclass
class LRFindResult:
    """What :func:`lr_find` measured: ``lrs[k]`` and the loss of the batch stepped with it,
    ``losses[k]`` (raw) and ``smoothed[k]`` (centred moving average); ``suggestion`` (None when
    the loss never went down), ``lr_min`` (the lr at the smoothed minimum); ``diverged`` when
    the sweep stopped early because the loss blew up."""

    lrs: list
    losses: list
    smoothed: list
    suggestion: float | None
    lr_min: float | None
    diverged: bool
    message: str

    def plot(self, path: str | os.PathLike) -> Path:
        """Write a PNG of loss against lr (log x): raw and smoothed, the suggestion marked."""
        fig = new_figure(7, 4.5)
        ax = fig.add_subplot(1, 1, 1)
        lrs, raw, smooth = (np.asarray(v, dtype=np.float64) for v in (self.lrs, self.losses, self.smoothed))
        ax.plot(lrs, raw, lw=0.7, alpha=0.4, color="C0", label="loss per batch")
        ax.plot(lrs, smooth, lw=1.8, color="C0", label="smoothed")
        if self.suggestion is not None:
            ax.axvline(self.suggestion, color="C3", ls="--", lw=1.2,
                       label=f"suggestion {self.suggestion:.2g} (steepest descent)")
        if self.lr_min is not None:
            ax.axvline(self.lr_min / 10, color="C2", ls=":", lw=1.2, label=f"lr at minimum / 10 = {self.lr_min / 10:.2g}")
        ax.set_xscale("log")
        finite = smooth[np.isfinite(smooth)]
        if finite.size:  # the blow-up at the end would squash the interesting part
            low, high = float(finite.min()), float(max(finite[0], finite.min()))
            pad = 0.1 * (high - low) or 0.1 * abs(high) or 1.0
            ax.set_ylim(low - pad, high + 3 * pad)
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("loss")
        ax.set_title("learning-rate range test" + (" (stopped: the loss blew up)" if self.diverged else ""))
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small")
        fig.tight_layout()
        data = {"kind": "lr_find", "lrs": list(self.lrs), "losses": list(self.losses),
                "suggestion": self.suggestion, "lr_min": self.lr_min, "axes": axes_geometry(fig, {"loss": ax})}
        return save_png(fig, path, data)


def lr_find(model, loss_fn: Callable, optimizer, data, *, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_steps: int = 200, batch_size: int = 64, smooth: int | None = None, diverge_factor: float = 4.0,
            seed: int | None = None, device: str | None = None) -> LRFindResult:
    """Sweep the lr from ``start_lr`` to ``end_lr`` exponentially over ``num_steps`` updates
    (``lr_k = start_lr * (end_lr / start_lr) ** (k / (num_steps - 1))``, every parameter group
    alike) and record each batch's loss; returns an :class:`LRFindResult`.

    - ``optimizer``: an ``optim.Optimizer`` on the model's parameters (its state, e.g. momentum,
      is used and restored afterwards), or a factory called as ``optimizer(params, lr=start_lr)``
      (an optimizer class such as ``optim.Adam``, or ``functools.partial(optim.SGD, momentum=0.9)``).
    - ``data``: an (x, y) pair (shuffled batches of ``batch_size``, ``seed`` as ``fit``'s) or any
      loader of (x, y) batches, started again when it runs out.
    - The sweep stops early when the loss is not finite or its running average exceeds
      ``diverge_factor`` x the lowest so far.
    - ``smooth``: the moving-average window in steps (default: a tenth of the steps, at least 3;
      made odd).

    The model's parameters and buffers (in place: arrays held elsewhere stay valid), its
    train/eval modes, the gradients, the optimizer's state and learning rates, the random
    generators and the loader's position are restored afterwards, also after an error.
    See the module docstring for how the suggestion is chosen and why.
    """
    owner = "lr_find"
    start_lr = check_real(owner, "start_lr", start_lr, 0.0, low_open=True)
    end_lr = check_real(owner, "end_lr", end_lr, start_lr, low_open=True)
    num_steps = check_int(owner, "num_steps", num_steps, 2)
    check_int(owner, "batch_size", batch_size)
    if smooth is not None:
        check_int(owner, "smooth", smooth)
    diverge_factor = check_real(owner, "diverge_factor", diverge_factor, 1.0, low_open=True)
    if not callable(loss_fn):
        raise TypeError(f"{owner}: loss_fn must be a function of (scores, targets), got {type(loss_fn).__name__}")
    params = list(model.parameters())
    if not isinstance(optimizer, Optimizer):
        if not callable(optimizer):
            raise TypeError(f"{owner}: optimizer must be an optim.Optimizer or a factory called as "
                            f"optimizer(params, lr=...), got {type(optimizer).__name__}")
        optimizer = optimizer(params, lr=start_lr)
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{owner}: the optimizer factory returned a {type(optimizer).__name__}, "
                            "not an optim.Optimizer")
    loader = as_loader(data, batch_size, True, seed, device or model_device(model))
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    restore = _snapshot(model, optimizer, loader)
    try:
        losses, diverged = _sweep(model, loss_fn, optimizer, loader, lrs, diverge_factor)
    finally:
        restore()
    return _analyse(lrs, losses, diverged, smooth)


def _sweep(model, loss_fn, optimizer, loader, lrs, diverge_factor: float) -> tuple[list, bool]:
    losses, average, best = [], 0.0, math.inf
    batches = itertools.chain.from_iterable(itertools.repeat(loader))  # epoch after epoch
    model.train()
    for k, lr in enumerate(lrs):
        for group in optimizer.param_groups:
            group["lr"] = float(lr)
        try:
            xb, yb = next(batches)
        except StopIteration:
            raise ValueError("lr_find: the data holds no batches") from None
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        value = float(loss.item())
        if not math.isfinite(value):
            return losses, True
        losses.append(value)
        # bias-corrected running average (0.9): one noisy batch must not stop the sweep
        average = 0.9 * average + 0.1 * value
        smoothed = average / (1 - 0.9 ** (k + 1))
        best = min(best, smoothed)
        if k > 0 and smoothed > diverge_factor * best:
            return losses, True
        loss.backward()
        optimizer.step()
    return losses, False


def _snapshot(model, optimizer, loader) -> Callable[[], None]:
    """Record everything the sweep changes; returns the function that puts it back."""
    tensors = [t for _, t in itertools.chain(model.named_parameters(), model.named_buffers())]
    arrays = [(t, t.data, t.data.copy()) for t in tensors]
    grads = [(p, p.grad) for p in model.parameters()]
    modes = [(m, m.training) for m in model.modules()]
    opt_state, rng = optimizer.state_dict(), backend.get_rng_state()
    loader_state = loader.state_dict() if hasattr(loader, "state_dict") else None

    def restore() -> None:
        for t, array, saved in arrays:
            array[...] = saved  # in place: the same array objects, the same values
            if t.data is not array:  # a buffer replaced during the sweep (batch norm's statistics)
                t.set_(array)
        autograd.mark_written(*(array for _, array, _ in arrays))  # as an optimizer step does
        for p, grad in grads:
            p.grad = grad
        for m, training in modes:  # as nn.eval_mode does: each module's own mode, mixed ones too
            object.__setattr__(m, "training", training)
        optimizer.load_state_dict(opt_state)
        backend.set_rng_state(rng)
        if loader_state is not None:
            loader.load_state_dict(loader_state)

    return restore


def _centred_average(values: np.ndarray, window: int) -> np.ndarray:
    """``s_i = mean(v[i - h .. i + h])`` with ``h = window // 2``, fewer values at the ends."""
    h = window // 2
    c = np.concatenate([[0.0], np.cumsum(values)])
    i = np.arange(values.size)
    lo, hi = np.maximum(i - h, 0), np.minimum(i + h + 1, values.size)
    return (c[hi] - c[lo]) / (hi - lo)


def _analyse(swept: np.ndarray, losses: list, diverged: bool, smooth: int | None) -> LRFindResult:
    raw = np.asarray(losses, dtype=np.float64)
    n = raw.size
    lrs = swept[:n]
    h = (smooth or max(3, n // 10)) // 2
    smoothed = _centred_average(raw, 2 * h + 1) if n else raw
    suggestion = lr_min = None
    if n:
        i_min = int(np.argmin(smoothed))
        lr_min = float(lrs[i_min])
    if n > 2 * h and i_min >= h:
        # the slope across the window, s[i + h] - s[i - h] over the same span of log lr: with
        # neighbours only, the batch-to-batch noise left in s would pick the steepest point
        log_lr = np.log10(lrs)
        slope = (smoothed[2 * h:] - smoothed[: n - 2 * h]) / (log_lr[2 * h:] - log_lr[: n - 2 * h])
        j = int(np.argmin(slope[: i_min - h + 1]))  # slope[j] is at step j + h
        if slope[j] < 0:
            suggestion = float(lrs[j + h])
    stop = f"; stopped at lr {swept[min(n, swept.size - 1)]:.2g}, where the loss blew up" if diverged else ""
    if suggestion is None:
        message = (f"the loss did not go down between lr {swept[0]:.2g} and {swept[max(n - 1, 0)]:.2g}"
                   f"{stop}: no suggestion; widen the range (end_lr) or check the model and loss")
    else:
        message = (f"suggested lr {suggestion:.2g} (steepest descent of the smoothed loss); the smoothed "
                   f"loss is lowest at lr {lr_min:.2g} (a tenth of it: {lr_min / 10:.2g}){stop}")
    return LRFindResult([float(v) for v in lrs], [float(v) for v in raw], [float(v) for v in smoothed],
                        suggestion, lr_min, diverged, message)
