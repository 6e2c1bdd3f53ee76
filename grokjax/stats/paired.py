"""Paired comparison of two arms that differ in one setting, matched run by run.

Arm A and arm B are the runs with ``setting == a`` and ``setting == b``.  A run of A is paired
with the run of B that has the same value of **every other setting** (seed and data seed
included), so a pair differs in nothing but the compared setting.  Settings other than seed and
data seed that still vary (a weight-decay axis) split the pairs into **strata**, each compared
on its own (``pool=True``: one comparison over all pairs, each still matched).  Refused, with
the columns named: a value of ``setting`` no run has; arms whose value sets of another setting
share no value (no run could have a partner: fix it with ``--where``); two runs of an arm with
the same other settings (ambiguous pairs); no pair at all.  A setting that is null in every
run of one arm belongs to the other arm's component (``grokfast_alpha`` when ``grad_filter =
"none"``): it is not matched on, and listed.  Runs without a partner (a partial
sweep) are dropped and counted.

Per pair, with t = the first logged step at the threshold (``grokjax.stats.survival``):

* both reach it: speed-up = t_A / t_B (> 1: B gets there sooner);
* only B: speed-up >= budget_A / t_B (censored: reported as a bound, +inf in the median);
* only A: speed-up <= t_A / budget_B (reported as a bound, 0 in the median);
* neither: no information on the order; counted, and left out of the median and the tests.

The median speed-up is taken on the log scale over the pairs where at least one arm reaches the
threshold (two middle values: their geometric mean), with a percentile-bootstrap interval over
those pairs, resampled.  The sign test (exact binomial) counts every pair whose order is known
(B sooner / A sooner; equal steps are ties, dropped).  The Wilcoxon signed-rank test uses the
log speed-ups of the pairs where **both** reach it -- the only ones whose size is measured.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from grokjax.stats.cells import N_BOOT, key_label
from grokjax.stats.columns import (
    Criterion,
    StatsError,
    check_columns,
    criterion,
    label,
    match_value,
    plain,
    plain_values,
    setting_columns,
    sort_key,
)
from grokjax.stats.intervals import (
    Share,
    SignTest,
    Wilcoxon,
    bootstrap_rng,
    percentile_interval,
    sign_test,
    wilcoxon,
)
from grokjax.stats.survival import MedianStep, ReachTimes, median_interval, reach_times

__all__ = ["ArmSummary", "Comparison", "Pair", "Stratum", "compare", "compare_arms"]

SEEDS = ("seed", "data_seed")  # what pairs differ in inside a stratum


@dataclasses.dataclass(frozen=True)
class Pair:
    """One run of each arm with the same other settings; steps NaN where never reached."""

    match: tuple[tuple[str, Any], ...]  # the seeds that tell the pairs of a stratum apart
    run_a: str
    run_b: str
    step_a: float
    step_b: float
    budget_a: float
    budget_b: float

    @property
    def outcome(self) -> str:
        """"both", "a_only", "b_only" or "neither" reach the threshold."""
        a, b = not math.isnan(self.step_a), not math.isnan(self.step_b)
        return {(True, True): "both", (True, False): "a_only", (False, True): "b_only",
                (False, False): "neither"}[a, b]

    @property
    def speedup(self) -> float:
        """t_A / t_B; +inf when only B reaches it, 0 when only A does, NaN when neither."""
        if self.outcome == "both":  # a run that starts at the threshold reached it at step 0
            if self.step_b == 0:
                return 1.0 if self.step_a == 0 else math.inf
            return self.step_a / self.step_b
        return {"b_only": math.inf, "a_only": 0.0, "neither": math.nan}[self.outcome]

    @property
    def bound(self) -> float:
        """What is known of a censored pair's speed-up: its lower bound budget_A / t_B when only
        B reaches it, its upper bound t_A / budget_B when only A does (else the speed-up)."""
        if self.outcome == "b_only":
            return self.budget_a / self.step_b if self.step_b > 0 else math.inf
        if self.outcome == "a_only":
            return self.step_a / self.budget_b if self.budget_b > 0 else math.inf
        return self.speedup


@dataclasses.dataclass(frozen=True)
class ArmSummary:
    """One arm's paired runs: how many reach the threshold, and their median step."""

    value: Any
    reach: Share
    median: MedianStep


