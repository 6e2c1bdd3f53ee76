"""An adaptive sweep: round after round through the engine, each chosen from the rows on disk.

Every pass of the loop reads the folder, replays the rounds (``plan_rounds``: round 0 is the
``[grid]``; round r is chosen by ``grokjax.adaptive`` from the rows of rounds < r only) and
trains the first round not yet complete with ``run_sweep`` -- the same chunks, workers, Ray
actors or shards as any sweep.  Nothing is remembered between passes, so after ``kill -9`` at
any moment the same command replays the same rounds, chooses the same points and run ids, and
trains only what is missing.  Each round is planned on its own (its own chunks and vmap width);
a resumed round reproduces an uninterrupted one.  Rows carry their round (``adaptive_round``);
manifest.json keeps ``adaptive``: the options and each round's runs.  With ``--shard`` or under
``jax.distributed`` every process waits until the round is complete on disk before choosing
the next.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from grokjax import locks, store
from grokjax.adaptive import (
    ROUND_COLUMN,
    RoundChoice,
    choose_round,
    point_axes,
    point_stats,
    round_configs,
)
from grokjax.distributed import Cluster, wait_for
from grokjax.engine import SweepReport, run_sweep
from grokjax.options import EngineOptions
from grokjax.shards import Shard
from grokjax.spec import SweepSpec

__all__ = ["AdaptiveReport", "RoundPlan", "describe", "plan_rounds", "run_adaptive"]


@dataclasses.dataclass(frozen=True)
class RoundPlan:
    index: int
    runs: tuple  # run configurations, each with run_id and adaptive_round
    choice: RoundChoice | None  # None for round 0 (the [grid])

    @property
    def run_ids(self) -> list[str]:
        return [r["run_id"] for r in self.runs]

    def record(self) -> dict[str, Any]:
        c = self.choice
        return {"round": self.index, "runs": len(self.runs),
                "new_points": len(c.midpoints) if c else None,
                "extra_seeds": sum(len(s.seeds) for s in c.seeds) if c else None,
                "allowance": c.allowance if c else None,
                "boundary_edges": c.n_candidates if c else None, "run_ids": self.run_ids}


@dataclasses.dataclass
class AdaptiveReport:
    name: str
    out: Path
    budget: int
    rounds: list[RoundPlan]
    trained: list[SweepReport]  # the run_sweep of each round trained by this call

    @property
    def n_runs(self) -> int:
        return sum(len(r.runs) for r in self.rounds)

    def line(self) -> str:
        per = ", ".join(f"round {r.index} {len(r.runs)}" for r in self.rounds)
        n_trained = sum(t.n_trained for t in self.trained)
        return (f"{self.name}: adaptive, {self.n_runs} runs of a budget of {self.budget} ({per});"
                f" {n_trained} trained now -> {self.out}")


def plan_rounds(spec: SweepSpec, rows: pd.DataFrame | None) -> list[RoundPlan]:
    """Round 0, then every round whose earlier rounds all have rows in ``rows``: the last plan
    is the first round not complete, unless all ``rounds`` are."""
    opts = spec.adaptive
    if opts is None:
        raise ValueError(f"{spec.source}: has no [adaptive] table")
    if rows is not None and "spec_hash" in rows.columns:
        rows = rows[rows["spec_hash"] == spec.spec_hash()]
    done = set(rows["run_id"]) if rows is not None else set()
    plans = [RoundPlan(0, tuple(dict(r, **{ROUND_COLUMN: 0}) for r in spec.runs()), None)]
    seen = set(plans[0].run_ids)
    for index in range(1, opts.rounds + 1):
        if not seen <= done:
            break
        earlier = rows[rows["run_id"].isin(seen)]
        choice = choose_round(point_stats(earlier, point_axes(spec), spec.phases), spec, index,
                              len(seen))
        runs = round_configs(spec, choice)
        again = [r["run_id"] for r in runs if r["run_id"] in seen]
        if again:  # cannot happen: new points and new seeds are new runs
            raise RuntimeError(f"adaptive round {index} chose runs of earlier rounds: {again}")
        plans.append(RoundPlan(index, tuple(runs), choice))
        seen.update(plans[-1].run_ids)
    return plans


def _rows(out: Path) -> pd.DataFrame | None:
    return store.load_results(out, allow_mixed=True) if store.part_files(out) else None


def _manifest(spec: SweepSpec, plans: list[RoundPlan], complete: bool) -> dict[str, Any]:
    opts = spec.adaptive
    return {"n_runs": sum(len(p.runs) for p in plans),
            "adaptive": {"options": opts.params(), "complete": complete,
                         "rounds": [p.record() for p in plans]}}


def run_adaptive(spec: SweepSpec, out: str | Path | None = None, *,
                 options: EngineOptions | None = None, restart: bool = False,
                 quiet: bool = False, report: bool = True, cluster: Cluster | None = None,
                 shard: Shard | None = None, wait_timeout_s: float = 24 * 3600
                 ) -> AdaptiveReport:
    """Train an adaptive sweep (``[adaptive]``) into ``out`` (default ``results/NAME``),
    resuming whatever is on disk; the keywords are ``run_sweep``'s, applied to every round."""
    out = Path(out) if out is not None else Path("results") / spec.name
    trained: list[SweepReport] = []
    fresh = restart
    while True:
        plans = plan_rounds(spec, None if fresh else _rows(out))
        done = set() if fresh else store.done_run_ids(out)
        todo = next((p for p in plans if not set(p.run_ids) <= done), None)
        if todo is None:
            break
        if not quiet:
            print(f"{spec.name}: adaptive round {todo.index} of {spec.adaptive.rounds}: "
                  f"{_what(todo)}", file=sys.stderr)
        round_spec = spec.with_runs(list(todo.runs), _manifest(spec, plans, False))
        trained.append(run_sweep(round_spec, out, options=options, restart=fresh, quiet=quiet,
                                 report=False, cluster=cluster, shard=shard,
                                 wait_timeout_s=wait_timeout_s))
        fresh = False
        want = frozenset(todo.run_ids)  # other shards / hosts may still train this round
        wait_for(lambda want=want: want <= store.done_run_ids(out), f"adaptive round "
                 f"{todo.index} to be complete on disk", timeout_s=wait_timeout_s)
    leader = (cluster is None or cluster.is_leader) and (shard is None or shard.index == 0)
    if leader:
        with locks.folder_lock(out, ".lock", wait_s=600):
            manifest = store.read_manifest(out)
            manifest.update(_manifest(spec, plans, True))
            store.write_manifest(out, manifest)
            if report:
                from grokjax.report import write_report

                write_report(out)
    result = AdaptiveReport(spec.name, out, spec.adaptive.budget, plans, trained)
    if not quiet:
        print(result.line(), file=sys.stderr)
    return result


