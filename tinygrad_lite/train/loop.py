"""The training loop: epochs of mini-batch updates, evaluation, checkpoints, early stopping.

Each iteration is the lecture's loop: sample a batch, forward it, compute the loss
``L = L_data + lambda * R(W)``, backpropagate, update. The data loss and the
regularization loss are recorded apart (the data loss alone is what ``ln C`` predicts).

Progress bars redraw one line with carriage returns. A terminal or a notebook (``tqdm.auto``
picks its widget there) shows that as one moving bar; a log file or a pipe would get every
frame, so there ``fit`` draws no bar and prints one line per epoch.
"""
from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable

import numpy as np  # host-side checks of the data only
from tqdm.auto import tqdm

from .. import backend
from ..checks import check_choice, check_int, check_real
from ..optim.lr_scheduler import ReduceLROnPlateau
from ..tensor import Tensor
from .callbacks import check_callbacks
from .checkpoint import load_checkpoint, save_checkpoint
from .evaluation import EVAL_BATCH_SIZE, as_loader, count_correct, evaluate, model_device
from .history import History

MONITORS = ("val_acc", "val_loss", "train_acc", "train_loss")
# what _Run.state writes and resume reads: a file without one of them is refused by name
RESUME_KEYS = ("epoch", "model", "optimizer", "scheduler", "rng", "loader", "history", "elapsed")


class NonFiniteLossError(FloatingPointError):
    """The loss (or a gradient) became NaN or infinite; training stopped before the update.

    ``iteration`` (1-based, counted over the whole run), ``epoch``, ``lr``, ``loss`` and the
    ``history`` so far are attributes. The model and optimizer hold the state of the last good
    step: weights, buffers (batch norm's running statistics) and optimizer state.
    """

    def __init__(self, what: str, value: float, iteration: int, epoch: int, lr: float,
                 history: History, weights_finite: bool = True):
        self.loss, self.iteration, self.epoch, self.lr, self.history = value, iteration, epoch, lr, history
        kept = ("the model keeps the weights, buffers and optimizer state of the last good step" if weights_finite
                else "but the weights were already non-finite: the previous update overflowed")
        super().__init__(
            f"{what} is {value} at iteration {iteration} (epoch {epoch}) with learning rate {lr:.3g}; "
            f"training stopped before the update, {kept}. "
            "An exploding or NaN loss usually means the learning rate is too high.")


def current_lr(optimizer) -> float:
    """The learning rate of the optimizer's first parameter group."""
    return float(optimizer.param_groups[0]["lr"])


def bars_wanted(progress: bool | None) -> bool:
    """``progress`` if given, else whether bars display as bars here: in a notebook (the
    widget bar of ``tqdm.auto``) or when standard error is a terminal."""
    if progress is not None:
        return bool(progress)
    if any(c.__name__ == "tqdm_notebook" for c in tqdm.__mro__):
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def _check_fit_args(epochs, reg, patience, monitor, scheduler, needs_monitor, has_val) -> None:
    check_int("fit", "epochs", epochs)
    if reg is not None:
        if not (isinstance(reg, tuple) and len(reg) == 2 and callable(reg[0])):
            raise TypeError(f"fit: reg must be a (penalty_fn, lambda) pair, got {reg!r}")
        check_real("fit", "reg[1] (the regularization strength)", reg[1], 0.0)
    if patience is not None:
        check_int("fit", "patience", patience)
    check_choice("fit", "monitor", monitor, MONITORS)
    if needs_monitor and monitor.startswith("val") and not has_val:
        raise ValueError(f"fit: monitor {monitor!r} (for early stopping, the best checkpoint or "
                         "ReduceLROnPlateau) needs validation data: pass val=(x, y)")
    goal = "max" if monitor.endswith("acc") else "min"
    if _is_plateau(scheduler) and scheduler.mode != goal:
        raise ValueError(f"fit: ReduceLROnPlateau(mode={scheduler.mode!r}) is stepped with {monitor!r}, "
                         f"which is to be {goal}imised; set its mode or fit's monitor to match")


