"""Intervals and tests on small samples: Wilson score intervals, the exact sign test, the
Wilcoxon signed-rank test and a seeded percentile bootstrap.  numpy only, deterministic.

* ``wilson(k, n)``: the Wilson score interval of a share, 95% by default (``z`` = the normal
  quantile 1.95996...).  Unlike the normal (Wald) interval it stays inside [0, 1] and is not
  empty at 0/n or n/n: 0/10 -> [0, 0.278], 10/10 -> [0.722, 1].  ``n = 0`` gives (0, 1).
* ``sign_test(n_pos, n_neg)``: the two-sided exact binomial test of "either sign equally
  likely", p = min(1, 2 min(P[X <= k], P[X >= k])), X ~ Bin(n_pos + n_neg, 1/2).  Ties are
  the caller's to drop.
* ``wilcoxon(d)``: the Wilcoxon signed-rank test of "d symmetric about 0", two-sided.  Zeros
  are dropped (Wilcoxon's own rule); tied |d| get their average rank.  For at most
  ``EXACT_MAX_N`` non-zero values the p-value is exact: the distribution of W+ over all 2^n
  sign assignments of the observed ranks (so also exact under ties, conditional on them).
  Above that, the normal approximation with the tie correction of the variance and no
  continuity correction (scipy's ``method="approx", correction=False``).
* ``percentile_interval`` / ``bootstrap_rng``: order statistics of bootstrap replicates (no
  interpolation, so +inf replicates give an +inf end instead of NaN) and a generator seeded
  from a seed and a label, so one cell's interval does not depend on which other cells exist.
"""

from __future__ import annotations

import dataclasses
import math
import zlib

import numpy as np

__all__ = ["CONFIDENCE", "EXACT_MAX_N", "Z95", "Share", "SignTest", "Wilcoxon", "bootstrap_rng",
           "percentile_interval", "sign_test", "wilcoxon", "wilson"]

Z95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval
CONFIDENCE = 0.95
EXACT_MAX_N = 50  # the Wilcoxon test is exact up to this many non-zero differences


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a share k / n (``(0, 1)`` for n = 0).

    The same expression, in the same order, is page.js's ``wilson`` (the page recomputes it
    from live counts); the browser test checks that both agree.
    """
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclasses.dataclass(frozen=True)
class Share:
    """k of n runs, with the Wilson 95% interval [lo, hi] of the share."""

    k: int
    n: int
    lo: float
    hi: float

    @classmethod
    def of(cls, k: int, n: int) -> Share:
        lo, hi = wilson(k, n)
        return cls(int(k), int(n), lo, hi)

    @property
    def share(self) -> float:
        return self.k / self.n if self.n else math.nan


@dataclasses.dataclass(frozen=True)
class SignTest:
    """B sooner in ``n_pos`` pairs, A sooner in ``n_neg``; ``p`` None when no pair is ordered."""

    n_pos: int
    n_neg: int
    p: float | None


def _binom_cdf_half(k: int, n: int) -> float:
    """P[X <= k] for X ~ Bin(n, 1/2), exact (Python integers, one correctly rounded division)."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(min(k, n) + 1)) / 2**n


def sign_test(n_pos: int, n_neg: int) -> SignTest:
    """Two-sided exact sign test of ``n_pos`` positive against ``n_neg`` negative pairs."""
    m = n_pos + n_neg
    if m == 0:
        return SignTest(0, 0, None)
    lower = _binom_cdf_half(n_pos, m)
    upper = 1.0 - _binom_cdf_half(n_pos - 1, m)
    return SignTest(n_pos, n_neg, min(1.0, 2 * min(lower, upper)))


@dataclasses.dataclass(frozen=True)
class Wilcoxon:
    """The signed-rank test on ``n`` non-zero differences (``n_zero`` dropped): W+ is the sum of
    the ranks of |d| over the positive d; ``method`` is "exact" or "normal"."""

    n: int
    n_zero: int
    w_plus: float
    p: float | None
    method: str


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x`` with ties given their average rank."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    ranks = np.empty(len(x))
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def wilcoxon(d: np.ndarray) -> Wilcoxon:
    """Two-sided Wilcoxon signed-rank test of the differences ``d`` (may hold +-inf)."""
    d = np.asarray(d, dtype=float)
    if np.isnan(d).any():
        raise ValueError("wilcoxon: the differences hold NaN")
    nonzero = d[d != 0]
    n, n_zero = len(nonzero), int(np.sum(d == 0))
    if n == 0:
        return Wilcoxon(0, n_zero, 0.0, None, "exact")
    r = _ranks(np.abs(nonzero))
    w_plus = float(r[nonzero > 0].sum())
    if n <= EXACT_MAX_N:
        # Doubled ranks are integers (average ranks are halves); W+ over the 2^n sign choices.
        a = np.rint(2 * r).astype(int)
        dist = np.zeros(int(a.sum()) + 1)
        dist[0] = 1.0
        for step in a:
            shifted = np.zeros_like(dist)
            shifted[step:] = dist[:len(dist) - step]
            dist = 0.5 * (dist + shifted)
        w2 = round(2 * w_plus)
        p = min(1.0, 2 * min(dist[:w2 + 1].sum(), dist[w2:].sum()))
        return Wilcoxon(n, n_zero, w_plus, float(p), "exact")
    _, t = np.unique(np.abs(nonzero), return_counts=True)
    mean = n * (n + 1) / 4
    var = n * (n + 1) * (2 * n + 1) / 24 - float(np.sum(t**3 - t)) / 48
    z = (w_plus - mean) / math.sqrt(var) if var > 0 else 0.0
    return Wilcoxon(n, n_zero, w_plus, math.erfc(abs(z) / math.sqrt(2)), "normal")


def bootstrap_rng(seed: int, label: str) -> np.random.Generator:
    """A generator for the bootstrap of one cell or stratum: from ``seed`` and its ``label``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(label.encode())]))


def percentile_interval(replicates: np.ndarray, confidence: float = CONFIDENCE
                        ) -> tuple[float, float]:
    """The (1 - c)/2 and (1 + c)/2 quantiles of bootstrap replicates, as order statistics
    (``inverted_cdf``: no interpolation; +inf replicates give +inf, never NaN)."""
    x = np.asarray(replicates, dtype=float)
    if len(x) == 0 or np.isnan(x).any():
        return math.nan, math.nan
    tail = round((1 - confidence) / 2, 12)  # 0.025, not 0.025000000000000022
    lo, hi = np.quantile(x, [tail, 1 - tail], method="inverted_cdf")
    return float(lo), float(hi)