def _what(plan: RoundPlan) -> str:
    c = plan.choice
    if c is None:
        return f"the [grid], {len(plan.runs)} runs"
    extra = sum(len(s.seeds) for s in c.seeds)
    return (f"{len(c.midpoints)} new points (of {c.n_candidates} boundary edges) and {extra} "
            f"extra seeds on {len(c.seeds)} points: {len(plan.runs)} runs")


def describe(spec: SweepSpec) -> str:
    """What ``sweep`` will do with an adaptive file (``validate`` prints it)."""
    o = spec.adaptive
    n0 = len(spec.runs())
    shape = " x ".join(f"{len(v)} {k}" for k, v in spec.grid.items() if k != "seed" or v)
    first = min(o.budget - n0, max(o.seeds_per_point, math.ceil((o.budget - n0) / o.rounds)))
    axes = ", ".join(f"{a} ({'log' if o.is_log(a) else 'linear'})" for a in o.axes)
    return (f"adaptive: round 0 = {n0} runs (the [grid]: {shape}); then up to {o.rounds} "
            f"refinement round{'s' if o.rounds > 1 else ''} along {axes} until {o.budget} runs "
            f"(budget; at most {o.budget - n0} more, about {first} in round 1): a new point "
            f"({o.seeds_per_point} seed{'s' if o.seeds_per_point > 1 else ''}) between "
            "neighbours whose modal phases differ, and "
            f"{o.seeds_per_point} more seed{'s' if o.seeds_per_point > 1 else ''} where the "
            f"modal-phase interval is widest ({o.seed_share:.0%} of each round's runs)")
