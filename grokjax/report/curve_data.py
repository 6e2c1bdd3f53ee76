"""The sweep page's curve data: stored curves as matrices, packed (thinned, quantised, base64)
for the page, accuracy first-reach steps for the accuracy rule, representative runs."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from grokjax.curves import first_step
from grokjax.phases import FLOAT32_EPS, PHASES

CURVES = ("train_loss", "test_loss", "train_acc", "test_acc")
# Accuracy thresholds at which first-reach steps are precomputed for the accuracy-rule slider.
ACC_GRID = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.0)
# Curves in the page: int16, log10(loss) * LOSS_Q and accuracy * ACC_Q; MISSING for NaN.
LOSS_Q, ACC_Q, MISSING = 1000, 10000, -32768
LOSS_CLIP = 1e-30  # the page's int16 encoding only (the live rule may lower its floor)


def display_floor(params: Mapping[str, Any]) -> float:
    """The loss drawn for smaller values on a log axis (page, explorer, PNGs, ``plot``): the
    phase rule's floor, or float32 epsilon when the rule has none (0 cannot be drawn)."""
    return float(params.get("floor") or 0) or FLOAT32_EPS


def is_float32(col: pd.Series) -> bool:
    """Whether a list column holds float32 curves (as stored on disk)."""
    for v in col:
        if v is not None and hasattr(v, "dtype"):
            return v.dtype == np.float32
        if v is not None:
            return False
    return False


def curve_matrix(col: pd.Series) -> np.ndarray:
    """A list column as a (runs, max length) float array, NaN-padded."""
    arrs = [np.asarray(v if v is not None else [], dtype=float) for v in col]
    n = max((len(a) for a in arrs), default=0)
    out = np.full((len(arrs), n), np.nan)
    for i, a in enumerate(arrs):
        out[i, : len(a)] = a
    return out


def downsample_index(n: int, points: int) -> np.ndarray:
    """Every k-th logged point (and the last) so that at most about ``points`` remain."""
    if n <= points:
        return np.arange(n)
    stride = math.ceil((n - 1) / (points - 1))
    idx = np.arange(0, n, stride)
    return idx if idx[-1] == n - 1 else np.append(idx, n - 1)


def b64_int16(a: np.ndarray) -> str:
    """An array as base64 little-endian int16 (how the page receives its curves)."""
    return base64.b64encode(np.ascontiguousarray(a, dtype="<i2").tobytes()).decode("ascii")


def quantize_loss(x: np.ndarray) -> np.ndarray:
    """log10(loss) * LOSS_Q as int16 (MISSING for NaN)."""
    with np.errstate(all="ignore"):
        q = np.round(np.log10(np.maximum(x, LOSS_CLIP)) * LOSS_Q)
    q = np.clip(q, -32000, 32000)
    return np.where(np.isfinite(x), q, MISSING).astype(np.int16)


def quantize_acc(x: np.ndarray) -> np.ndarray:
    """accuracy * ACC_Q as int16 (MISSING for NaN)."""
    q = np.clip(np.round(np.nan_to_num(x, nan=0.0) * ACC_Q), -32000, 32000)
    return np.where(np.isfinite(x), q, MISSING).astype(np.int16)


