"""Adaptive refinement: the runs of each round, a pure function of the spec and earlier rows.

Round 0 is the sweep's ``[grid]``.  A *point* is one combination of the grid axes (seed
excluded); its runs are its seeds.  Round r >= 1 looks only at the rows of rounds < r:

* **Midpoints.**  Along each ``[adaptive]`` axis, the points that agree on every other axis form
  a line; two neighbours on a line whose *modal phases* (the set of phases with the most runs)
  differ get a new point between them -- the geometric midpoint on a ``log`` axis, the
  arithmetic one on a ``linear`` axis, rounded to the nearest integer (halves up) for integer
  settings and to 12 significant digits otherwise.  No midpoint when it would equal a
  neighbour (e.g. train sizes 10 and 11).  Order: the larger total-variation distance between
  the two points' phase shares first, then the wider gap, then a hash of the point.
* **Seeds.**  Every existing point is a candidate for ``seeds_per_point`` more seeds, widest
  Wilson 95% interval of its modal-phase share first (ties: points on a boundary edge first,
  then a hash).  A new point's seeds, and the extra seeds, are the next values of the seed
  sequence: round 0's seeds, then ever larger integers.

Budget.  Round r may use ``ceil(remaining / rounds_left)`` runs (at least one point's worth,
never more than remains), ``seed_share`` of it kept for extra seeds; whatever one kind cannot
use goes to the other; only whole points (``seeds_per_point`` runs) are added, so the budget is
never exceeded.  Nothing here reads the clock, the run order or anything but the rows, so a
re-run after a kill chooses the same points and the same run ids.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from grokjax import phases, registry
from grokjax.adaptive_options import AdaptiveOptions
from grokjax.hashing import stable_hash
from grokjax.resolve import expand
from grokjax.stats.intervals import wilson  # written once, in the statistics layer

__all__ = ["Midpoint", "PointStats", "RoundChoice", "SeedAdd", "boundary_edges", "choose_round",
           "midpoint", "point_axes", "point_stats", "round_configs", "seed_sequence", "wilson"]

ROUND_COLUMN = "adaptive_round"


def midpoint(a: float, b: float, log: bool, integer: bool) -> float | int | None:
    """The value between ``a`` and ``b`` (None when it would equal one of them)."""
    m = math.sqrt(a * b) if log else (a + b) / 2
    v: float | int = math.floor(m + 0.5) if integer else float(f"{m:.12g}")
    return None if v in (a, b) or not min(a, b) < v < max(a, b) else v


@dataclasses.dataclass(frozen=True)
class PointStats:
    """The runs of one point so far: counts per phase (``phases.PHASES`` order), seeds."""

    point: tuple
    counts: tuple[int, ...]
    seeds: frozenset

    @property
    def n(self) -> int:
        return sum(self.counts)

    @property
    def modal(self) -> frozenset[str]:
        top = max(self.counts)
        return frozenset(p for p, c in zip(phases.PHASES, self.counts, strict=True) if c == top)

    def shares(self) -> list[float]:
        return [c / self.n for c in self.counts]

    def width(self) -> float:
        lo, hi = wilson(max(self.counts), self.n)
        return hi - lo


@dataclasses.dataclass(frozen=True)
class Midpoint:
    point: tuple  # the new point
    axis: str
    between: tuple  # the two neighbouring values
    score: float  # total-variation distance of the neighbours' phase shares
    gap: float  # their distance, as a share of the axis's round-0 range (log or linear)


@dataclasses.dataclass(frozen=True)
class SeedAdd:
    point: tuple
    seeds: tuple[int, ...]
    width: float  # Wilson interval width of the modal-phase share before


@dataclasses.dataclass(frozen=True)
class RoundChoice:
    """What round ``index`` adds: new points (each with ``seeds``) and extra seeds."""

    index: int
    allowance: int  # runs this round may use
    midpoints: tuple[Midpoint, ...]
    seeds: tuple[SeedAdd, ...]
    new_seeds: tuple[int, ...]  # the seeds of each new point
    n_candidates: int  # boundary edges that could have been split

    @property
    def n_runs(self) -> int:
        return len(self.midpoints) * len(self.new_seeds) + sum(len(s.seeds) for s in self.seeds)


def point_axes(spec: Any) -> list[str]:
    """The grid axes that make a point (every axis but the seed)."""
    return [a for a in spec.grid if a != "seed"]


def _plain(name: str, v: Any) -> Any:
    v = v.tolist() if hasattr(v, "tolist") else v
    if isinstance(v, list):
        return tuple(v)
    s = registry.setting(name)
    return s.type(v) if s is not None and s.type in (int, float, bool, str) else v


def point_stats(rows: pd.DataFrame, axes: Sequence[str], rule: phases.Rule | None
                ) -> dict[tuple, PointStats]:
    """Counts per phase (under ``rule``; None: the rows' ``phase``) and seeds of every point."""
    if len(rows) == 0:
        return {}
    df = rows.reset_index(drop=True)
    if rule is not None:
        df = phases.classify_frame(df, rule)
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(phases.PHASES))
    seeds: dict[tuple, set] = defaultdict(set)
    cols = {a: df[a].tolist() for a in axes}
    for i, (phase, seed) in enumerate(zip(df["phase"], df["seed"], strict=True)):
        point = tuple(_plain(a, cols[a][i]) for a in axes)
        counts[point][phases.PHASES.index(phase)] += 1
        seeds[point].add(int(seed))
    return {p: PointStats(p, tuple(c), frozenset(seeds[p])) for p, c in counts.items()}


