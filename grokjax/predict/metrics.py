"""Scores of out-of-fold predictions: exact AUROC, a cluster bootstrap interval, calibration.

Everything is plain numpy and deterministic (the bootstrap draws from a seeded generator).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def average_ranks(x_N: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank (as scipy.stats.rankdata)."""
    x_N = np.asarray(x_N, np.float64)
    order = np.argsort(x_N, kind="mergesort")
    sorted_N = x_N[order]
    # Start of each run of equal values; a tie block's ranks average to (first + last) / 2.
    new = np.concatenate([[True], sorted_N[1:] != sorted_N[:-1]])
    block = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.concatenate([starts[1:], [len(x_N)]])
    avg = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(x_N))
    ranks[order] = avg[block]
    return ranks


def auroc(score_N: np.ndarray, label_N: np.ndarray) -> float:
    """Exact area under the ROC curve (Mann-Whitney U / (n1 n0)); a tie counts one half.

    NaN when only one class is present.
    """
    y = np.asarray(label_N, bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = average_ranks(score_N)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


class Interval(NamedTuple):
    """A point estimate with a percentile bootstrap interval (``n_valid`` usable resamples)."""

    value: float
    low: float
    high: float
    n_valid: int


def cluster_bootstrap_auroc(score_N: np.ndarray, label_N: np.ndarray, group_N: np.ndarray,
                            n_boot: int = 1000, level: float = 0.95, seed: int = 0
                            ) -> Interval:
    """AUROC with a percentile interval from resampling whole groups (seeds) with replacement.

    Runs that share a seed are not independent (same data split, same init), so the resampling
    unit is the group.  Resamples holding one class only are skipped.
    """
    score_N = np.asarray(score_N, np.float64)
    label_N = np.asarray(label_N, bool)
    point = auroc(score_N, label_N)
    groups, inverse = np.unique(np.asarray(group_N), return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(groups))]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(groups), len(groups))
        idx = np.concatenate([members[g] for g in pick])
        a = auroc(score_N[idx], label_N[idx])
        if not np.isnan(a):
            values.append(a)
    if not values:
        return Interval(point, float("nan"), float("nan"), 0)
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return Interval(point, float(low), float(high), len(values))


def brier(prob_N: np.ndarray, label_N: np.ndarray) -> float:
    """Mean squared error of the probabilities against the 0/1 labels."""
    p = np.asarray(prob_N, np.float64)
    return float(np.mean(np.square(p - np.asarray(label_N, np.float64))))


class ReliabilityBin(NamedTuple):
    low: float
    high: float
    n: int
    mean_prob: float  # NaN for an empty bin
    frac_positive: float


def reliability(prob_N: np.ndarray, label_N: np.ndarray, n_bins: int = 5
                ) -> list[ReliabilityBin]:
    """Equal-width probability bins: how many runs, their mean prediction, their observed rate."""
    p = np.asarray(prob_N, np.float64)
    y = np.asarray(label_N, np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        m = which == b
        n = int(m.sum())
        out.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), n,
                                  float(p[m].mean()) if n else float("nan"),
                                  float(y[m].mean()) if n else float("nan")))
    return out


def expected_calibration_error(bins: list[ReliabilityBin]) -> float:
    """Run-weighted mean |mean prediction - observed rate| over the non-empty bins."""
    total = sum(b.n for b in bins)
    if total == 0:
        return float("nan")
    return float(sum(b.n * abs(b.mean_prob - b.frac_positive) for b in bins if b.n) / total)
