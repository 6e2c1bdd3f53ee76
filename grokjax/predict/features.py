"""Features of the start of every run: its logged curves up to a cut at a fraction of its steps.

For a cut at fraction ``at`` of a run's steps, the prefix is every logged step <= at * steps
(the run's own budget, so runs of different lengths are cut alike).  Per curve:

- ``NAME``: the value at the cut (the last logged step of the prefix);
- ``d_NAME``: its least-squares slope over the last half of the prefix, per 1,000 steps.

Losses and norms (``*_loss``, ``*_norm``, ``norm_*``) are taken as log10 first (a loss falls
over decades).  Curves: the engine's common ones (losses, accuracies, ``l2_norm``, ``l1_norm``)
and every other logged curve (the task's progress measures such as ``fourier_gini_in`` or
``relevant_norm``, and the telemetry such as ``norm_W_in`` or ``grad_cos``).  Two more:
``loss_gap`` (log10 test loss - log10 train loss at the cut) and the oscillation of the
training loss over the whole prefix (``osc_power``, ``osc_share``; grokjax.predict.spectral).

Everything is computed on the host from the stored curves, which the compiled loop logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from grokjax.predict.spectral import oscillation
from grokjax.store import ResultsError

BASE_CURVES = ("train_loss", "test_loss", "train_acc", "test_acc", "l2_norm", "l1_norm")
LOG_FLOOR = 1e-30  # a loss of exactly 0 (float32 underflow) becomes -30 in log10
MIN_PREFIX = 4  # logged points up to the cut needed for a slope


class FeatureTable(NamedTuple):
    """Features of R runs (rows in the order of the DataFrame given)."""

    names: tuple[str, ...]
    x_RxF: np.ndarray  # float64; NaN where a run's prefix has a non-finite value
    cut_step_R: np.ndarray  # int64: the last logged step of each run's prefix
    cut_index_R: np.ndarray  # int64: its position in the run's curves


def is_log_curve(name: str) -> bool:
    return name.endswith(("_loss", "_norm")) or name.startswith("norm_")


def curve_columns(df: pd.DataFrame) -> tuple[str, ...]:
    """The logged curves of the rows: the common ones first, then the others sorted."""
    if "step" not in df.columns or len(df) == 0:
        raise ResultsError("no rows with a logged `step` curve to predict from")
    n = np.array([len(s) for s in df["step"]])
    found = []
    for col in df.columns:
        if col == "step" or df[col].dtype != object:
            continue
        first = df[col].iloc[0]
        if (isinstance(first, (np.ndarray, list)) and np.asarray(first).dtype.kind == "f"
                and all(isinstance(v, (np.ndarray, list)) and len(v) == k
                    for v, k in zip(df[col], n, strict=True))):
            found.append(col)
    missing = [c for c in BASE_CURVES[:4] if c not in found]
    if missing:
        raise ResultsError(f"the rows have no {', '.join(missing)} curve(s) to predict from")
    return tuple(c for c in BASE_CURVES if c in found) + tuple(
        sorted(c for c in found if c not in BASE_CURVES))


def cut_indices(df: pd.DataFrame, at: float) -> tuple[np.ndarray, np.ndarray]:
    """(cut index, cut step) of every run: its last logged step <= at * (its last step)."""
    idx, step = [], []
    for s in df["step"]:
        s = np.asarray(s, np.int64)
        i = int(np.searchsorted(s, at * s[-1], side="right")) - 1
        idx.append(i)
        step.append(int(s[max(i, 0)]))
    idx_R = np.array(idx, np.int64)
    if idx_R.min() + 1 < MIN_PREFIX:
        raise ResultsError(f"--at {at}: a run has only {idx_R.min() + 1} logged step(s) up to "
                           f"the cut; at least {MIN_PREFIX} are needed (a later --at, or a "
                           "smaller log_every)")
    return idx_R, np.array(step, np.int64)


def _transformed(name: str, values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, np.float64)
    return np.log10(np.maximum(v, LOG_FLOOR)) if is_log_curve(name) else v


def slope_per_1k(step_L: np.ndarray, y_L: np.ndarray) -> float:
    """Least-squares slope of y against step, per 1,000 steps (NaN if y is not finite)."""
    if not np.all(np.isfinite(y_L)):
        return float("nan")
    t = (np.asarray(step_L, np.float64) - step_L[0]) / 1000.0
    tc = t - t.mean()
    denom = float(np.sum(tc * tc))
    return float(np.sum(tc * (y_L - y_L.mean())) / denom) if denom > 0 else 0.0


def values_at_cut(df: pd.DataFrame, at: float, curves: Sequence[str] | None = None
                  ) -> dict[str, np.ndarray]:
    """Each curve's raw logged value at every run's cut (no log10): what the loop logged."""
    idx_R, _ = cut_indices(df, at)
    names = curve_columns(df) if curves is None else tuple(curves)
    return {c: np.array([float(np.asarray(v)[i]) for v, i in zip(df[c], idx_R, strict=True)])
            for c in names}


def extract(df: pd.DataFrame, at: float) -> FeatureTable:
    """The feature table of every row at the cut ``at`` (0 < at < 1)."""
    if not 0 < at < 1:
        raise ResultsError(f"--at {at}: must be a fraction of the steps strictly between 0 "
                           "and 1")
    curves = curve_columns(df)
    idx_R, step_R = cut_indices(df, at)
    names = [*curves, *(f"d_{c}" for c in curves), "loss_gap", "osc_power", "osc_share"]
    x = np.full((len(df), len(names)), np.nan)
    n_c = len(curves)
    steps = [np.asarray(s, np.int64) for s in df["step"]]
    for j, c in enumerate(curves):
        for r, (v, i) in enumerate(zip(df[c], idx_R, strict=True)):
            y = _transformed(c, np.asarray(v)[: i + 1])
            x[r, j] = y[-1]
            lo = (i + 1) // 2
            x[r, n_c + j] = slope_per_1k(steps[r][lo: i + 1], y[lo:])
    train, test = curves.index("train_loss"), curves.index("test_loss")
    x[:, 2 * n_c] = x[:, test] - x[:, train]
    for r, (v, i) in enumerate(zip(df["train_loss"], idx_R, strict=True)):
        osc = oscillation(_transformed("train_loss", np.asarray(v)[: i + 1]))
        x[r, 2 * n_c + 1], x[r, 2 * n_c + 2] = osc.high_power, osc.high_share
    return FeatureTable(tuple(names), x, step_R, idx_R)
