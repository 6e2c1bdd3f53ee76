"""What is predicted, and for which runs: the honest question is about the future.

Only runs whose future is still open at the cut are scored: a run whose test accuracy already
reached 0.9 at or before the cut (it has generalized: nothing is left to predict) and a run that
diverged at or before the cut are left out, and counted.  Targets:

- ``grok_by_end``: the run's phase is ``grok`` (under the folder's phase rule);
- ``gen_by_end``: its test accuracy reaches 0.9 by the end of the run, whatever the phase;
- ``step_to_90``: among the open runs that do reach 0.9 test accuracy, whether they reach it
  early -- at or before the median step of those runs (a thresholded time-to-generalize).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from grokjax.sidecar import PREDICTION_COLUMNS
from grokjax.store import ResultsError

TARGETS = ("grok_by_end", "gen_by_end", "step_to_90")
COLUMNS = PREDICTION_COLUMNS  # the column ``predict --write`` adds for each target


class Target(NamedTuple):
    name: str
    mask_R: np.ndarray  # bool: the run is scored
    y_R: np.ndarray  # bool labels (meaningful where mask_R)
    event_step_R: np.ndarray  # float: step of test accuracy 0.9 (NaN: never)
    excluded: dict[str, int]  # reason -> runs left out
    threshold: float | None  # step_to_90: the median step that splits early from late


def _step90(df: pd.DataFrame) -> np.ndarray:
    if "test_acc_step_90" not in df.columns:
        raise ResultsError("the rows have no test_acc_step_90 column (written by every sweep)")
    return pd.to_numeric(df["test_acc_step_90"], errors="coerce").to_numpy(np.float64)


def make_target(df: pd.DataFrame, name: str, cut_step_R: np.ndarray) -> Target:
    """Labels and the scored runs for the cut steps ``cut_step_R`` (one per row)."""
    if name not in TARGETS:
        raise ResultsError(f"--target {name!r}: unknown; allowed: {', '.join(TARGETS)}")
    step90 = _step90(df)
    done = np.isfinite(step90) & (step90 <= cut_step_R)
    nan_step = (pd.to_numeric(df["nan_step"], errors="coerce").to_numpy(np.float64)
                if "nan_step" in df.columns else np.full(len(df), np.nan))
    diverged = np.isfinite(nan_step) & (nan_step <= cut_step_R)
    excluded = {"generalized by the cut": int((done & ~diverged).sum()),
                "diverged by the cut": int(diverged.sum())}
    mask = ~done & ~diverged
    threshold = None
    if name == "grok_by_end":
        if "phase" not in df.columns:
            raise ResultsError("the rows have no phase column; run `grokjax classify` first")
        y = (df["phase"] == "grok").to_numpy(bool)
    elif name == "gen_by_end":
        y = np.isfinite(step90)
    else:
        never = mask & ~np.isfinite(step90)
        excluded["never reach 0.9"] = int(never.sum())
        mask = mask & ~never
        if not mask.any():
            raise ResultsError("--target step_to_90: no open run reaches test accuracy 0.9")
        threshold = float(np.median(step90[mask]))
        y = np.isfinite(step90) & (step90 <= threshold)
    return Target(name, mask, y & mask, step90, excluded, threshold)