def _tie(point: tuple) -> str:
    return stable_hash(json.dumps(point, default=str))


def _coord(v: float, log: bool) -> float:
    return math.log(v) if log else float(v)


def boundary_edges(stats: Mapping[tuple, PointStats], axes: Sequence[str],
                   opts: AdaptiveOptions, ranges: Mapping[str, float]
                   ) -> tuple[list[Midpoint], set[tuple]]:
    """Every midpoint a boundary edge asks for (best first), and the points on such edges.

    ``ranges``: per adaptive axis the width of its round-0 values (log or linear units)."""
    out, on_edge = [], set()
    for axis in opts.axes:
        j, log = axes.index(axis), opts.is_log(axis)
        lines: dict[tuple, list[tuple]] = defaultdict(list)
        for p in stats:
            lines[p[:j] + p[j + 1:]].append(p)
        for line in lines.values():
            line.sort(key=lambda p: p[j])
            for p, q in itertools.pairwise(line):
                sp, sq = stats[p], stats[q]
                if sp.modal == sq.modal:
                    continue
                on_edge.update((p, q))
                m = midpoint(p[j], q[j], log, axis in opts.integer)
                if m is None:
                    continue
                tv = 0.5 * sum(abs(a - b) for a, b in zip(sp.shares(), sq.shares(), strict=True))
                gap = abs(_coord(q[j], log) - _coord(p[j], log)) / (ranges[axis] or 1.0)
                out.append(Midpoint((*p[:j], m, *p[j + 1:]), axis, (p[j], q[j]), tv, gap))
    out.sort(key=lambda m: (-m.score, -m.gap, _tie(m.point)))
    return out, on_edge


def seed_sequence(spec: Any, length: int) -> list[int]:
    """Round 0's seeds, then the integers after the largest, ``length`` values in all."""
    base = list(spec.grid.get("seed") or [spec.fixed.get("seed", registry.setting("seed")
                                                             .default)])
    return (base + list(range(max(base) + 1, max(base) + 1 + length)))[:length]


def choose_round(stats: Mapping[tuple, PointStats], spec: Any, index: int, runs_so_far: int
                 ) -> RoundChoice:
    """Round ``index``'s new points and extra seeds, from the points of rounds < index."""
    opts: AdaptiveOptions = spec.adaptive
    axes = point_axes(spec)
    spp = opts.seeds_per_point
    remaining = opts.budget - runs_so_far
    rounds_left = opts.rounds - index + 1
    allowance = min(remaining, max(spp, math.ceil(remaining / max(rounds_left, 1))))
    ranges = {a: abs(_coord(max(spec.grid[a]), opts.is_log(a))
                     - _coord(min(spec.grid[a]), opts.is_log(a))) for a in opts.axes}
    mids, on_edge = boundary_edges(stats, axes, opts, ranges)
    new_seeds = tuple(seed_sequence(spec, spp)[:spp])
    cands = []
    for p in sorted(stats, key=_tie):
        s = stats[p]
        seq = seed_sequence(spec, len(s.seeds) + 2 * spp + 1)
        extra = tuple(x for x in seq if x not in s.seeds)[:spp]
        cands.append(SeedAdd(p, extra, s.width()))
    cands.sort(key=lambda c: (-c.width, c.point not in on_edge, _tie(c.point)))
    if allowance < spp:
        return RoundChoice(index, max(allowance, 0), (), (), new_seeds, len(mids))
    slots = allowance // spp
    reserved = math.floor(opts.seed_share * allowance / spp)
    n_mid = min(len(mids), slots - reserved)
    n_seed = min(len(cands), slots - n_mid)
    n_mid = min(len(mids), slots - n_seed)  # seed room nobody uses goes back to midpoints
    return RoundChoice(index, allowance, tuple(mids[:n_mid]), tuple(cands[:n_seed]), new_seeds,
                       len(mids))


def round_configs(spec: Any, choice: RoundChoice) -> list[dict[str, Any]]:
    """The run configurations of a round (each with its ``run_id`` and ``adaptive_round``)."""
    axes = point_axes(spec)
    adds = [(m.point, choice.new_seeds) for m in choice.midpoints] + [
        (s.point, s.seeds) for s in choice.seeds]
    runs = []
    for point, seeds in adds:
        grid = {a: [list(v) if isinstance(v, tuple) else v] for a, v in zip(axes, point,
                                                                             strict=True)}
        grid["seed"] = list(seeds)
        for cfg in expand(spec.task, {k: v for k, v in spec.fixed.items() if k != "seed"},
                          grid, spec.data_seeds, f"{spec.source} [adaptive] round {choice.index}"):
            cfg[ROUND_COLUMN] = choice.index
            runs.append(cfg)
    return runs