def _check_finite_data(**parts) -> None:
    """Each (x, y) pair of arrays or tensors in ``parts`` (train=, val=) holds finite numbers. A
    NaN or inf in the data turns the loss NaN at the first batch that meets it, which reads as a
    learning rate that is too high; a loader's batches are not read ahead."""
    for part, data in parts.items():
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            continue
        for name, a in zip("xy", data):
            a = a.data if isinstance(a, Tensor) else a
            xp = backend.xp_of(a) if backend.device_of(a) else np
            a = xp.asarray(a)
            # first one float64 sum (no array of flags): every NaN and inf reaches it
            if a.dtype.kind != "f" or math.isfinite(float(a.sum(dtype=np.float64))):
                continue
            bad = ~xp.isfinite(a)
            if not bad.any():  # large finite values whose sum overflowed
                continue
            nan = int(xp.isnan(a).sum())
            first = tuple(int(i) for i in np.unravel_index(int(bad.argmax()), a.shape))
            raise ValueError(f"fit: the {part} data's {name} holds {nan} NaN and {int(bad.sum()) - nan} infinite "
                             f"values (the first at index {first}); clean them before training (a NaN in the "
                             "data makes the loss NaN, which would look like a learning rate that is too high)")


def fit(model, loss_fn: Callable, optimizer, train, epochs: int = 10, batch_size: int = 64, *,
        val=None, scheduler=None, reg: tuple | None = None, device: str | None = None,
        patience: int | None = None, monitor: str = "val_acc", best_path: str | os.PathLike | None = None,
        checkpoint_path: str | os.PathLike | None = None, resume_from: str | os.PathLike | None = None,
        restore_best: bool = False, quiet: bool = False, seed: int | None = None,
        distributed=None, callbacks=(), progress: bool | None = None) -> History:
    """Train ``model`` for ``epochs`` epochs (in all, counting resumed ones); returns the History.

    - ``train``/``val``: (x, y) arrays (batched by a shuffling ``DataLoader`` with ``seed``;
      validation unshuffled) or any loader of (x, y) tensor batches. (x, y) arrays holding NaN
      or inf are refused before training, by a ValueError naming the array.
    - ``reg=(penalty_fn, lam)``: adds ``lam * penalty_fn(model)`` to the loss; recorded
      apart from the data loss.
    - ``scheduler``: stepped once per epoch; ``ReduceLROnPlateau`` gets the ``monitor`` value.
    - ``patience``: stop when ``monitor`` has not improved for that many epochs (accuracies
      are maximised, losses minimised). ``best_path``: checkpoint written at each new best;
      ``restore_best``: load the best weights back at the end.
    - ``checkpoint_path``: full checkpoint (model, optimizer, scheduler, RNG, loader, epoch,
      history) after every epoch; ``resume_from`` continues one exactly.
    - A NaN/inf loss or gradient raises ``NonFiniteLossError`` before the update; the model
      (weights and buffers) and the optimizer keep the state of the last good step. Ctrl-C
      (KeyboardInterrupt) stops and returns the history so far with ``meta["interrupted"]``.
    - ``distributed``: a ``tinygrad_lite.distributed.DataParallel``; every rank of the MPI job
      calls ``fit`` with the same arguments. Rank 0's weights are broadcast, each rank trains
      on its shard of ``train`` (``batch_size`` per rank) with gradients averaged every step,
      metrics are over all ranks, and rank 0 alone prints and writes the checkpoints.
    - ``callbacks``: ``train.Callback``s (e.g. ``GradientNormMonitor``), called after each backward
      pass and after each epoch.
    - ``progress``: a bar per epoch; None: where one displays as a bar (a terminal, a notebook),
      else one line per epoch with no carriage-return frames. ``quiet`` prints nothing at all.
    """
    uses_monitor = bool(patience or best_path or restore_best or _is_plateau(scheduler))
    _check_fit_args(epochs, reg, patience, monitor, scheduler, uses_monitor, val is not None)
    _check_finite_data(train=train, val=val)
    device, dist = device or model_device(model), distributed
    if seed is not None:
        backend.manual_seed(seed if dist is None else dist.rank_seed(seed))
    if dist is None:
        loaders = (as_loader(train, batch_size, True, seed, device),
                   None if val is None else as_loader(val, EVAL_BATCH_SIZE, False, None, device))
    else:  # all ranks start from rank 0's weights, each with its shard of the data
        model, quiet = dist.prepare(model), quiet or not dist.is_root
        loaders = dist.loaders(train, val, batch_size, seed, device, EVAL_BATCH_SIZE)
    run = _Run(model, loss_fn, optimizer, scheduler, reg, loaders, quiet=quiet, monitor=monitor,
               patience=patience, best_path=best_path, checkpoint_path=checkpoint_path, dist=dist)
    run.callbacks, run.bars = check_callbacks(callbacks), not run.quiet and bars_wanted(progress)
    if resume_from is not None:
        run.resume(resume_from)
    try:
        run.loop(epochs)
    except KeyboardInterrupt:
        run.history.meta.update(interrupted=True, stop_reason="interrupted")
        run.say(f"interrupted after {run.history.iterations} iterations; returning the history so far")
    if restore_best and run.best_state is not None:
        model.load_state_dict(run.best_state)
    return run.history


