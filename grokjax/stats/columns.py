"""What the statistics read from a results table: the reach criterion, checked column names,
setting values matched from text, and short labels.

Every bad input is a ``StatsError`` (a ``ResultsError``: the command line prints one
``error:`` line and exits with status 2) that names the column and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from grokjax import registry
from grokjax.store import ResultsError

__all__ = [
    "Criterion",
    "StatsError",
    "check_columns",
    "criterion",
    "curve_columns",
    "label",
    "match_value",
    "plain",
    "plain_values",
    "setting_columns",
    "sort_key",
]


class StatsError(ResultsError):
    """The statistics cannot be computed as asked (a column, a value, arms that do not pair)."""


@dataclasses.dataclass(frozen=True)
class Criterion:
    """A run *reaches* the threshold at the first logged step with ``metric >= threshold``
    (``<=`` when ``below``: losses)."""

    metric: str = "test_acc"
    threshold: float = 0.9
    below: bool = False

    def describe(self) -> str:
        return f"{self.metric} {'<=' if self.below else '>='} {label(self.threshold)}"


def plain(v: Any) -> Any:
    """A cell value as a hashable plain Python value: numpy scalars -> numbers, arrays ->
    tuples, NaN / NA -> None."""
    if isinstance(v, np.ndarray | list | tuple):
        return tuple(plain(x) for x in v)
    if hasattr(v, "item") and not isinstance(v, str):
        v = v.item()
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def plain_values(col: pd.Series) -> list[Any]:
    """The column's values as ``plain`` values (a list: a Series would turn None into NaN)."""
    return [plain(v) for v in col]


def label(v: Any) -> str:
    """A short label for a value: 0.01, 1e-08, 1000, true, none."""
    v = plain(v)
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:g}"
    if isinstance(v, tuple):
        return "[" + ", ".join(label(x) for x in v) + "]"
    return str(v)


def sort_key(v: Any) -> tuple:
    """Numbers ascending first (None last among them), then other values by their label."""
    v = plain(v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return (0, v, "")
    return (1 if v is not None else 2, 0, label(v))


def curve_columns(df: pd.DataFrame) -> list[str]:
    """Columns holding one logged curve per row (lists or arrays)."""
    if len(df) == 0:
        return []
    first = df.iloc[0]
    return [c for c in df.columns if c != "step" and isinstance(first[c], np.ndarray | list)
            and not isinstance(first[c], str)]


def criterion(df: pd.DataFrame, metric: str = "test_acc", threshold: float = 0.9,
              below: bool | None = None) -> Criterion:
    """The reach criterion, checked against ``df``: ``metric`` must be a logged curve, the
    threshold finite; ``below`` defaults to True for a ``*_loss`` metric."""
    curves = curve_columns(df)
    if "step" not in df.columns:
        raise StatsError("the results have no 'step' column (no logged curves)")
    if metric not in curves:
        raise StatsError(f"--metric: {metric!r} is not a logged curve of these results; "
                         f"curves: {', '.join(sorted(curves)) or 'none'}")
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise StatsError(f"--threshold: {threshold!r} is not a number") from None
    if not math.isfinite(threshold):
        raise StatsError(f"--threshold: {threshold} must be a finite number")
    return Criterion(metric, threshold, metric.endswith("_loss") if below is None else below)


def check_columns(df: pd.DataFrame, names: Sequence[str], flag: str) -> None:
    """Every name is a column of ``df``; else an error listing the settings that vary."""
    missing = [n for n in names if n not in df.columns]
    if missing:
        vary = [c for c in setting_columns(df) if len(set(plain_values(df[c]))) > 1]
        raise StatsError(f"{flag}: no column {', '.join(map(repr, missing))} in these results; "
                         f"settings that vary: {', '.join(vary) or 'none'}")


def setting_columns(df: pd.DataFrame) -> list[str]:
    """The columns of ``df`` that are settings (the registry's, plugins' included)."""
    return [c for c in registry.all_settings() if c in df.columns]


def match_value(col: pd.Series, value: Any) -> np.ndarray:
    """Rows whose value equals ``value``; text is read as the column's type ("1e-3" matches
    0.001, "true" matches True), numbers compare to 1e-12 relative."""
    vals = plain_values(col)
    present = [v for v in vals if v is not None]
    if isinstance(value, str) and present:
        v0 = present[0]
        text = value.strip()
        if isinstance(v0, bool):
            if text.lower() not in ("true", "false"):
                return np.zeros(len(col), bool)
            value = text.lower() == "true"
        elif isinstance(v0, int | float):
            try:
                value = float(text)
            except ValueError:
                return np.zeros(len(col), bool)
    value = plain(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return np.array([isinstance(v, int | float) and not isinstance(v, bool)
                         and math.isclose(v, value, rel_tol=1e-12, abs_tol=0.0)
                         for v in vals], bool)
    return np.array([v == value for v in vals], bool)
