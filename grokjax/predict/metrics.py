"""Scores of out-of-fold predictions: exact AUROC, AUROC over the pairs one model ranked, a
cluster bootstrap interval, calibration.

**Which pairs count.**  Pooling the out-of-fold probabilities of all folds and computing one
AUROC compares runs that different models scored; each model's intercept follows its training
base rate, which is lowest where the test fold holds the most positives, so an uninformative
predictor pooled this way scores *below* 0.5 (on predict_parity at 10% of the steps: a constant
predictor 0.30, 0.43 with stratified folds; a per-cell rate within its cells 0.15 and 0.28).
Here a (positive, negative) pair counts only when the same fitted model scored both runs --
both in the test fold of the same split -- and, for the within-cell score, when the two runs
share their hyperparameters.  Repeating the folds with
other seeds brings most pairs in (``pair_masks``): an average over repeats of fold-wise AUROCs
weighted by their pairs.  A constant predictor then scores exactly 0.5.

**Intervals.**  Runs that share a seed are not independent (same data split, same init), so the
bootstrap resamples whole groups (seeds) with replacement, as integer weights on the runs
(``group_weights``); the out-of-fold probabilities are held fixed (the refitting variance of
the models is not in the interval).  Every predictor is scored on the same resamples, so
differences are paired.

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


class Pairs(NamedTuple):
    """The (positive, negative) pairs that count: per repeat, a P x Q mask over the scored
    positives ``pos_P`` and negatives ``neg_Q`` (indices into the scored runs)."""

    pos_P: np.ndarray
    neg_Q: np.ndarray
    mask_RxPxQ: np.ndarray  # bool


def pair_masks(label_N: np.ndarray, split_RxN: np.ndarray, stratum_N: np.ndarray | None = None
               ) -> Pairs:
    """Pairs scored by one model: the same split (test fold) in a repeat, and, with
    ``stratum_N``, the same stratum (hyperparameter cell)."""
    y = np.asarray(label_N, bool)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    split = np.asarray(split_RxN)
    mask = split[:, pos, None] == split[:, None, neg]
    if stratum_N is not None:
        c = np.asarray(stratum_N)
        mask = mask & (c[pos, None] == c[None, neg])[None]
    return Pairs(pos, neg, mask)


def group_weights(group_N: np.ndarray, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """B x N integer weights: how often each run's group is drawn in each of ``n_boot``
    resamples of the groups with replacement."""
    groups, inverse = np.unique(np.asarray(group_N), return_inverse=True)
    draws_BxG = np.random.default_rng(seed).integers(0, len(groups), (n_boot, len(groups)))
    counts_BxG = np.zeros((n_boot, len(groups)), np.float64)
    np.add.at(counts_BxG, (np.arange(n_boot)[:, None], draws_BxG), 1.0)
    return counts_BxG[:, inverse]


def pair_auroc(score_RxN: np.ndarray, pairs: Pairs, weight_BxN: np.ndarray | None = None
               ) -> np.ndarray:
    """AUROC over the counted pairs, each pair weighted by the product of its runs' weights
    (one value per weight row; weights of ones: the plain estimate).  A tie counts one half;
    NaN where no pair counts."""
    score = np.asarray(score_RxN, np.float64)
    w = np.ones((1, score.shape[1])) if weight_BxN is None else np.asarray(weight_BxN)
    wp, wq = w[:, pairs.pos_P], w[:, pairs.neg_Q]
    num, den = np.zeros(len(w)), np.zeros(len(w))
    for r in range(score.shape[0]):
        sp, sq = score[r, pairs.pos_P][:, None], score[r, pairs.neg_Q][None, :]
        m = pairs.mask_RxPxQ[r].astype(np.float64)
        c = m * ((sp > sq) + 0.5 * (sp == sq))
        num += np.sum((wp @ c) * wq, axis=1)
        den += np.sum((wp @ m) * wq, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def percentile_interval(point: float, values: np.ndarray, level: float = 0.95) -> Interval:
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return Interval(float(point), float("nan"), float("nan"), 0)
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return Interval(float(point), float(low), float(high), len(values))


def auroc_interval(score_RxN: np.ndarray, pairs: Pairs, weight_BxN: np.ndarray,
                   level: float = 0.95) -> Interval:
    """The pair AUROC with its percentile interval over the bootstrap weights."""
    return percentile_interval(pair_auroc(score_RxN, pairs)[0],
                               pair_auroc(score_RxN, pairs, weight_BxN), level)


def auroc_difference(a_RxN: np.ndarray, b_RxN: np.ndarray, pairs: Pairs,
                     weight_BxN: np.ndarray, level: float = 0.95) -> Interval:
    """AUROC(a) - AUROC(b) on the same pairs, with a paired percentile interval."""
    point = pair_auroc(a_RxN, pairs)[0] - pair_auroc(b_RxN, pairs)[0]
    return percentile_interval(point, pair_auroc(a_RxN, pairs, weight_BxN)
                               - pair_auroc(b_RxN, pairs, weight_BxN), level)


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
