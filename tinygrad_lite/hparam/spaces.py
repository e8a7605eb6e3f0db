"""Search spaces: where each hyperparameter is drawn from.

    Uniform(lo, hi)      x = uniform(lo, hi)
    LogUniform(lo, hi)   x = 10**uniform(log10 lo, log10 hi)   (the lecture's 10**uniform(-5, 5))
    Choice([a, b, ...])  x = one option, each with probability 1/len

Numeric spaces also map a value to its position u in [0, 1] on the sampling scale
(log10 for LogUniform); narrowing and the border warning work on that scale.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import check_int, check_real

__all__ = ["Choice", "LogUniform", "Space", "Uniform", "space_from_dict", "space_to_dict"]


def _check_rng(rng: Any, name: str) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name}.sample: expected a numpy.random.Generator, got {type(rng).__name__}")


class Space:
    """Base class of a one-dimensional search space."""

    numeric = False

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn with ``rng`` (a ``numpy.random.Generator``)."""
        raise NotImplementedError

    def grid(self, k: int) -> list:
        """``k`` values covering the space, for a grid search."""
        raise NotImplementedError


@dataclass(frozen=True)
class Uniform(Space):
    """x ~ uniform(lo, hi); ``grid(k)`` is k evenly spaced points from lo to hi inclusive."""

    lo: float
    hi: float
    numeric = True
    log = False

    def __post_init__(self) -> None:
        name = type(self).__name__
        check_real(name, "lo", self.lo)
        check_real(name, "hi", self.hi)
        if not self.lo < self.hi:
            raise ValueError(f"{name}: need lo < hi, got lo={self.lo!r}, hi={self.hi!r}")
        object.__setattr__(self, "lo", float(self.lo))
        object.__setattr__(self, "hi", float(self.hi))

    # The sampling scale: identity here, log10 for LogUniform.
    def to_scale(self, x: float) -> float:
        """``x`` on the sampling scale (itself here; log10 for ``LogUniform``)."""
        return float(x)

    def from_scale(self, s: float) -> float:
        """The value at ``s`` on the sampling scale (the inverse of ``to_scale``)."""
        return float(s)

    @property
    def scale_bounds(self) -> tuple[float, float]:
        """(lo, hi) on the sampling scale."""
        return self.to_scale(self.lo), self.to_scale(self.hi)

    def to_unit(self, x: float) -> float:
        """Position of x in the range on the sampling scale: 0 at lo, 1 at hi."""
        a, b = self.scale_bounds
        return (self.to_scale(x) - a) / (b - a)

    def with_scale_bounds(self, a: float, b: float) -> Uniform:
        """A space of the same kind spanning [a, b] on the sampling scale."""
        return type(self)(self.from_scale(a), self.from_scale(b))

    def _clip(self, x: float) -> float:
        # 10**log10(x) may land one ulp outside the range; the range is a promise.
        return min(max(float(x), self.lo), self.hi)

    def sample(self, rng: np.random.Generator) -> float:
        """A value uniform on the sampling scale between the bounds."""
        _check_rng(rng, type(self).__name__)
        a, b = self.scale_bounds
        return self._clip(self.from_scale(rng.uniform(a, b)))

    def grid(self, k: int) -> list[float]:
        """k points evenly spaced on the sampling scale, ends included (k = 1: the middle)."""
        k = check_int(f"{type(self).__name__}.grid", "k", k)
        a, b = self.scale_bounds
        if k == 1:
            return [self._clip(self.from_scale((a + b) / 2))]
        pts = [self._clip(self.from_scale(s)) for s in np.linspace(a, b, k)]
        pts[0], pts[-1] = self.lo, self.hi
        return pts

    def describe(self) -> str:
        """The space as the lecture writes it, e.g. ``uniform(0, 1)`` or ``10**uniform(-6, -3)``."""
        return f"uniform({self.lo:g}, {self.hi:g})"


@dataclass(frozen=True)
class LogUniform(Uniform):
    """x = 10**uniform(log10 lo, log10 hi), so every decade is equally likely; ``grid(k)`` is
    log-spaced (``LogUniform(1e-4, 1e-1).grid(4) == [1e-4, 1e-3, 1e-2, 1e-1]``)."""

    log = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.lo <= 0:
            raise ValueError(f"LogUniform: bounds must be positive, got lo={self.lo!r}, hi={self.hi!r}")

    @classmethod
    def from_exponents(cls, a: float, b: float) -> LogUniform:
        """The lecture's ``10**uniform(a, b)``; the exponents may come in either order."""
        return cls(10.0 ** min(a, b), 10.0 ** max(a, b))

    def to_scale(self, x: float) -> float:
        return math.log10(x)

    def from_scale(self, s: float) -> float:
        return float(10.0 ** s)

    def describe(self) -> str:
        a, b = self.scale_bounds
        return f"10**uniform({a:.3g}, {b:.3g})"


@dataclass(frozen=True)
class Choice(Space):
    """A categorical hyperparameter: one of ``options``, each equally likely."""

    options: tuple

    def __post_init__(self) -> None:
        if isinstance(self.options, (str, bytes)) or not hasattr(self.options, "__iter__"):
            raise TypeError(f"Choice: options must be a sequence, got {self.options!r}")
        opts = tuple(self.options)
        if not opts:
            raise ValueError("Choice: options must not be empty")
        if len(set(map(repr, opts))) != len(opts):
            raise ValueError(f"Choice: options must be distinct, got {opts!r}")
        object.__setattr__(self, "options", opts)

    def sample(self, rng: np.random.Generator) -> Any:
        """One of the options, each equally likely."""
        _check_rng(rng, "Choice")
        return self.options[int(rng.integers(len(self.options)))]

    def grid(self, k: int | None = None) -> list:
        """Every option: a categorical grid is its options, so k is ignored."""
        return list(self.options)

    def describe(self) -> str:
        """The space as text, e.g. ``choice(['relu', 'tanh'])``."""
        return f"choice({list(self.options)!r})"


_KINDS = {"Uniform": Uniform, "LogUniform": LogUniform, "Choice": Choice}


def space_to_dict(space: Space) -> dict:
    """A JSON-ready description of one space."""
    if isinstance(space, Choice):
        return {"type": "Choice", "options": list(space.options)}
    if isinstance(space, Uniform):
        return {"type": type(space).__name__, "lo": space.lo, "hi": space.hi}
    raise TypeError(f"space_to_dict: unknown space {type(space).__name__}")


def space_from_dict(d: dict) -> Space:
    """Inverse of :func:`space_to_dict`."""
    kind = _KINDS.get(d.get("type"))
    if kind is None:
        raise ValueError(f"space_from_dict: unknown space type {d.get('type')!r}")
    if kind is Choice:
        return Choice(tuple(d["options"]))
    return kind(d["lo"], d["hi"])


def check_space(space: Any, fn: str) -> dict[str, Space]:
    """Validate a ``{name: Space}`` dict for the public entry point ``fn``."""
    if not isinstance(space, dict) or not space:
        raise TypeError(f"{fn}: space must be a non-empty dict of name -> Space, got {space!r}")
    for name, s in space.items():
        if not isinstance(name, str):
            raise TypeError(f"{fn}: hyperparameter names must be str, got {name!r}")
        if not isinstance(s, Space):
            raise TypeError(f"{fn}: space[{name!r}] must be Uniform, LogUniform or Choice, "
                            f"got {type(s).__name__}")
    return space
