"""How well an adaptive sweep finds a dense grid's phase boundary, cell by cell.

The *modal phase* of a point is the set of phases with the most runs there (a tie keeps all
of them).  Each cell of the dense grid is given the modal phase of the nearest adaptive point
-- distance measured in dense grid steps along each axis (log values on a log axis, so a step
is one step whatever its size), the runs of equally near points pooled -- and compared with
the dense grid's own modal phase there:

* **exact**: the two share a phase;
* **within one step**: the adaptive phase is the modal phase of the dense cell or of one of
  its neighbours (the 3 x 3 block around it, diagonals included);
* **boundary cells**: dense cells with a neighbour along an axis whose modal phase differs --
  where the boundary is, and the only cells where a coarse grid can go wrong.

``compare_by_round`` gives the same numbers for the adaptive rows of rounds 0..r, so one
adaptive sweep yields its own runs-versus-agreement table (round 0 alone is its coarse grid).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from grokjax import phases
from grokjax.adaptive import ROUND_COLUMN, point_stats

__all__ = ["Agreement", "compare", "compare_by_round", "modal_map", "nearest_map"]


@dataclasses.dataclass(frozen=True)
class Agreement:
    label: str
    runs: int
    points: int
    cells: int
    exact: int
    within_one: int
    boundary_cells: int
    boundary_exact: int
    boundary_within_one: int

    def row(self) -> dict[str, object]:
        def share(k: int, n: int) -> str:
            return f"{k}/{n} ({k / n:.0%})" if n else "-"

        return {"sweep": self.label, "runs": self.runs, "points": self.points,
                "exact": share(self.exact, self.cells),
                "within one step": share(self.within_one, self.cells),
                "boundary cells exact": share(self.boundary_exact, self.boundary_cells),
                "boundary cells within one step": share(self.boundary_within_one,
                                                        self.boundary_cells)}


def modal_map(rows: pd.DataFrame, axes: Sequence[str], rule: phases.Rule | None = None
              ) -> dict[tuple, frozenset[str]]:
    """Point (values of ``axes``) -> its modal phase set (under ``rule``; None: stored)."""
    stats = point_stats(rows, list(axes), rule)
    return {p: s.modal for p, s in stats.items()}


def _index(values: Sequence[float], log: bool):
    """Value -> fractional position on the dense axis (``values``, sorted)."""
    u = np.log(values) if log else np.asarray(values, float)

    def f(v: float) -> float:
        return float(np.interp(math.log(v) if log else float(v), u, np.arange(len(values))))
    return f


def nearest_map(dense_values: Mapping[str, Sequence[float]], rows: pd.DataFrame,
                axes: Sequence[str], log: Mapping[str, bool], rule: phases.Rule | None = None
                ) -> dict[tuple, frozenset[str]]:
    """Every dense cell -> the modal phase of the nearest adaptive point (ties pooled)."""
    stats = point_stats(rows, list(axes), rule)
    index = {a: _index(sorted(dense_values[a]), log[a]) for a in axes}
    pts = list(stats)
    pos = np.array([[index[a](p[i]) for i, a in enumerate(axes)] for p in pts])
    counts = np.array([stats[p].counts for p in pts])
    out = {}
    grids = [sorted(dense_values[a]) for a in axes]
    for cell in itertools.product(*(range(len(g)) for g in grids)):
        d = np.sqrt(((pos - np.array(cell)) ** 2).sum(axis=1))
        near = d <= d.min() + 1e-9
        pooled = counts[near].sum(axis=0)
        out[tuple(g[i] for g, i in zip(grids, cell, strict=True))] = frozenset(
            p for p, c in zip(phases.PHASES, pooled, strict=True) if c == pooled.max())
    return out


def compare(dense: pd.DataFrame, adaptive: pd.DataFrame, axes: Sequence[str],
            log: Mapping[str, bool], label: str = "adaptive",
            rule: phases.Rule | None = None) -> Agreement:
    """Agreement of ``adaptive``'s nearest-point map with ``dense``'s modal phases."""
    dmap = modal_map(dense, axes, rule)
    values = {a: sorted({p[i] for p in dmap}) for i, a in enumerate(axes)}
    if math.prod(len(v) for v in values.values()) != len(dmap):
        raise ValueError("the dense rows are not a full grid over " + ", ".join(axes))
    amap = nearest_map(values, adaptive, axes, log, rule)
    pos = {a: {v: i for i, v in enumerate(values[a])} for a in axes}
    by_index = {tuple(pos[a][v] for a, v in zip(axes, p, strict=True)): m
                for p, m in dmap.items()}
    exact = within = bcells = bexact = bwithin = 0
    for p, want in dmap.items():
        idx = tuple(pos[a][v] for a, v in zip(axes, p, strict=True))
        got = amap[p]
        block = [by_index[q] for q in itertools.product(*(range(i - 1, i + 2) for i in idx))
                 if q in by_index]
        near = frozenset().union(*block)
        steps = [(*idx[:k], idx[k] + s, *idx[k + 1:]) for k in range(len(idx))
                 for s in (-1, 1)]
        on_boundary = any(q in by_index and by_index[q] != want for q in steps)
        e, w = bool(got & want), bool(got & near)
        exact, within = exact + e, within + w
        if on_boundary:
            bcells, bexact, bwithin = bcells + 1, bexact + e, bwithin + w
    n_points = len(point_stats(adaptive, list(axes), rule))
    return Agreement(label, len(adaptive), n_points, len(dmap), exact, within, bcells, bexact,
                     bwithin)


def compare_by_round(dense: pd.DataFrame, adaptive: pd.DataFrame, axes: Sequence[str],
                     log: Mapping[str, bool], rule: phases.Rule | None = None
                     ) -> list[Agreement]:
    """``compare`` for the adaptive rows of rounds 0..r, for every round r."""
    rounds = sorted(int(r) for r in adaptive[ROUND_COLUMN].unique())
    return [compare(dense, adaptive[adaptive[ROUND_COLUMN] <= r], axes, log,
                    f"adaptive, rounds 0-{r}" if r else "adaptive, round 0 (coarse grid)", rule)
            for r in rounds]
