"""Hyperparameter search, as the lecture runs it.

    space = {"lr": LogUniform(1e-6, 1e-3), "reg": LogUniform(1e-5, 1e5)}
    coarse = random_search(objective, space, n_trials=100, n_jobs=2)
    # val_acc: 0.412000, lr: 1.405206e-04, reg: 4.793564e-01, (1 / 100)  ... one line per trial
    fine = random_search(objective, narrow(space, coarse), n_trials=100, seed=1)

``objective(params, seed)`` trains with ``params`` and returns the validation score (or a dict of
metrics with "val_acc"). It needs no part of the library: any picklable callable will do.
"""
from .result import SearchResult, Trial, format_trial
from .search import grid_points, grid_search, random_search, run_trials, trial_streams
from .spaces import Choice, LogUniform, Space, Uniform
from .stages import border_warnings, narrow, widen

__all__ = [
    "Choice",
    "LogUniform",
    "SearchResult",
    "Space",
    "Trial",
    "Uniform",
    "border_warnings",
    "format_trial",
    "grid_points",
    "grid_search",
    "narrow",
    "random_search",
    "run_trials",
    "trial_streams",
    "widen",
]