@dataclasses.dataclass(frozen=True)
class Stratum:
    """The comparison within one stratum (its other varying settings: ``key``)."""

    key: tuple[tuple[str, Any], ...]
    pairs: tuple[Pair, ...]
    arm_a: ArmSummary
    arm_b: ArmSummary
    median_speedup: MedianStep  # NaN value: undetermined (or no pair reaches it)
    sign: SignTest
    wilcoxon: Wilcoxon

    def count(self, outcome: str) -> int:
        return sum(p.outcome == outcome for p in self.pairs)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Arm ``a`` against arm ``b`` of ``setting``, stratum by stratum."""

    setting: str
    a: Any
    b: Any
    criterion: Criterion
    strata_by: tuple[str, ...]
    strata: tuple[Stratum, ...]
    unmatched: tuple[int, int]  # runs of A, of B without a partner (dropped)
    differing: tuple[str, ...]  # other settings whose value sets differ between the arms
    one_arm: tuple[str, ...]  # settings null in one whole arm (its component's): not matched
    n_boot: int
    seed: int

    def frame(self) -> pd.DataFrame:
        """One row per stratum: counts, reach shares, median steps, speed-up and p-values."""
        rows = []
        for s in self.strata:
            row: dict[str, Any] = {**dict(s.key), "pairs": len(s.pairs)}
            for arm, summ in (("a", s.arm_a), ("b", s.arm_b)):
                row.update({f"reach_{arm}": summ.reach.k, f"reach_{arm}_lo": summ.reach.lo,
                            f"reach_{arm}_hi": summ.reach.hi,
                            f"median_step_{arm}": summ.median.value})
            row.update({o: s.count(o) for o in ("both", "a_only", "b_only", "neither")})
            row.update(speedup=s.median_speedup.value, speedup_lo=s.median_speedup.lo,
                       speedup_hi=s.median_speedup.hi, sign_p=_nan(s.sign.p),
                       wilcoxon_n=s.wilcoxon.n, wilcoxon_p=_nan(s.wilcoxon.p))
            rows.append(row)
        return pd.DataFrame(rows)

    def pairs_frame(self) -> pd.DataFrame:
        """One row per pair: the stratum, the seeds, both runs' steps, outcome, speed-up."""
        return pd.DataFrame([{**dict(s.key), **dict(p.match), "run_a": p.run_a,
                              "run_b": p.run_b, "step_a": p.step_a, "step_b": p.step_b,
                              "outcome": p.outcome, "speedup": p.speedup, "bound": p.bound}
                             for s in self.strata for p in s.pairs])


def _nan(p: float | None) -> float:
    return math.nan if p is None else p


def _log_median(logs_BxN: np.ndarray) -> np.ndarray:
    """Median of each row of log speed-ups; NaN where the middle is -inf and +inf."""
    with np.errstate(invalid="ignore"):
        return np.median(logs_BxN, axis=1)


def _median_speedup(pairs: Sequence[Pair], rng: np.random.Generator, n_boot: int
                    ) -> MedianStep:
    ratios = np.array([p.speedup for p in pairs if p.outcome != "neither"])
    if len(ratios) == 0:
        return MedianStep(math.nan, math.nan, math.nan)
    with np.errstate(divide="ignore"):
        logs = np.log(ratios)
    value = float(np.exp(_log_median(logs[None, :])[0]))
    boot = _log_median(logs[rng.integers(0, len(logs), (n_boot, len(logs)))])
    # A resample whose middle pairs are one only-A and one only-B has no median: count it
    # as no speed-up (their midpoint on the log scale).
    lo, hi = percentile_interval(np.exp(np.nan_to_num(boot, nan=0.0, posinf=np.inf,
                                                      neginf=-np.inf)))
    return MedianStep(value, lo, hi)


