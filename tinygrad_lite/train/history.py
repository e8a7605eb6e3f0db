"""Training history: what the lecture says to monitor, saved as plain JSON.

Per iteration: the data loss, the regularization loss (lambda * R(W), kept apart so that
the data loss can be compared with ln C) and the learning rate, with each iteration's
position in epochs (plots are "in units of epochs"). Per epoch: train/validation loss and
accuracy, the learning rate used and the wall time since the start of training.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..files import decode_float, encode_float, read_json, write_json

_LISTS = ("iter_loss", "iter_reg", "iter_lr", "iter_epoch", "epoch", "train_loss", "train_acc",
          "val_loss", "val_acc", "lr", "time")


@dataclass
class History:
    """Everything ``fit`` records. ``meta`` holds the run's flags (``interrupted``,
    ``stop_reason``, early-stopping state ``best_value``/``best_epoch``/``bad_epochs``).
    Validation entries are None when there was no validation data."""

    iter_loss: list = field(default_factory=list)
    iter_reg: list = field(default_factory=list)
    iter_lr: list = field(default_factory=list)
    iter_epoch: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    time: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def iterations(self) -> int:
        """The number of recorded iterations (updates)."""
        return len(self.iter_loss)

    @property
    def epochs(self) -> int:
        """The number of finished epochs."""
        return len(self.epoch)

    @property
    def interrupted(self) -> bool:
        """Whether the run was stopped by Ctrl-C (``meta["interrupted"]``)."""
        return bool(self.meta.get("interrupted", False))

    def log_iteration(self, data_loss: float, reg_loss: float, lr: float, position: float) -> None:
        """Record one update: its data loss, regularization loss, lr and position in epochs."""
        self.iter_loss.append(float(data_loss))
        self.iter_reg.append(float(reg_loss))
        self.iter_lr.append(float(lr))
        self.iter_epoch.append(float(position))

    def log_epoch(self, epoch: int, train: tuple, val: tuple | None, lr: float, time: float) -> None:
        """Record one finished epoch; ``train`` and ``val`` are (loss, accuracy) pairs."""
        val = val if val is not None else (None, None)
        self.epoch.append(int(epoch))
        self.train_loss.append(_opt_float(train[0]))
        self.train_acc.append(_opt_float(train[1]))
        self.val_loss.append(_opt_float(val[0]))
        self.val_acc.append(_opt_float(val[1]))
        self.lr.append(float(lr))
        self.time.append(float(time))

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """A strict-JSON-safe dict: NaN and infinities become the strings "nan", "inf", "-inf"."""
        out = asdict(self)
        for name in _LISTS:
            out[name] = [encode_float(v) for v in out[name]]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """The History a ``to_dict()`` describes; unknown fields are refused by name."""
        unknown = set(data) - set(_LISTS) - {"meta"}
        if unknown:
            raise ValueError(f"History.from_dict: unknown fields {sorted(unknown)}")
        kwargs = {name: [decode_float(v, f"History.{name}") for v in data.get(name, [])] for name in _LISTS}
        return cls(**kwargs, meta=dict(data.get("meta", {})))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the history as strict JSON (no NaN tokens), atomically; returns the path."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        """Read a History written by ``save``."""
        return cls.from_dict(read_json(path))


def _opt_float(v):
    return None if v is None else float(v)


