"""Random and grid search, run serially or on any concurrent.futures executor.

A trial is ``objective(params: dict, seed: int)`` returning a score, or a dict of metrics that
holds the score under ``metric`` (default "val_acc"). Trial i's hyperparameters and seed come
from ``np.random.SeedSequence(seed).spawn(n)[i]`` alone, so a search gives the same trials
whatever executor runs it and in whatever order the trials finish.
"""
from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

from ..checks import check_int
from .result import SearchResult, Trial, _plain, format_trial
from .spaces import Choice, check_space
from .stages import border_warnings

__all__ = ["grid_points", "grid_search", "random_search", "run_trials", "trial_streams"]


def trial_streams(seed: int, n: int) -> list[tuple[np.random.Generator, int]]:
    """For each trial i: a Generator for its hyperparameters and a 32-bit seed for the objective,
    both spawned from ``SeedSequence(seed).spawn(n)[i]`` (trial i does not depend on n)."""
    seed = check_int("trial_streams", "seed", seed, 0)
    out = []
    for child in np.random.SeedSequence(seed).spawn(n):
        params_seq, objective_seq = child.spawn(2)
        out.append((np.random.default_rng(params_seq), int(objective_seq.generate_state(1)[0])))
    return out


def _parse(raw: Any, metric: str, index: int) -> tuple[float, dict]:
    """(score, metrics) from what the objective returned."""
    if isinstance(raw, dict):
        if metric not in raw:
            raise ValueError(f"objective: trial {index} returned a dict without the metric "
                             f"{metric!r} (keys: {sorted(raw)})")
        metrics = {k: _plain(v) for k, v in raw.items()}
        raw = raw[metric]
    else:
        metrics = None
    try:
        score = float(raw)
    except (TypeError, ValueError):
        raise TypeError(f"objective: trial {index} returned {raw!r}; expected a number or a dict "
                        f"with a number under {metric!r}") from None
    return score, metrics if metrics is not None else {metric: score}


def _execute(objective: Callable, jobs: list, executor: Executor | None, n_jobs: int,
             on_done: Callable[[int, Any], None]) -> None:
    """Run objective(params, seed) for each job, calling on_done(index, value) as each ends."""
    if executor is None and n_jobs == 1:
        for i, (params, seed) in enumerate(jobs):
            on_done(i, objective(dict(params), seed))
        return
    own = executor is None
    pool = ProcessPoolExecutor(max_workers=n_jobs) if own else executor
    try:
        futures = {pool.submit(objective, dict(p), s): i for i, (p, s) in enumerate(jobs)}
        try:
            for fut in as_completed(futures):
                on_done(futures[fut], fut.result())
        finally:
            # A failed trial stops the search: drop the trials that have not started.
            for fut in futures:
                fut.cancel()
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def run_trials(objective: Callable, params_list: list, space: dict, seed: int = 0, *,
               executor: Executor | None = None, n_jobs: int = 1, maximize: bool = True,
               metric: str = "val_acc", progress: Callable[[str], Any] | None = None,
               quiet: bool = False, border_frac: float = 0.1) -> SearchResult:
    """Evaluate ``objective(params_list[i], seed_i)`` for every i and collect a SearchResult.

    seed_i comes from :func:`trial_streams`. Trials run serially (``n_jobs=1``), on
    ``executor`` if given, or on a local process pool of ``n_jobs`` workers (-1: one per CPU);
    a process pool needs a picklable, module-level objective. Unless ``quiet``, each trial's
    lecture-style line goes to ``progress`` (default ``print``) as it finishes, then the best
    trial and any border warnings (:func:`border_warnings` with ``frac=border_frac``).
    """
    fn = "run_trials"
    if not callable(objective):
        raise TypeError(f"{fn}: objective must be callable, got {type(objective).__name__}")
    check_space(space, fn)
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"{fn}: executor must be a concurrent.futures.Executor, got {executor!r}")
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    n_jobs = check_int(fn, "n_jobs (or -1)", n_jobs, 1)
    if executor is not None and n_jobs != 1:
        raise ValueError(f"{fn}: give either an executor or n_jobs > 1, not both")
    if progress is not None and not callable(progress):
        raise TypeError(f"{fn}: progress must be callable, got {progress!r}")
    say = None if quiet else (progress or print)
    n = len(params_list)
    seeds = [s for _, s in trial_streams(seed, n)]
    trials: list[Trial | None] = [None] * n

    def on_done(i: int, raw: Any) -> None:
        score, metrics = _parse(raw, metric, i)
        trials[i] = Trial(index=i, params=dict(params_list[i]), score=score, metrics=metrics,
                          seed=seeds[i])
        if say:
            say(format_trial(trials[i], n, metric))

    _execute(objective, list(zip(params_list, seeds)), executor, n_jobs, on_done)
    result = SearchResult(trials, dict(space), metric, bool(maximize))
    if say and any(not math.isnan(t.score) for t in trials):
        say("best: " + format_trial(result.best, n, metric))
        for msg in border_warnings(space, result, frac=border_frac):
            say(msg)
    return result