def _free(cols: list[str], others: list[str], keys: list[tuple]) -> tuple[str, ...]:
    """The columns that tell strata apart, less those the earlier ones determine (Grokfast's
    alpha when grad_filter is a stratum column: it only repeats the filter)."""
    kept: list[str] = []
    for c in cols:
        seen = {tuple(k[others.index(x)] for x in kept) for k in keys}
        more = {tuple(k[others.index(x)] for x in (*kept, c)) for k in keys}
        if len(more) > len(seen):
            kept.append(c)
    return tuple(kept)


def _stratum(key, pairs: list[Pair], setting: str, a: Any, b: Any, times_a: ReachTimes,
             times_b: ReachTimes, n_boot: int, seed: int) -> Stratum:
    # An arm's median: the generator of the cell it is (grokjax.stats.cells), same numbers.
    arms = tuple(ArmSummary(v, Share.of(int(t.reached.sum()), len(t.step)), median_interval(
        t, bootstrap_rng(seed, key_label(sorted((*key, (setting, v))))), n_boot))
                 for v, t in ((a, times_a), (b, times_b)))
    rng = bootstrap_rng(seed, "speed-up " + key_label(key))
    known = [p for p in pairs if p.outcome != "neither"]
    n_pos = sum(p.speedup > 1 for p in known)
    n_neg = sum(p.speedup < 1 for p in known)
    with np.errstate(divide="ignore"):
        both = np.log([p.speedup for p in pairs if p.outcome == "both"])
    return Stratum(key=key, pairs=tuple(pairs), arm_a=arms[0], arm_b=arms[1],
                   median_speedup=_median_speedup(pairs, rng, n_boot),
                   sign=sign_test(n_pos, n_neg), wilcoxon=wilcoxon(both))


def _arms(df: pd.DataFrame, setting: str, a: Any, b: Any) -> tuple[list[np.ndarray], list]:
    """The rows of each arm, and each arm's value as stored (not as typed)."""
    masks = [match_value(df[setting], v) for v in (a, b)]
    present = ", ".join(sorted({label(v) for v in df[setting]}))
    for v, m in zip((a, b), masks, strict=True):
        if not m.any():
            raise StatsError(f"--compare: no run has {setting} = {label(v)}; "
                             f"values: {present}")
    if (masks[0] & masks[1]).any():
        raise StatsError(f"--compare: {label(a)} and {label(b)} are the same {setting}")
    return masks, [plain(df.loc[m, setting].iloc[0]) for m in masks]


@dataclasses.dataclass(frozen=True)
class _Matching:
    others: list[str]  # the settings pairs are matched on
    one_arm: tuple[str, ...]
    differing: tuple[str, ...]
    index: list[dict[tuple, int]]  # per arm: other settings -> row


def _match(df: pd.DataFrame, setting: str, masks: list[np.ndarray], labels: list[str],
           run_ids: list[str]) -> _Matching:
    """Key every run of both arms by its other settings; refuse arms that cannot pair."""
    sets = {c: [set(plain_values(df.loc[m, c])) for m in masks]
            for c in setting_columns(df) if c != setting}
    # A setting null in one whole arm belongs to the other arm's component (Grokfast's alpha
    # when grad_filter = "none"): not a difference, and not matched on.
    one_arm = tuple(c for c, (sa, sb) in sets.items() if (sa == {None}) != (sb == {None}))
    others = [c for c in sets if c not in one_arm]
    differing = tuple(c for c in others if sets[c][0] != sets[c][1])
    disjoint = [c for c in differing if not sets[c][0] & sets[c][1]]
    if disjoint:
        raise StatsError(
            f"--compare {setting}={labels[0]},{labels[1]}: the arms also differ in "
            + "; ".join(f"{c} ({labels[0]}: {', '.join(sorted(map(label, sets[c][0])))}; "
                        f"{labels[1]}: {', '.join(sorted(map(label, sets[c][1])))})"
                        for c in disjoint)
            + f", so no run has a partner that differs only in {setting}; select runs that "
              "match with --where, or compare that setting instead")
    index: list[dict[tuple, int]] = []
    for m, name in zip(masks, labels, strict=True):
        rows = np.flatnonzero(m)
        keys = list(zip(*(plain_values(df.loc[m, c]) for c in others), strict=True)) \
            if others else [()] * len(rows)
        by_key: dict[tuple, int] = {}
        for i, k in zip(rows, keys, strict=True):
            if k in by_key:
                raise StatsError(
                    f"--compare: runs {run_ids[by_key[k]]} and {run_ids[i]} ({setting} = "
                    f"{name}) have the same other settings, so their pairs are ambiguous "
                    f"({key_label(list(zip(others, k, strict=True))[:6])}, ...)")
            by_key[k] = int(i)
        index.append(by_key)
    return _Matching(others, one_arm, differing, index)


