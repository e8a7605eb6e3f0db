"""What ``fit`` calls besides its own loop: callbacks, and the choice of progress bars.

Progress bars redraw one line with carriage returns. A terminal or a notebook (``tqdm.auto``
picks its widget there) shows that as one moving bar; a log file or a pipe would get every
frame, so there ``fit`` draws no bar and prints one line per epoch.
"""
from __future__ import annotations

import sys

from tqdm.auto import tqdm


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


def bars_wanted(progress: bool | None) -> bool:
    """``progress`` if given, else whether bars display as bars here: in a notebook (the
    widget bar of ``tqdm.auto``) or when standard error is a terminal."""
    if progress is not None:
        return bool(progress)
    if any(c.__name__ == "tqdm_notebook" for c in tqdm.__mro__):
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())