def pack_curves(step: np.ndarray, mats: Mapping[str, np.ndarray], points: int
                ) -> dict[str, Any]:
    """The page's curves: about ``points`` of each run's logged points, quantised to int16.

    Runs that keep the same steps share one step list (``steps[step_of[i]]``); ``width`` is the
    most points any run keeps.
    """
    n = step.shape[0]
    lengths = np.isfinite(step).sum(1)
    step_sets: list[list[int]] = []
    set_index: dict[tuple, int] = {}
    step_of = []
    width = 0
    keep_idx = []
    for i in range(n):
        idx = downsample_index(int(lengths[i]), points)
        s = tuple(int(v) for v in step[i, idx])
        if s not in set_index:
            set_index[s] = len(step_sets)
            step_sets.append(list(s))
        step_of.append(set_index[s])
        keep_idx.append(idx)
        width = max(width, len(idx))
    packed = {}
    for c in CURVES:
        q = np.full((n, width), MISSING, dtype=np.int16)
        quant = quantize_loss if c.endswith("loss") else quantize_acc
        for i in range(n):
            idx = keep_idx[i]
            q[i, : len(idx)] = quant(mats[c][i, idx])
        packed[c] = b64_int16(q)
    return {"width": width, "steps": step_sets, "step_of": step_of,
            "loss_q": LOSS_Q, "acc_q": ACC_Q, "missing": MISSING, **packed}


def reach_steps(df: pd.DataFrame, step: np.ndarray, mats: Mapping[str, np.ndarray],
                levels: Sequence[float]) -> dict[str, Any]:
    """First logged step at which each run's train / test accuracy reaches each level.

    Exact (from the full curves), compared at the curves' stored precision as grokjax.phases
    does; None where never reached, and everywhere when ``mats`` is empty (no curves).
    """
    acc: dict[str, Any] = {"grid": list(levels), "train": [], "test": []}
    for lv in levels:
        for split in ("train", "test"):
            if mats:
                # mats are float64: round the level to float32 for float32 curves.
                at = float(np.float32(lv)) if is_float32(df[f"{split}_acc"]) else lv
                got = first_step(step, mats[f"{split}_acc"], at)
                acc[split].append([None if np.isnan(v) else int(v) for v in got])
            else:
                acc[split].append([None] * len(df))
    return acc


# ---------------------------------------------------------------------------------------------
# Representative runs
# ---------------------------------------------------------------------------------------------


def rep_order(df: pd.DataFrame) -> list[int]:
    """The order in which runs are taken as representatives of their phase (by run id)."""
    ids = df["run_id"].astype(str).tolist() if "run_id" in df.columns else [""] * len(df)
    return sorted(range(len(df)), key=lambda i: (ids[i], i))


def pick_reps(phases: Sequence[str], order: Sequence[int], k: int) -> list[int]:
    """Up to ``k`` runs of each phase (taken in ``order``), grouped by phase."""
    taken: dict[str, list[int]] = {p: [] for p in PHASES}
    for i in order:
        lst = taken.get(phases[i])
        if lst is not None and len(lst) < k:
            lst.append(i)
    return [i for p in PHASES for i in taken[p]]


def curve_rows(idx: Sequence[int], phases: Sequence[str], labels: Sequence[str],
               step: np.ndarray, mats: Mapping[str, np.ndarray],
               floor: float = FLOAT32_EPS) -> list[dict[str, Any]]:
    """Long-format rows (one per run, split and logged step) with loss (at least ``floor``)
    and accuracy; a missing value is None (the line breaks there)."""
    out = []
    for i in idx:
        for split in ("train", "test"):
            loss, acc = mats[f"{split}_loss"][i], mats[f"{split}_acc"][i]
            for j in range(step.shape[1]):
                s = step[i, j]
                if not np.isfinite(s):
                    continue
                lv = loss[j] if np.isfinite(loss[j]) else None
                out.append({"i": int(i), "phase": phases[i], "label": labels[i],
                            "split": split, "step": int(s),
                            "loss": None if lv is None else float(max(lv, floor)),
                            "acc": float(acc[j]) if np.isfinite(acc[j]) else None})
    return out


__all__ = [
    "ACC_GRID",
    "ACC_Q",
    "CURVES",
    "LOSS_CLIP",
    "LOSS_Q",
    "MISSING",
    "b64_int16",
    "curve_matrix",
    "curve_rows",
    "display_floor",
    "downsample_index",
    "is_float32",
    "pack_curves",
    "pick_reps",
    "quantize_acc",
    "quantize_loss",
    "reach_steps",
    "rep_order",
]
