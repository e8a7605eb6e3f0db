"""Trials and the result of a search: the lecture's table, the best trial, CSV/JSON, a plot."""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_write, decode_float, read_json, write_json
from ..train.plots import new_figure, save_png
from .spaces import Choice, Space, space_from_dict, space_to_dict

__all__ = ["SearchResult", "Trial", "format_trial"]


def _plain(v: Any) -> Any:
    """NumPy scalars to Python ones, so that results print, compare and serialize plainly."""
    return v.item() if isinstance(v, np.generic) else v


def _format_value(v: Any) -> str:
    # Floats as the lecture prints them (1.405206e-04); anything categorical as its str.
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6e}"
    return str(v)


@dataclass
class Trial:
    """One evaluated point: its position ``index`` in the search (0-based), the hyperparameters,
    the ``seed`` handed to the objective, the ``score`` and every metric the objective returned."""

    index: int
    params: dict
    score: float
    metrics: dict = field(default_factory=dict)
    seed: int = 0


def format_trial(trial: Trial, n_trials: int, metric: str = "val_acc") -> str:
    """The lecture's line: ``val_acc: 0.412000, lr: 1.405206e-04, reg: 4.793564e-01, (1 / 100)``.

    The score has 6 decimals, float hyperparameters ``%.6e``, others ``str``; trials count from 1.
    """
    parts = [f"{metric}: {trial.score:.6f}"]
    parts += [f"{name}: {_format_value(v)}" for name, v in trial.params.items()]
    parts.append(f"({trial.index + 1} / {n_trials})")
    return ", ".join(parts)


def _sort_key(score: float, maximize: bool) -> float:
    # NaN (a diverged run) ranks below every real score in either direction.
    if math.isnan(score):
        return math.inf
    return -score if maximize else score


@dataclass
class SearchResult:
    """All trials of a search in trial order, with the space they were drawn from."""

    trials: list
    space: dict
    metric: str = "val_acc"
    maximize: bool = True

    def __len__(self) -> int:
        return len(self.trials)

    def ranked(self) -> list:
        """Trials from best to worst (NaN scores last); ties keep trial order."""
        return sorted(self.trials, key=lambda t: _sort_key(t.score, self.maximize))

    @property
    def best(self) -> Trial:
        """The trial with the highest score (lowest when ``maximize`` is False), NaN ignored."""
        if not self.trials:
            raise ValueError("SearchResult.best: the result has no trials")
        top = self.ranked()[0]
        if math.isnan(top.score):
            raise ValueError("SearchResult.best: every trial scored NaN")
        return top

    def lines(self) -> list[str]:
        """One lecture-style line per trial, in trial order."""
        return [format_trial(t, len(self.trials), self.metric) for t in self.trials]

    # ---- saving ---------------------------------------------------------------------------
    def _columns(self) -> tuple[list, list]:
        metric_cols = sorted({k for t in self.trials for k in t.metrics})
        clash = ({"index", "seed", "score"} | set(metric_cols)) & set(self.space)
        if clash:
            raise ValueError(f"SearchResult.to_csv: hyperparameter names {sorted(clash)} clash with "
                             "the index/seed/score/metric columns")
        return metric_cols, list(self.space)

    def to_csv(self, path: str) -> None:
        """Columns ``index, seed, score``, each metric, then each hyperparameter; floats are
        written in Python's shortest round-trip form, so they read back exactly."""
        metric_cols, param_cols = self._columns()
        with atomic_write(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["index", "seed", "score", *metric_cols, *param_cols])
            for t in self.trials:
                row = [t.index, t.seed, float(t.score)]
                row += [t.metrics.get(k, "") for k in metric_cols] + list(t.params.values())
                w.writerow([_plain(v) for v in row])  # str(float) round-trips

    def to_dict(self) -> dict:
        """A JSON-able dict of the result: metric, direction, space and every trial."""
        return {
            "metric": self.metric, "maximize": self.maximize,
            "space": {name: space_to_dict(s) for name, s in self.space.items()},
            "trials": [{"index": t.index, "seed": t.seed, "score": t.score,
                        "metrics": {k: _plain(v) for k, v in t.metrics.items()},
                        "params": {k: _plain(v) for k, v in t.params.items()}} for t in self.trials],
        }

    def to_json(self, path: str) -> None:
        """Everything needed to rebuild the result with :meth:`from_json` (Choice options and
        metrics must be JSON values)."""
        write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> SearchResult:
        """The result a ``to_dict()`` describes."""
        space = {name: space_from_dict(s) for name, s in d["space"].items()}
        trials = [Trial(index=t["index"], params=t["params"], score=float(decode_float(t["score"], "score")),
                        metrics={k: decode_float(v, k, other_strings=True) for k, v in t["metrics"].items()},
                        seed=t["seed"]) for t in d["trials"]]
        return cls(trials, space, d["metric"], d["maximize"])

    @classmethod
    def from_json(cls, path: str) -> SearchResult:
        """Read a result written by ``to_json``."""
        return cls.from_dict(read_json(path))

    # ---- plotting -------------------------------------------------------------------------
    def plot(self, path: str | os.PathLike, title: str | None = None) -> Path:
        """Scatter the score against each hyperparameter (log x axis for LogUniform), the best
        trial starred, saved as PNG; returns the path. Needs matplotlib (Agg, off-screen)."""
        names = list(self.space)
        fig = new_figure(4 * len(names), 3.4)
        best = self.best
        for i, name in enumerate(names):
            ax = fig.add_subplot(1, len(names), i + 1)
            _scatter(ax, self.space[name], [t.params[name] for t in self.trials],
                     [t.score for t in self.trials], best.params[name], best.score)
            ax.set_xlabel(name)
            if i == 0:
                ax.set_ylabel(self.metric)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return save_png(fig, path)


def _scatter(ax: Any, space: Space, xs: list, ys: list, best_x: Any, best_y: float) -> None:
    if isinstance(space, Choice):
        # Categories sit at integer positions labelled with their option.
        pos = {repr(o): j for j, o in enumerate(space.options)}
        xs = [pos[repr(x)] for x in xs]
        best_x = pos[repr(best_x)]
        ax.set_xticks(range(len(space.options)), [str(o) for o in space.options])
    elif getattr(space, "log", False):
        ax.set_xscale("log")
    ax.scatter(xs, ys, s=14, alpha=0.7)
    ax.scatter([best_x], [best_y], marker="*", s=120, color="C3", label="best")
    ax.grid(True, alpha=0.3)