def _all_finite(array) -> bool:
    return bool(backend.xp_of(array).isfinite(array).all())


def _is_plateau(scheduler) -> bool:
    if scheduler is None:
        return False
    return isinstance(scheduler, ReduceLROnPlateau)


class _Run:
    """The state of one call to ``fit`` (split in methods to keep each step readable)."""

    callbacks: tuple = ()
    bars = False

    def __init__(self, model, loss_fn, optimizer, scheduler, reg, loaders, *, quiet, monitor, patience,
                 best_path, checkpoint_path, dist=None):
        self.model, self.loss_fn, self.optimizer, self.scheduler = model, loss_fn, optimizer, scheduler
        self.dist = dist
        self.reg, (self.loader, self.val_loader) = reg, loaders
        self.quiet, self.monitor, self.patience = quiet, monitor, patience
        self.best_path, self.checkpoint_path = best_path, checkpoint_path
        self.history = History(meta={"interrupted": False, "stop_reason": None, "best_value": None,
                                     "best_epoch": None, "bad_epochs": 0})
        self.start_epoch, self.elapsed0, self.best_state = 0, 0.0, None
        self.buffers = list(model.buffers())  # the same tensors all run long (only their .data changes)

    def say(self, text: str) -> None:
        if not self.quiet:
            tqdm.write(text)

    # ------------------------------------------------------------ epochs
    def loop(self, epochs: int) -> None:
        t0 = time.perf_counter() - self.elapsed0
        meta = self.history.meta
        for epoch in range(self.start_epoch + 1, epochs + 1):
            self.model.train()
            train_metrics = self.train_epoch(epoch, epochs)
            val_metrics = self.validate()
            self.history.log_epoch(epoch, train_metrics, val_metrics, current_lr(self.optimizer),
                                   time.perf_counter() - t0)
            self.step_scheduler()
            self.track_best(epoch)
            if self.checkpoint_path is not None:
                self.save(self.checkpoint_path, epoch)
            self.say(_epoch_line(self.history))
            for cb in self.callbacks:
                cb.epoch_end(self.model, self.history)
            if self.patience is not None and meta["bad_epochs"] >= self.patience:
                meta["stop_reason"] = "early_stopping"
                self.say(f"early stopping: {self.monitor} has not improved for {self.patience} epochs "
                         f"(best {meta['best_value']:.4f} at epoch {meta['best_epoch']})")
                return
        meta["stop_reason"] = "completed"

    def train_epoch(self, epoch: int, epochs: int) -> tuple[float, float]:
        n = len(self.loader)
        bar = tqdm(total=n, desc=f"epoch {epoch}/{epochs}", unit="batch", disable=not self.bars, leave=False)
        total = correct = seen = 0.0
        try:
            for i, (xb, yb) in enumerate(self.loader):
                data_loss, scores = self.step(xb, yb, epoch, epoch - 1 + (i + 1) / n)
                total += data_loss * len(yb)
                correct += count_correct(scores, yb)
                seen += len(yb)
                bar.update(1)
                bar.set_postfix(loss=f"{total / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False)
        finally:
            bar.close()
        if not seen:
            raise ValueError(f"fit: the training data gave no batch in epoch {epoch} (an empty "
                             "loader, or drop_last with fewer examples than batch_size)")
        metrics = (total / seen, correct / seen)
        return metrics if self.dist is None else self.dist.combine(metrics, seen)

    def validate(self) -> tuple[float, float] | None:
        if self.dist is not None:  # the ranks' own BatchNorm running statistics, averaged: one model
            self.dist.sync_buffers(self.model)
        if self.val_loader is None:
            return None
        metrics = evaluate(self.model, self.loss_fn, self.val_loader)
        return metrics if self.dist is None else self.dist.combine(metrics, self.val_loader.num_examples)

    def step(self, xb: Tensor, yb: Tensor, epoch: int, position: float) -> tuple[float, Tensor]:
        """One update; returns the data loss and the scores. Nothing is updated when the loss
        or a gradient is not finite: parameters and optimizer state change only in
        ``optimizer.step()``, after both checks, but the forward pass already updated the
        buffers (batch norm's running statistics), so they are copied first (they are small)
        and put back on failure."""
        self.optimizer.zero_grad()
        buffers = [(b, b.data.copy()) for b in self.buffers]
        scores = self.model(xb)
        data_loss = self.loss_fn(scores, yb)
        loss, reg_value = data_loss, 0.0
        if self.reg is not None:
            reg_loss = self.reg[0](self.model) * self.reg[1]
            loss, reg_value = data_loss + reg_loss, float(reg_loss.item())
        data_value, lr = float(data_loss.item()), current_lr(self.optimizer)
        if self.dist is not None:  # every rank joins each allreduce, even with a NaN loss: none waits
            loss.backward()
            data_value, reg_value = self.dist.allreduce_gradients(self.model, (data_value, reg_value))
        self.history.log_iteration(data_value, reg_value, lr, position)
        if not math.isfinite(data_value + reg_value):
            self.fail("the loss", data_value + reg_value, epoch, buffers)
        if self.dist is None:
            loss.backward()
        for p in self.model.parameters():
            if p.grad is not None and not _all_finite(p.grad.data):
                self.fail("a gradient", math.nan, epoch, buffers)
        for cb in self.callbacks:
            cb.after_backward(self.model, position)
        self.optimizer.step()
        return data_value, scores

    def fail(self, what: str, value: float, epoch: int, buffers: list) -> None:
        for b, saved in buffers:
            b.data = saved
        self.optimizer.zero_grad()
        self.history.meta["stop_reason"] = "non_finite"
        # a finite loss and gradient can still overflow in the update (a huge learning rate);
        # undoing that would need a copy of every weight at every step, so it is reported instead
        finite = all(_all_finite(p.data) for p in self.model.parameters())
        raise NonFiniteLossError(what, value, self.history.iterations, epoch,
                                 current_lr(self.optimizer), self.history, weights_finite=finite)

    # ------------------------------------------------------------ bookkeeping
    def step_scheduler(self) -> None:
        if self.scheduler is None:
            return
        if _is_plateau(self.scheduler):
            self.scheduler.step(getattr(self.history, self.monitor)[-1])
        else:
            self.scheduler.step()

    def track_best(self, epoch: int) -> None:
        meta = self.history.meta
        value = getattr(self.history, self.monitor)[-1]
        if value is None:
            return
        best = meta["best_value"]
        if best is None or (value > best if self.monitor.endswith("acc") else value < best):
            meta.update(best_value=value, best_epoch=epoch, bad_epochs=0)
            self.best_state = self.model.state_dict()
            if self.best_path is not None:
                self.save(self.best_path, epoch)
        else:
            meta["bad_epochs"] += 1

    def state(self, epoch: int) -> dict:
        """Everything needed to continue exactly: weights, optimizer, schedule, RNG, data order."""
        return {
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "rng": backend.get_rng_state() if self.dist is None else self.dist.gather_rng_state(),
            "loader": self.loader.state_dict() if hasattr(self.loader, "state_dict") else None,
            "history": self.history.to_dict(),
            "elapsed": self.history.time[-1] if self.history.time else 0.0,
        }

    def save(self, path: str | os.PathLike, epoch: int) -> None:
        state = self.state(epoch)  # on every rank: it gathers the ranks' random states
        if self.dist is None or self.dist.is_root:
            save_checkpoint(path, state)

    def resume(self, path: str | os.PathLike) -> None:
        state = load_checkpoint(path, require=RESUME_KEYS)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if (state["scheduler"] is None) != (self.scheduler is None):
            raise ValueError(f"fit: the checkpoint {os.fspath(path)!r} was saved "
                             f"{'without' if state['scheduler'] is None else 'with'} a scheduler; pass "
                             "the same kind of scheduler to resume it")
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if state["loader"] is not None:
            self.loader.load_state_dict(state["loader"])
        rng = state["rng"]
        if self.dist is not None:
            rng = self.dist.own_rng_state(rng, os.fspath(path))
        elif "ranks" in rng:
            raise ValueError(f"fit: the checkpoint {os.fspath(path)!r} was written by a run on "
                             f"{rng['world_size']} ranks; resume it with distributed=DataParallel() "
                             "on as many")
        backend.set_rng_state(rng)
        self.history = History.from_dict(state["history"])
        self.history.meta.update(interrupted=False, stop_reason=None)
        self.start_epoch, self.elapsed0 = int(state["epoch"]), float(state["elapsed"])
        if self.best_path is not None and os.path.exists(self.best_path):
            self.best_state = load_checkpoint(self.best_path, require=("model",))["model"]
        self.say(f"resumed from {os.fspath(path)} at epoch {self.start_epoch}")


def _epoch_line(h: History) -> str:
    line = (f"epoch {h.epoch[-1]}: train loss {h.train_loss[-1]:.4f} acc {h.train_acc[-1]:.4f}")
    if h.val_loss[-1] is not None:
        line += f" | val loss {h.val_loss[-1]:.4f} acc {h.val_acc[-1]:.4f}"
    return line + f" | lr {h.lr[-1]:.3g} | {h.time[-1]:.1f}s"
