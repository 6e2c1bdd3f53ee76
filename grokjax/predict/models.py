"""Two small deterministic classifiers in numpy, with fixed hyperparameters (never tuned on the
scored runs):

- ``logistic``: L2-penalised logistic regression on standardized features (penalty 1.0 on the
  weights, none on the intercept), fitted by Newton's method (IRLS);
- ``stumps``: gradient-boosted decision stumps on the logistic loss (100 rounds, shrinkage 0.1,
  split points at 16 quantiles of each feature, at least 3 runs per side, Newton leaf values
  with an L2 penalty of 1.0), the nonlinear model.

A training fold with one class only gets the constant predictor of its base rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

Predictor = Callable[[np.ndarray], np.ndarray]  # x_NxF -> probabilities of the positive class
EPS = 1e-6  # probabilities are clipped to [EPS, 1 - EPS]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|


def constant(p: float) -> Predictor:
    p = float(np.clip(p, EPS, 1 - EPS))
    return lambda x: np.full(len(x), p)


class Standardizer(NamedTuple):
    mean_F: np.ndarray
    scale_F: np.ndarray

    @classmethod
    def fit(cls, x_NxF: np.ndarray) -> Standardizer:
        sd = x_NxF.std(axis=0)
        return cls(x_NxF.mean(axis=0), np.where(sd > 0, sd, 1.0))

    def __call__(self, x_NxF: np.ndarray) -> np.ndarray:
        return (x_NxF - self.mean_F) / self.scale_F


def fit_logistic(x_NxF: np.ndarray, y_N: np.ndarray, l2: float = 1.0, max_iter: int = 100
                 ) -> Predictor:
    """Newton's method on the penalised mean log-loss x n (IRLS); converges in a few steps."""
    y = np.asarray(y_N, np.float64)
    if y.min() == y.max():
        return constant(y.mean())
    std = Standardizer.fit(x_NxF)
    z = np.column_stack([np.ones(len(y)), std(x_NxF)])
    pen = np.full(z.shape[1], l2)
    pen[0] = 0.0
    w = np.zeros(z.shape[1])
    for _ in range(max_iter):
        p = sigmoid(z @ w)
        grad = z.T @ (p - y) + pen * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(pen) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break

    def predict(x: np.ndarray) -> np.ndarray:
        zz = np.column_stack([np.ones(len(x)), std(x)])
        return np.clip(sigmoid(zz @ w), EPS, 1 - EPS)

    return predict


class Stump(NamedTuple):
    feature: int
    threshold: float
    left: float  # added to the log-odds where x[feature] <= threshold
    right: float


class SplitGrid(NamedTuple):
    """The candidate splits of a training set, fixed across boosting rounds: each feature's
    sort order and the positions after which a split may fall (left = positions 0..i)."""

    order_NxF: np.ndarray
    pos_C: np.ndarray  # candidate positions (the same for every feature: ``n_cuts`` quantiles)
    ok_CxF: np.ndarray  # the value changes after that position (a real split)
    threshold_CxF: np.ndarray  # midpoint between the two values


def split_grid(x_NxF: np.ndarray, n_cuts: int, min_leaf: int) -> SplitGrid:
    n = len(x_NxF)
    order = np.argsort(x_NxF, axis=0, kind="mergesort")
    xs = np.take_along_axis(x_NxF, order, axis=0)
    if n - min_leaf <= min_leaf - 1:
        pos = np.array([], np.int64)
    else:
        pos = np.unique(np.quantile(np.arange(min_leaf - 1, n - min_leaf),
                                    np.linspace(0, 1, n_cuts)).astype(np.int64))
    lo, hi = xs[pos], xs[np.minimum(pos + 1, n - 1)]
    return SplitGrid(order, pos, lo < hi, (lo + hi) / 2)


def _best_stump(grid: SplitGrid, g_N: np.ndarray, h_N: np.ndarray, l2: float) -> Stump | None:
    """The split with the largest Newton gain G_L^2/(H_L+l2) + G_R^2/(H_R+l2)."""
    if not grid.ok_CxF.any():
        return None
    cg, ch = np.cumsum(g_N[grid.order_NxF], axis=0), np.cumsum(h_N[grid.order_NxF], axis=0)
    gl, hl = cg[grid.pos_C], ch[grid.pos_C]
    gr, hr = cg[-1] - gl, ch[-1] - hl
    gain = np.where(grid.ok_CxF, gl ** 2 / (hl + l2) + gr ** 2 / (hr + l2), -np.inf)
    c, f = np.unravel_index(int(np.argmax(gain)), gain.shape)  # first best: lowest c, then f
    return Stump(int(f), float(grid.threshold_CxF[c, f]), float(gl[c, f] / (hl[c, f] + l2)),
                 float(gr[c, f] / (hr[c, f] + l2)))


def fit_stumps(x_NxF: np.ndarray, y_N: np.ndarray, rounds: int = 100, shrinkage: float = 0.1,
               n_cuts: int = 16, min_leaf: int = 3, l2: float = 1.0) -> Predictor:
    y = np.asarray(y_N, np.float64)
    if y.min() == y.max():
        return constant(y.mean())
    base = float(np.log(y.mean() / (1 - y.mean())))
    f_N = np.full(len(y), base)
    grid = split_grid(x_NxF, n_cuts, min_leaf)
    stumps: list[Stump] = []
    for _ in range(rounds):
        p = sigmoid(f_N)
        s = _best_stump(grid, y - p, p * (1 - p), l2)
        if s is None:
            break
        stumps.append(s)
        f_N += shrinkage * np.where(x_NxF[:, s.feature] <= s.threshold, s.left, s.right)

    def predict(x: np.ndarray) -> np.ndarray:
        out = np.full(len(x), base)
        for s in stumps:
            out += shrinkage * np.where(x[:, s.feature] <= s.threshold, s.left, s.right)
        return np.clip(sigmoid(out), EPS, 1 - EPS)

    return predict


def fit_cell_rate(x_NxF: np.ndarray, y_N: np.ndarray, prior: float = 1.0) -> Predictor:
    """The settings baseline: each run gets the grok rate of its hyperparameter cell among the
    training runs, ``x_NxF[:, 0]`` being the cell's code.  The rate is shrunk towards the
    training base rate by ``prior`` pseudo-runs; a cell with no training run gets the base rate.
    It knows a run's settings and nothing of its curves."""
    y = np.asarray(y_N, np.float64)
    base = float(y.mean())
    code_N = x_NxF[:, 0]
    cells = np.unique(code_N)
    rate = {float(c): (y[code_N == c].sum() + prior * base) / ((code_N == c).sum() + prior)
            for c in cells}

    def predict(x: np.ndarray) -> np.ndarray:
        p = np.array([rate.get(float(c), base) for c in x[:, 0]], np.float64)
        return np.clip(p, EPS, 1 - EPS)

    return predict


MODELS: dict[str, Callable[[np.ndarray, np.ndarray], Predictor]] = {
    "logistic": fit_logistic,
    "stumps": fit_stumps,
}