def compare(df: pd.DataFrame, setting: str, a: Any, b: Any, *, metric: str = "test_acc",
            threshold: float = 0.9, below: bool | None = None, pool: bool = False,
            n_boot: int = N_BOOT, seed: int = 0) -> Comparison:
    """Compare arm ``setting == a`` with arm ``setting == b`` pair by pair (module docstring).

    Values may be given as text ("1e-3", "true").  Raises ``StatsError`` naming the column
    and the values when the arms cannot be paired.
    """
    check_columns(df, [setting], "--compare")
    crit = criterion(df, metric, threshold, below)
    if n_boot < 1:
        raise StatsError(f"--boot: {n_boot} must be >= 1")
    df = df.reset_index(drop=True)
    run_ids = (df["run_id"].astype(str).tolist() if "run_id" in df.columns
               else [f"row {i}" for i in range(len(df))])
    masks, values = _arms(df, setting, a, b)
    mt = _match(df, setting, masks, [label(v) for v in values], run_ids)
    common = [k for k in mt.index[0] if k in mt.index[1]]
    if not common:
        raise StatsError(f"--compare: no run of {setting} = {label(a)} has a partner with "
                         f"{setting} = {label(b)} and the same other settings"
                         + (f"; their values differ in {', '.join(mt.differing)}"
                            if mt.differing else ""))
    col = {c: j for j, c in enumerate(mt.others)}
    varying = [c for c in mt.others if len({k[col[c]] for k in common}) > 1]
    free = _free([c for c in varying if c not in SEEDS], mt.others, common)
    strata_by = () if pool else free
    match_by = [c for c in mt.others if c in SEEDS or (pool and c in free)]
    groups: dict[tuple, list[tuple]] = {}
    for k in common:
        groups.setdefault(tuple(k[col[c]] for c in strata_by), []).append(k)
    times = reach_times(df, crit.metric, crit.threshold, crit.below)
    strata = []
    for skey in sorted(groups, key=lambda t: [sort_key(v) for v in t]):
        ks = sorted(groups[skey], key=lambda k: [sort_key(k[col[c]]) for c in match_by])
        ia, ib = [mt.index[0][k] for k in ks], [mt.index[1][k] for k in ks]
        pairs = [Pair(match=tuple((c, k[col[c]]) for c in match_by), run_a=run_ids[i],
                      run_b=run_ids[j], step_a=float(times.step[i]),
                      step_b=float(times.step[j]), budget_a=float(times.budget[i]),
                      budget_b=float(times.budget[j]))
                 for k, i, j in zip(ks, ia, ib, strict=True)]
        strata.append(_stratum(tuple(zip(strata_by, skey, strict=True)), pairs, setting,
                               *values, times.take(ia), times.take(ib), n_boot, seed))
    return Comparison(setting=setting, a=values[0], b=values[1], criterion=crit,
                      strata_by=strata_by, strata=tuple(strata),
                      unmatched=(len(mt.index[0]) - len(common),
                                 len(mt.index[1]) - len(common)),
                      differing=mt.differing, one_arm=mt.one_arm, n_boot=n_boot, seed=seed)


def compare_arms(df: pd.DataFrame, setting: str, a: Any, b: Any, **kwargs: Any
                 ) -> pd.DataFrame:
    """``compare(df, setting, a, b, **kwargs).frame()``: one row per stratum."""
    return compare(df, setting, a, b, **kwargs).frame()
