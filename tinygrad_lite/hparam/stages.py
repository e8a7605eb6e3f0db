"""Between stages of a coarse-to-fine search: narrow the ranges, and warn about borders."""
from __future__ import annotations

import math
from typing import Any

from ..checks import check_int, check_real
from .result import SearchResult, _format_value
from .spaces import Choice, Space, Uniform, check_space

__all__ = ["border_warnings", "narrow", "widen"]


def _top_trials(result: SearchResult, top_k: Any, fn: str) -> list:
    if not isinstance(result, SearchResult):
        raise TypeError(f"{fn}: expected a SearchResult, got {type(result).__name__}")
    check_int(fn, "top_k", top_k)
    top = [t for t in result.ranked()[:top_k] if not math.isnan(t.score)]
    if not top:
        raise ValueError(f"{fn}: the result has no trial with a real (non-NaN) score")
    return top


def _values(top: list, name: str, fn: str) -> list:
    try:
        return [t.params[name] for t in top]
    except KeyError:
        raise ValueError(f"{fn}: the trials have no hyperparameter {name!r}") from None


def narrow(space: dict, result: SearchResult, top_k: int = 5, margin: float = 0.1) -> dict:
    """The next stage's space: each range shrunk around the ``top_k`` best trials.

    On the sampling scale s (log10 for LogUniform) with old bounds [a, b]:

        new = [max(a, min s_top - margin (b - a)),  min(b, max s_top + margin (b - a))]

    so the new range always lies inside the old one. A Choice keeps the options that occur
    among the top trials. The lecture's step from reg = 10**uniform(-5, 5),
    lr = 10**uniform(-6, -3) to reg = 10**uniform(-4, 0), lr = 10**uniform(-4, -3) is one call.
    """
    check_space(space, "narrow")
    check_real("narrow", "margin", margin, 0.0)
    top = _top_trials(result, top_k, "narrow")
    out: dict[str, Space] = {}
    for name, s in space.items():
        vals = _values(top, name, "narrow")
        if isinstance(s, Choice):
            seen = {repr(v) for v in vals}
            out[name] = Choice(tuple(o for o in s.options if repr(o) in seen))
            continue
        a, b = s.scale_bounds
        pts = [s.to_scale(v) for v in vals]
        lo = max(a, min(pts) - margin * (b - a))
        hi = min(b, max(pts) + margin * (b - a))
        if not lo < hi:
            raise ValueError(f"narrow: the top {len(top)} trials share one value of {name!r}; "
                             "use margin > 0 or a larger top_k")
        out[name] = s.with_scale_bounds(lo, hi)
    return out


def _borders(space: dict, result: SearchResult, frac: float, extend: float | None, fn: str):
    """(name, best value, side, widened space) for each numeric hyperparameter whose best
    value u (its position in the range on the sampling scale) has u <= frac or u >= 1 - frac."""
    check_space(space, fn)
    check_real(fn, "frac", frac, 0.0, 0.5, low_open=True, high_open=True)
    if extend is not None:
        check_real(fn, "extend", extend, 0.0, low_open=True)
    best = _top_trials(result, 1, fn)[0]
    for name, s in space.items():
        if not isinstance(s, Uniform):
            continue
        v = _values([best], name, fn)[0]
        u = s.to_unit(v)
        a, b = s.scale_bounds
        step = extend if extend is not None else (1.0 if s.log else b - a)
        if u <= frac:
            yield name, v, "lower", s.with_scale_bounds(a - step, b)
        elif u >= 1 - frac:
            yield name, v, "upper", s.with_scale_bounds(a, b + step)


def border_warnings(space: dict, result: SearchResult, frac: float = 0.1,
                    extend: float | None = None) -> list[str]:
    """The lecture's "careful with best values on border", one message per hyperparameter.

    With u the best value's position in its range on the sampling scale (0 at the low end,
    1 at the high end; log10 for LogUniform), a numeric hyperparameter is on the border when
    u <= frac or u >= 1 - frac: the optimum may lie outside what was searched. The message
    suggests moving that edge out by ``extend`` on the sampling scale; by default one decade
    for LogUniform (10**uniform(-4, -3) -> 10**uniform(-4, -2)) and the range's width for
    Uniform. Categorical hyperparameters have no border.
    """
    return [f"careful with best values on border: {name} = {_format_value(float(v))} lies "
            f"within {frac:.0%} of the {side} edge of {space[name].describe()}; "
            f"consider widening it to {wider.describe()}"
            for name, v, side, wider in _borders(space, result, frac, extend, "border_warnings")]


def widen(space: dict, result: SearchResult, frac: float = 0.1, extend: float | None = None) -> dict:
    """``space`` with every range that ``border_warnings`` flags widened as it suggests."""
    out = dict(space)
    out.update((name, wider) for name, _, _, wider in _borders(space, result, frac, extend, "widen"))
    return out
