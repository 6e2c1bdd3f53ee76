"""Per-cell statistics: the runs that share the values of some columns (``by``), with intervals.

For each cell: n; each phase's count and share with its Wilson 95% interval (the stored
``phase`` column, classified by the folder's rule); the count and share of runs that reach the
threshold within their budget, with its Wilson interval; the Kaplan-Meier median step to the
threshold over *all* the cell's runs (never = censored at the run's last logged step,
``grokjax.stats.survival``) with a percentile-bootstrap interval; and, separately, the median
step among the runs that do reach it (a conditional number: it says nothing of the others).

Bootstrap: ``n_boot`` resamples of the cell's runs, from a generator seeded with ``seed`` and
the cell's (column, value) pairs, so the numbers are the same on every run, do not depend on
other cells, and equal those of the same runs as an arm of ``grokjax.stats.paired``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from grokjax.phases import PHASES
from grokjax.stats.columns import (
    Criterion,
    StatsError,
    check_columns,
    criterion,
    label,
    plain,
    plain_values,
    sort_key,
)
from grokjax.stats.intervals import Share, bootstrap_rng
from grokjax.stats.survival import MedianStep, ReachTimes, median_interval, reach_times

__all__ = ["N_BOOT", "CellStats", "CellTable", "cell_stats", "cell_table", "key_label"]

N_BOOT = 2000


def key_label(key: Sequence[tuple[str, Any]]) -> str:
    """``weight_decay=0.1, train_size=1000`` ("all runs" for the empty key)."""
    return ", ".join(f"{c}={label(v)}" for c, v in key) or "all runs"


@dataclasses.dataclass(frozen=True)
class CellStats:
    """The statistics of one cell; ``key`` is its (column, value) pairs."""

    key: tuple[tuple[str, Any], ...]
    n: int
    phases: tuple[tuple[str, Share], ...]  # every phase of grokjax.phases.PHASES, in order
    reach: Share
    median: MedianStep  # Kaplan-Meier, over all runs (inf: not reached)
    median_reached: MedianStep  # among the runs that reach it (NaN: none does)
    budget: tuple[float, float]  # the smallest and largest last logged step

    def phase(self, name: str) -> Share:
        return dict(self.phases)[name]


@dataclasses.dataclass(frozen=True)
class CellTable:
    """The cells of a results table, in order, and how they were computed."""

    by: tuple[str, ...]
    criterion: Criterion
    cells: tuple[CellStats, ...]
    n_boot: int
    seed: int

    @property
    def phases_present(self) -> tuple[str, ...]:
        """The phases with a run in some cell (``PHASES`` order)."""
        return tuple(p for p in PHASES if any(c.phase(p).k for c in self.cells if c.phases))

    def frame(self) -> pd.DataFrame:
        """One row per cell: the ``by`` columns, n, ``PHASE_k/_share/_lo/_hi`` per phase,
        ``reach_*``, ``median_step``/``_lo``/``_hi`` (inf: not reached) and the same for the
        median among the runs that reach it (``median_reached_*``)."""
        rows = []
        for c in self.cells:
            row: dict[str, Any] = {**dict(c.key), "n": c.n}
            for name, s in (*c.phases, ("reach", c.reach)):
                row.update({f"{name}_k": s.k, f"{name}_share": s.share, f"{name}_lo": s.lo,
                            f"{name}_hi": s.hi})
            for name, m in (("median_step", c.median), ("median_reached", c.median_reached)):
                row.update({name: m.value, f"{name}_lo": m.lo, f"{name}_hi": m.hi})
            row.update(budget_min=c.budget[0], budget_max=c.budget[1])
            rows.append(row)
        return pd.DataFrame(rows)


def _groups(df: pd.DataFrame, by: Sequence[str], order: Mapping[str, Sequence[Any]] | None
            ) -> list[tuple[tuple[tuple[str, Any], ...], np.ndarray]]:
    """(key, row indices) per cell; values in ``order``'s order where given, else sorted."""
    if not by:
        return [((), np.arange(len(df)))]
    keys = list(zip(*(plain_values(df[c]) for c in by), strict=True))
    cells: dict[tuple, list[int]] = {}
    for i, k in enumerate(keys):
        cells.setdefault(k, []).append(i)

    def rank(col: str, v: Any) -> tuple:
        given = [plain(x) for x in (order or {}).get(col, ())]
        return (0, given.index(v)) if v in given else (1, sort_key(v))

    ordered = sorted(cells, key=lambda k: [rank(c, v) for c, v in zip(by, k, strict=True)])
    return [(tuple(zip(by, k, strict=True)), np.asarray(cells[k])) for k in ordered]


def _cell(key: tuple[tuple[str, Any], ...], phases: list[Any] | None, times: ReachTimes,
          n_boot: int, seed: int) -> CellStats:
    n = len(times.step)
    counts = ({p: sum(1 for x in phases if x == p) for p in PHASES} if phases is not None
              else None)
    reached = times.reached
    rng = bootstrap_rng(seed, key_label(sorted(key)))  # the same cell by --by in any order
    median = median_interval(times, rng, n_boot)
    median_reached = median_interval(times.take(np.flatnonzero(reached)), rng, n_boot)
    return CellStats(
        key=key, n=n,
        phases=tuple((p, Share.of(counts[p], n)) for p in PHASES) if counts else (),
        reach=Share.of(int(reached.sum()), n), median=median, median_reached=median_reached,
        budget=(float(np.nanmin(times.budget)), float(np.nanmax(times.budget)))
        if np.isfinite(times.budget).any() else (math.nan, math.nan))


def cell_table(df: pd.DataFrame, by: Sequence[str] = (), *, metric: str = "test_acc",
               threshold: float = 0.9, below: bool | None = None, n_boot: int = N_BOOT,
               seed: int = 0, order: Mapping[str, Sequence[Any]] | None = None) -> CellTable:
    """The statistics of every cell of ``df`` by the columns ``by`` (none: one cell).

    ``metric``/``threshold``/``below``: what reaching means (``below`` defaults to True for a
    ``*_loss`` curve); ``order``: column -> values in display order (else numbers ascending,
    text alphabetical).  Raises ``StatsError`` naming a missing column or a bad metric.
    """
    by = tuple(by)
    check_columns(df, by, "--by")
    if len(df) == 0:
        raise StatsError("no runs to describe (an empty table, or --where matched no run)")
    if n_boot < 1:
        raise StatsError(f"--boot: {n_boot} must be >= 1")
    crit = criterion(df, metric, threshold, below)
    df = df.reset_index(drop=True)
    times = reach_times(df, crit.metric, crit.threshold, crit.below)
    phase_col = df["phase"].tolist() if "phase" in df.columns else None
    cells = tuple(
        _cell(key, [phase_col[i] for i in idx] if phase_col is not None else None,
              times.take(idx), n_boot, seed)
        for key, idx in _groups(df, by, order))
    return CellTable(by=by, criterion=crit, cells=cells, n_boot=n_boot, seed=seed)


def cell_stats(df: pd.DataFrame, by: Sequence[str] = (), **kwargs: Any) -> pd.DataFrame:
    """``cell_table(df, by, **kwargs).frame()``: one row per cell (see ``CellTable.frame``)."""
    return cell_table(df, by, **kwargs).frame()
