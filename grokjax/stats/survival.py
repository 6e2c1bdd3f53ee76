"""Time to a threshold, with the runs that never get there handled as censored.

``reach_times`` reads each run's curve: the first *logged* step at which ``metric`` reaches the
threshold (``>=``; ``<=`` for a loss), compared at the curve's stored precision as the phase
rules do (``grokjax.curves``).  A run that never reaches it is **right-censored at its last
logged step** (its budget): all we know is that it needs more than that.  A diverged run that
had not reached it counts the same way (it never will, so this is conservative, not optimistic).

``km_median``: the median step from the Kaplan-Meier estimate S(t) of "not yet reached":
the first event step at which S drops below 1/2; where S stays exactly at 1/2 between two event
steps, their midpoint (R's ``survfit`` convention, which makes it the ordinary median when
nothing is censored).  "Not reached" (``inf``) when S never falls below 1/2 -- when fewer than
half the runs reach the threshold, or exactly half and the rest are censored.  With equal
budgets (a plain grid) this is exactly the median of the steps with "never" counted as +inf.

``median_interval``: a percentile bootstrap of that median (runs resampled with replacement,
seeded, in a canonical order); its upper end is ``inf`` ("not reached") when at least 2.5% of
the resamples have fewer than half the runs reaching the threshold.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from grokjax.curves import first_step
from grokjax.stats.intervals import percentile_interval

__all__ = ["MedianStep", "ReachTimes", "km_median", "km_medians", "median_interval",
           "reach_times"]

_HALF_TOL = 1e-12  # S(t) == 1/2 up to the rounding of a product of ratios


@dataclasses.dataclass(frozen=True)
class ReachTimes:
    """Per run: the first logged step at the threshold (NaN: never) and its budget (its last
    logged step, where a run that never reaches the threshold is censored)."""

    step: np.ndarray
    budget: np.ndarray

    @property
    def reached(self) -> np.ndarray:
        return ~np.isnan(self.step)

    @property
    def time(self) -> np.ndarray:
        """The event or censoring step of every run."""
        return np.where(self.reached, self.step, self.budget)

    def take(self, idx: np.ndarray | Sequence[int]) -> ReachTimes:
        idx = np.asarray(idx, dtype=int)
        return ReachTimes(self.step[idx], self.budget[idx])


def _curve(v) -> np.ndarray:
    a = np.asarray(v)
    return a if a.ndim == 1 else np.zeros(0)


def reach_times(df: pd.DataFrame, metric: str, threshold: float, below: bool) -> ReachTimes:
    """First logged step of every row of ``df`` at which ``metric >= threshold`` (``<=`` when
    ``below``); the columns must exist (checked by the caller) and hold one curve per row."""
    n = len(df)
    step = np.full(n, np.nan)
    budget = np.full(n, np.nan)
    xs = [_curve(v) for v in df[metric]]
    ss = [_curve(v) for v in df["step"]]
    by_len: dict[int, list[int]] = {}
    for i, (x, s) in enumerate(zip(xs, ss, strict=True)):
        if len(x) and len(x) == len(s):
            by_len.setdefault(len(x), []).append(i)
    for idx in by_len.values():  # one vectorised pass per curve length
        x_RxL = np.stack([xs[i] for i in idx])
        s_RxL = np.stack([ss[i] for i in idx]).astype(float)
        if not np.issubdtype(x_RxL.dtype, np.floating):
            x_RxL = x_RxL.astype(float)
        got = first_step(s_RxL, -x_RxL if below else x_RxL, -threshold if below else threshold)
        step[idx] = got
        budget[idx] = s_RxL[:, -1]
    return ReachTimes(step, budget)


def km_medians(time: np.ndarray, event: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The Kaplan-Meier median of each row of ``weights`` (B x n run multiplicities: a bootstrap
    resample per row, or one row of ones); ``inf`` where not reached.  Events at a step come
    before censorings at the same step (a run censored at t was still at risk at t)."""
    time, event = np.asarray(time, float), np.asarray(event, bool)
    w = np.atleast_2d(np.asarray(weights, float))
    u = np.unique(time[event])
    if len(u) == 0:
        return np.full(w.shape[0], math.inf)
    events = (event[:, None] & (time[:, None] == u[None, :])).astype(float)  # n x J
    at_risk = (time[:, None] >= u[None, :]).astype(float)
    d, r = w @ events, w @ at_risk  # B x J
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(np.where(r > 0, 1 - d / r, 1.0), axis=1)
    below = surv < 0.5 - _HALF_TOL
    half = np.abs(surv - 0.5) <= _HALF_TOL
    J = len(u)
    first_below = np.where(below.any(axis=1), below.argmax(axis=1), J)
    first_half = np.where(half.any(axis=1), half.argmax(axis=1), J)
    u_ext = np.append(u, math.inf)
    at_below = u_ext[first_below]
    flat = first_half < first_below  # S rests at exactly 1/2 before it drops: the midpoint
    return np.where(flat, (u_ext[first_half] + at_below) / 2, at_below)


def km_median(times: ReachTimes) -> float:
    """The Kaplan-Meier median step of the runs (``inf``: not reached)."""
    if len(times.step) == 0:
        return math.nan
    return float(km_medians(times.time, times.reached, np.ones(len(times.step)))[0])


@dataclasses.dataclass(frozen=True)
class MedianStep:
    """A median step and its bootstrap interval; ``inf`` means "not reached", NaN "no runs"."""

    value: float
    lo: float
    hi: float


def median_interval(times: ReachTimes, rng: np.random.Generator, n_boot: int,
                    confidence: float = 0.95) -> MedianStep:
    """The Kaplan-Meier median and its percentile-bootstrap interval (runs resampled)."""
    n = len(times.step)
    if n == 0:
        return MedianStep(math.nan, math.nan, math.nan)
    # Runs in a canonical order (by time, events first), so the same runs give the same
    # resamples whatever order they came in (a cell and the same arm of a comparison agree).
    times = times.take(np.lexsort((~times.reached, times.time)))
    value = km_median(times)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    lo, hi = percentile_interval(km_medians(times.time, times.reached, counts), confidence)
    return MedianStep(value, lo, hi)
