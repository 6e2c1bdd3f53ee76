"""Reading a results folder for the report: the runs table, the manifest's grid and phase rule,
and plain values of a row."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grokjax import phases, registry
from grokjax.report.axes import order_values, value_key
from grokjax.store import ResultsError, load_results, read_manifest, resolve_dir


def load(results_dir: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The runs table and the manifest of ``results/NAME``."""
    d = Path(results_dir)
    manifest = read_manifest(d) if (d / "manifest.json").is_file() else {}
    manifest.setdefault("sweep", d.name)
    load_manifest_plugins(manifest, d)
    df = load_results(d)
    if df is None or len(df) == 0:
        raise FileNotFoundError(f"{d}: the results hold no runs")
    return df, manifest


def load_manifest_plugins(manifest: Mapping[str, Any], d: Path) -> None:
    """Register the components of the sweep's plugin files (their settings name the row's
    columns; their models rebuild a run for the explorer)."""
    try:
        registry.load_plugins(manifest.get("plugins") or [])
    except registry.RegistryError as e:
        raise ResultsError(f"{d}: a plugin file of this sweep could not be loaded ({e})") from None


def load_or_raise(d: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``load``, with every problem a ``ResultsError``."""
    try:
        return load(d)
    except FileNotFoundError as e:
        raise ResultsError(str(e)) from None


def rule_of(df: pd.DataFrame, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The stored classification rule: ``{"name": "loss"|"accuracy", "params": {...}}``."""
    name, params = manifest.get("phase_rule"), manifest.get("phase_params")
    if name is None and "phase_rule" in df and df["phase_rule"].notna().any():
        name = df["phase_rule"].dropna().iloc[0]
    if params is None and "phase_params" in df and df["phase_params"].notna().any():
        params = json.loads(df["phase_params"].dropna().iloc[0])
    rule = phases.rule_from_options({"rule": name or "loss", **(params or {})},
                                    source="manifest.json")
    return {"name": rule.name, "params": rule.params()}


def grid_of(df: pd.DataFrame, manifest: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Axis -> values: the varying axes in sweep-file order, other grid axes, seed last.

    (manifest.json is written with sorted keys; its "varying" list keeps the file's order.)
    """
    grid = manifest.get("grid")
    out: dict[str, list[Any]] = {}
    if isinstance(grid, Mapping) and grid:
        out = {k: list(v) for k, v in grid.items()}
    else:
        spec_grid = (manifest.get("spec") or {}).get("grid")
        if isinstance(spec_grid, Mapping):
            out = {k: unique_values(df[k]) for k in spec_grid if k in df.columns}
        if "seed" in df.columns and "seed" not in out:
            out["seed"] = unique_values(df["seed"])
    varying = [a for a in (manifest.get("varying") or []) if a in out]
    order = varying + [a for a in out if a not in varying and a != "seed"] + (
        ["seed"] if "seed" in out else [])
    return {a: out[a] for a in order}


def unique_values(col: pd.Series) -> list[Any]:
    """The distinct values of a column (lists as lists), numbers ascending."""
    seen: dict[str, Any] = {}
    for v in col:
        v = v.tolist() if hasattr(v, "tolist") else v
        seen.setdefault(value_key(v), v)
    return order_values(list(seen.values()))


def first_value(df: pd.DataFrame, col: str) -> Any:
    """The first non-missing value of a column (None if it has none)."""
    if col not in df.columns or not df[col].notna().any():
        return None
    return df[col].dropna().iloc[0]


def plain(v: Any) -> Any:
    """A row value as plain Python (numpy scalars and arrays become numbers and lists)."""
    if isinstance(v, np.ndarray):
        return [x.item() if hasattr(x, "item") else x for x in v]
    if hasattr(v, "item") and not isinstance(v, (list, tuple, str)):
        return v.item()
    return v


def is_null(v: Any) -> bool:
    """Whether a row value is missing (None, NaN, NA); a list or array never is."""
    if v is None:
        return True
    if isinstance(v, (list, tuple, np.ndarray)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


__all__ = ["first_value", "grid_of", "is_null", "load", "load_or_raise", "plain",
           "resolve_dir", "rule_of", "unique_values"]
