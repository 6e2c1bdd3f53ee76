"""Statistics of logged curves, shared by the summaries, the phase rules and the page.

Curves are ``R x L`` arrays (runs x logged steps).  Thresholds are compared at the precision the
curve is stored in, so a float32 accuracy of 0.9 reaches the threshold 0.9 (float32(0.9) < 0.9
in float64).  NaN never reaches a threshold.
"""

from __future__ import annotations

import numpy as np


def at_precision(value: float, x: np.ndarray) -> float:
    """``value`` rounded to the curve's float type."""
    if np.issubdtype(x.dtype, np.floating):
        return float(np.asarray(value, dtype=x.dtype))
    return float(value)


def first_index(x_RxL: np.ndarray, threshold: float) -> np.ndarray:
    """Index of the first step with ``x >= threshold`` per run, -1 if never."""
    hit = x_RxL >= at_precision(threshold, x_RxL)
    if hit.shape[1] == 0:
        return np.full(hit.shape[0], -1)
    return np.where(hit.any(axis=1), hit.argmax(axis=1), -1)


def first_step(step: np.ndarray, x_RxL: np.ndarray, threshold: float) -> np.ndarray:
    """First logged step with ``x >= threshold`` per run (float, NaN if never).

    ``step`` is the L logged steps shared by every run, or an R x L array of each run's steps.
    """
    idx = first_index(x_RxL, threshold)
    step_RxL = np.broadcast_to(np.asarray(step), x_RxL.shape)
    if x_RxL.shape[1] == 0:
        return np.full(x_RxL.shape[0], np.nan)
    got = step_RxL[np.arange(x_RxL.shape[0]), np.maximum(idx, 0)].astype(float)
    return np.where(idx >= 0, got, np.nan)


def last_finite_index(x_RxL: np.ndarray) -> np.ndarray:
    """Index of the last finite value per run, -1 if none."""
    finite = np.isfinite(x_RxL)
    if finite.shape[1] == 0:
        return np.full(finite.shape[0], -1)
    last = finite.shape[1] - 1 - finite[:, ::-1].argmax(axis=1)
    return np.where(finite.any(axis=1), last, -1)


def last_finite(x_RxL: np.ndarray) -> np.ndarray:
    """The last finite value per run (NaN if none): a diverged run's final value."""
    idx = last_finite_index(x_RxL)
    if x_RxL.shape[1] == 0:
        return np.full(x_RxL.shape[0], np.nan)
    out = x_RxL[np.arange(x_RxL.shape[0]), np.maximum(idx, 0)]
    return np.where(idx >= 0, out, np.nan)