def random_search(objective: Callable, space: dict, n_trials: int, seed: int = 0,
                  **kwargs: Any) -> SearchResult:
    """The lecture's random search: trial i draws every hyperparameter independently from its
    space (e.g. lr = 10**uniform(-6, -3) via LogUniform(1e-6, 1e-3)) with its own generator.

    Keyword arguments (executor, n_jobs, maximize, metric, progress, quiet, border_frac) are
    those of :func:`run_trials`.
    """
    check_space(space, "random_search")
    n_trials = check_int("random_search", "n_trials", n_trials, 1)
    params_list = [{name: s.sample(rng) for name, s in space.items()}
                   for rng, _ in trial_streams(seed, n_trials)]
    return run_trials(objective, params_list, space, seed, **kwargs)


def _points_for_budget(space: dict, n_trials: int) -> int:
    """The largest k with k**(numeric dims) * prod(len(options)) <= n_trials."""
    cats = math.prod(len(s.options) for s in space.values() if isinstance(s, Choice))
    dims = sum(not isinstance(s, Choice) for s in space.values())
    if cats > n_trials:
        raise ValueError(f"grid_search: n_trials={n_trials} is less than one grid over the "
                         f"categorical options ({cats} points)")
    if dims == 0:
        return 1
    k = max(1, int((n_trials / cats) ** (1 / dims)))
    while (k + 1) ** dims * cats <= n_trials:  # guard the float root on both sides
        k += 1
    while k > 1 and k ** dims * cats > n_trials:
        k -= 1
    return k


def grid_points(space: dict, points_per_dim: int | None = None,
                n_trials: int | None = None) -> list[dict]:
    """The full grid: ``space[name].grid(k)`` for every numeric hyperparameter (log-spaced for
    LogUniform) times every option of each Choice, in ``itertools.product`` order. Give k as
    ``points_per_dim``, or a budget ``n_trials`` and k is the largest grid that fits it."""
    check_space(space, "grid_points")
    if (points_per_dim is None) == (n_trials is None):
        raise ValueError("grid_points: give exactly one of points_per_dim and n_trials")
    if n_trials is not None:
        k = _points_for_budget(space, check_int("grid_points", "n_trials", n_trials, 1))
    else:
        k = check_int("grid_points", "points_per_dim", points_per_dim, 1)
    axes = [s.grid(k) for s in space.values()]
    return [dict(zip(space, combo)) for combo in itertools.product(*axes)]


def grid_search(objective: Callable, space: dict, points_per_dim: int | None = None, *,
                n_trials: int | None = None, seed: int = 0, **kwargs: Any) -> SearchResult:
    """Grid search over :func:`grid_points`; ``seed`` only sets the objective's per-trial seeds.
    Other keyword arguments are those of :func:`run_trials`."""
    params_list = grid_points(space, points_per_dim, n_trials)
    return run_trials(objective, params_list, space, seed, **kwargs)
