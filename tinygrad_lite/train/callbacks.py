"""Callbacks: what ``fit(..., callbacks=[...])`` calls besides its own loop, and the monitors that
record the diagnostics while training (``diagnostics`` computes them, ``plots`` draws them):

    grads = GradientNormMonitor(path="grads.png")        # redrawn after every epoch
    acts = ActivationMonitor(x_val[:256], path="acts.png")
    fit(model, loss_fn, opt, train, val=val, callbacks=[grads, acts])
"""
from __future__ import annotations

import math
import os

import numpy as np  # host-side records

from ..checks import check_int
from .diagnostics import activation_statistics, confusion_matrix, gradient_norms
from .plots import plot_activation_statistics, plot_confusion_matrix, plot_gradient_norms


# ---------------------------------------------------------------- what fit calls
class Callback:
    """What ``fit(..., callbacks=[...])`` calls; subclass it and override what you need.

    ``after_backward(model, position)`` runs after each backward pass, before the update
    (``p.grad`` holds this step's gradients; ``position`` is the step's place in epochs, as in
    ``History.iter_epoch``). ``epoch_end(model, history)`` runs after each epoch's evaluation,
    with the epoch already in ``history``. Call them from a hand-written loop the same way."""

    def after_backward(self, model, position: float) -> None:
        """Called after each backward pass, before the optimizer's step."""

    def epoch_end(self, model, history) -> None:
        """Called after each epoch, once it is logged in ``history``."""


def check_callbacks(callbacks) -> tuple:
    """``callbacks`` as a tuple, each checked to have both hooks (a ``Callback`` has them)."""
    if isinstance(callbacks, Callback) or callbacks is None:
        raise TypeError(f"fit: callbacks must be a list of callbacks, got {callbacks!r}; "
                        "write callbacks=[monitor]")
    out = tuple(callbacks)
    for cb in out:
        if not (callable(getattr(cb, "after_backward", None)) and callable(getattr(cb, "epoch_end", None))):
            raise TypeError(f"fit: callback {cb!r} needs after_backward(model, position) and "
                            "epoch_end(model, history) methods: subclass tinygrad_lite.train.Callback")
    return out


# ---------------------------------------------------------------- the diagnostics, recorded while training
class ConfusionMatrixMonitor(Callback):
    """A ``fit`` callback: the confusion matrix on ``data`` after every ``every`` epochs
    (``matrices`` and ``epochs``), drawn to ``path`` each time when one is given."""

    def __init__(self, data, every: int = 1, path: str | os.PathLike | None = None,
                 class_names: list | None = None):
        self.data, self.path, self.class_names = data, path, class_names
        self.every = check_int("ConfusionMatrixMonitor", "every", every)
        self.matrices: list[np.ndarray] = []
        self.epochs: list[int] = []

    def epoch_end(self, model, history) -> None:
        """Compute the matrix (every ``every`` epochs) and redraw the figure."""
        epoch = history.epoch[-1]
        if epoch % self.every:
            return
        self.matrices.append(confusion_matrix(model, self.data))
        self.epochs.append(epoch)
        if self.path is not None:
            plot_confusion_matrix(self, self.path, class_names=self.class_names)


class GradientNormMonitor(Callback):
    """A ``fit`` callback: each layer's gradient norm (``gradient_norms(model, which)``) after
    every ``every``-th backward pass: ``positions`` (in epochs) and ``norms`` (name -> list).
    Nielsen's view of how fast each layer learns; earlier layers far below later ones are
    vanishing gradients. Drawn to ``path`` after every epoch when one is given."""

    def __init__(self, which: str = "weight", every: int = 1, path: str | os.PathLike | None = None):
        self.which, self.path = which, path
        self.every = check_int("GradientNormMonitor", "every", every)
        self.positions: list[float] = []
        self.norms: dict[str, list[float]] = {}
        self._calls = 0

    def after_backward(self, model, position: float) -> None:
        """Record the norms (every ``every`` calls)."""
        self._calls += 1
        if (self._calls - 1) % self.every:
            return
        norms = gradient_norms(model, self.which)
        for name in self.norms:  # a layer without a gradient this time
            norms.setdefault(name, math.nan)
        for name in norms:  # a layer seen for the first time (in the model's order)
            self.norms.setdefault(name, [math.nan] * len(self.positions))
        for name, value in norms.items():
            self.norms[name].append(value)
        self.positions.append(float(position))

    def epoch_end(self, model, history) -> None:
        """Redraw the figure when a ``path`` was given."""
        if self.path is not None and self.positions:
            plot_gradient_norms(self, self.path)


class ActivationMonitor(Callback):
    """A ``fit`` callback: ``activation_statistics(model, x, layers)`` on the fixed batch
    ``x`` after every ``every`` epochs (``history``: a list of per-epoch dicts, ``epochs``);
    drawn to ``path`` each time when one is given."""

    def __init__(self, x, layers=None, every: int = 1, path: str | os.PathLike | None = None):
        self.x, self.layers, self.path = x, layers, path
        self.every = check_int("ActivationMonitor", "every", every)
        self.history: list[dict] = []
        self.epochs: list[int] = []

    def epoch_end(self, model, history) -> None:
        """Measure (every ``every`` epochs) and redraw the figure."""
        epoch = history.epoch[-1]
        if epoch % self.every:
            return
        self.history.append(activation_statistics(model, self.x, self.layers))
        self.epochs.append(epoch)
        if self.path is not None:
            plot_activation_statistics(self, self.path)
