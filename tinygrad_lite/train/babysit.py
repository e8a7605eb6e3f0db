"""The lecture's sanity checks ("Babysitting the Learning Process") and its reading of curves.

- ``check_initial_loss``: with small random weights every class is about equally likely,
  so the softmax loss starts at ``-ln(1/C) = ln C`` (2.302 for 10 classes) and the
  multiclass hinge loss at ``C - 1`` (every wrong class is inside the margin of 1).
- ``overfit_small_subset``: a working model and loss drive ~20 examples to 100% training
  accuracy with regularization off.
- ``diagnose``: loss and accuracy curves read the lecture's way.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np  # host-side choice of the subset and window means of the history

from ..autograd import no_grad
from ..checks import check_int
from ..factory import to_numpy
from ..nn.module import eval_mode
from ..tensor import Tensor
from .evaluation import count_correct, evaluate, model_device
from .history import History


class InitialLossWarning(UserWarning):
    """The initial loss is far from what uniform class scores predict."""


@dataclass
class InitialLossCheck:
    """Result of :func:`check_initial_loss`: ``ok`` when ``|measured - expected| <= rtol * expected``."""

    measured: float
    expected: float
    num_classes: int
    ok: bool
    message: str


def expected_initial_loss(loss_fn, num_classes: int) -> float:
    """ln C for softmax cross-entropy; ``margin * (C - 1)`` for a multiclass hinge loss
    (recognised by a name containing "hinge", with its ``margin`` attribute if any)."""
    name = getattr(loss_fn, "__name__", type(loss_fn).__name__).lower()
    if "hinge" in name:
        return float(getattr(loss_fn, "margin", 1.0)) * (num_classes - 1)
    return math.log(num_classes)


def check_initial_loss(model, loss_fn, x, y, expected: float | None = None, rtol: float = 0.1,
                       device: str | None = None) -> InitialLossCheck:
    """Measure the data loss (no regularization) of the untrained ``model`` on (x, y) in eval
    mode and compare it with ``expected`` (default: :func:`expected_initial_loss`).

    Warns with ``InitialLossWarning`` when ``|measured - expected| > rtol * expected``:
    weights that are not small, a wrong loss or mislabelled data show up here first.
    """
    device = device or model_device(model)
    x, y = to_numpy(x), to_numpy(y)
    measured, _ = evaluate(model, loss_fn, (x, y), device=device)
    num_classes = _num_classes(model, x, device)
    if expected is None:
        expected = expected_initial_loss(loss_fn, num_classes)
    ok = abs(measured - expected) <= rtol * expected
    message = (f"initial loss {measured:.4f}, expected {expected:.4f} for {num_classes} classes: "
               + ("OK" if ok else f"off by more than {rtol:.0%}; check the weight scale, loss and labels"))
    if not ok:
        warnings.warn(message, InitialLossWarning, stacklevel=2)
    return InitialLossCheck(measured, expected, num_classes, ok, message)


@dataclass
class OverfitCheck:
    """Result of :func:`overfit_small_subset`: ``reached`` when the training accuracy hit 100%
    after ``iterations`` full-batch updates (``loss`` is the last data loss)."""

    reached: bool
    iterations: int
    train_acc: float
    loss: float
    num_examples: int
    message: str


def overfit_small_subset(model, loss_fn, optimizer, x, y, num_examples: int = 20, max_iters: int = 500,
                         seed: int = 0, device: str | None = None) -> OverfitCheck:
    """Train on ``num_examples`` random examples (full batch, data loss only) until the
    training accuracy, measured in eval mode, is 100% or ``max_iters`` updates are done.

    The optimizer must not apply weight decay: the check is made with regularization off.
    """
    if any(g.get("weight_decay", 0) for g in optimizer.param_groups):
        raise ValueError("overfit_small_subset: the optimizer has weight_decay > 0; "
                         "the check is made with regularization off")
    check_int("overfit_small_subset", "max_iters", max_iters)
    x, y = to_numpy(x), to_numpy(y)
    check_int("overfit_small_subset", "num_examples", num_examples, 1, len(x))
    device = device or model_device(model)
    idx = np.random.default_rng(seed).choice(len(x), num_examples, replace=False)
    xs, ys = Tensor(x[idx], device=device), Tensor(y[idx], device=device)
    acc, value, it = _train_on(model, loss_fn, optimizer, xs, ys, max_iters)
    reached = acc == 1.0
    message = (f"overfit check: {acc:.0%} training accuracy on {num_examples} examples after {it} "
               f"iterations (loss {value:.4f})"
               + ("" if reached else "; 100% not reached: check the model, the loss and the learning rate"))
    return OverfitCheck(reached, it, acc, value, num_examples, message)


def _num_classes(model, x: np.ndarray, device: str) -> int:
    with eval_mode(model), no_grad():  # batch norm cannot normalise a batch of one in training mode
        return int(model(Tensor(x[:1], device=device)).shape[-1])


def _train_on(model, loss_fn, optimizer, xs: Tensor, ys: Tensor, max_iters: int):
    """Full-batch updates until 100% eval-mode accuracy; returns (accuracy, loss, iterations)."""
    acc, value = 0.0, math.nan
    with eval_mode(model):  # used here for its exit: every module gets its mode back
        for it in range(1, max_iters + 1):
            model.train()
            optimizer.zero_grad()
            loss = loss_fn(model(xs), ys)
            value = float(loss.item())
            if not math.isfinite(value):
                return acc, value, it
            loss.backward()
            optimizer.step()
            model.eval()
            with no_grad():
                acc = count_correct(model(xs), ys) / len(ys)
            if acc == 1.0:
                break
    return acc, value, it


# ---------------------------------------------------------------- diagnosis
@dataclass
class Finding:
    """One diagnosis: ``code`` is "lr_too_high", "lr_too_low", "overfitting", "underfitting",
    "train_longer", "ok" or "too_short"; ``message`` says what was seen and what to change."""

    code: str
    message: str


def diagnose(history: History, gap: float = 0.1, target_acc: float = 0.9,
             flat_tol: float = 0.05, explode_factor: float = 1.5) -> list[Finding]:
    """Read the curves as the lecture does.

    - loss NaN/inf, or the mean loss of the last tenth of iterations above
      ``explode_factor`` x that of the first tenth: learning rate too high;
    - loss down by less than ``flat_tol`` (relative) between those windows: learning rate too low;
    - train accuracy - validation accuracy > ``gap``: overfitting, increase regularization;
    - a gap <= ``gap`` with accuracy below ``target_acc``: while the loss is still falling
      (a straight line through the last half of the iterations, carried on for as many
      iterations again, would lower it by more than ``flat_tol`` of its level) the run is
      too short to judge ("train_longer"); once it has levelled off, too little capacity
      ("underfitting").
    """
    losses = np.asarray(history.iter_loss, dtype=np.float64) + np.asarray(history.iter_reg, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size or history.meta.get("stop_reason") == "non_finite":
        k = int(bad[0]) + 1 if bad.size else history.iterations
        lr = history.iter_lr[k - 1] if history.iter_lr else math.nan
        return [Finding("lr_too_high", f"the loss became non-finite ({losses[k - 1] if bad.size else 'nan'}) "
                        f"at iteration {k} with lr {lr:.3g}: the learning rate is too high; lower it "
                        "(e.g. 10x)")]
    if losses.size < 2:
        return [Finding("too_short", f"only {losses.size} iteration(s) recorded: nothing to diagnose")]
    findings = _loss_findings(losses, flat_tol, explode_factor)
    if not any(f.code == "lr_too_high" for f in findings):
        findings += _accuracy_findings(history, gap, target_acc, lr_low=bool(findings),
                                       falling=_still_falling(losses, flat_tol))
    return findings or [Finding("ok", "no problem found: the loss goes down and train and validation "
                                      "accuracy agree at a good level")]


def _loss_findings(losses: np.ndarray, flat_tol: float, explode_factor: float) -> list[Finding]:
    w = max(1, losses.size // 10)
    first, last = float(losses[:w].mean()), float(losses[-w:].mean())
    if last > explode_factor * first:
        return [Finding("lr_too_high", f"the loss grows ({first:.4g} -> {last:.4g}): the learning rate "
                                       "is too high; lower it")]
    if first - last < flat_tol * abs(first):
        return [Finding("lr_too_low", f"the loss is nearly flat ({first:.4g} -> {last:.4g}): the learning "
                                      "rate is too low; raise it")]
    return []


def _still_falling(losses: np.ndarray, flat_tol: float) -> str | None:
    """How the loss still falls, in words, or None once it has levelled off: the least-squares
    line through the last half of the iterations, carried on for as many iterations as the
    whole run, would take it down by more than ``flat_tol`` of its current level. (Comparing
    two short windows misses a slow, steady fall under the batch-to-batch noise.)"""
    half = losses[losses.size // 2:]
    if half.size < 2:
        return None
    slope = float(np.polyfit(np.arange(half.size), half, 1)[0])
    level = float(half[-max(1, half.size // 5):].mean())
    if -slope * losses.size <= flat_tol * abs(level):
        return None
    return (f"the loss is still falling ({half[:max(1, half.size // 5)].mean():.4g} -> {level:.4g} "
            f"over the last {half.size} iterations)")


def _accuracy_findings(history: History, gap: float, target_acc: float, lr_low: bool,
                       falling: str | None) -> list[Finding]:
    if not history.epochs or history.val_acc[-1] is None or history.train_acc[-1] is None:
        return []
    train, val = history.train_acc[-1], history.val_acc[-1]
    if train - val > gap:
        return [Finding("overfitting", f"big gap between train ({train:.1%}) and validation ({val:.1%}) "
                                       "accuracy = overfitting: increase the regularization strength "
                                       "(L2, dropout) or get more data")]
    if max(train, val) < target_acc and not lr_low:
        seen = (f"no gap between train ({train:.1%}) and validation ({val:.1%}) accuracy and both "
                f"below {target_acc:.0%}")
        if falling:
            return [Finding("train_longer", f"{seen}, but {falling}: the run is too short to judge the "
                                            "model; train longer (more epochs) before changing it")]
        return [Finding("underfitting", f"{seen}, and the loss has levelled off: increase the model "
                                        "capacity (more or wider hidden layers)")]
    return []
