"""The phase diagram's runs and layout: one record per run (its cell, its slot inside the
cell, its summary numbers) and where cells, panels and dots go."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from grokjax.phases import PHASES
from grokjax.report.axes import (
    ROLES,
    choose_axes,
    fmt_value,
    is_log_spaced,
    labels_for,
    value_key,
)
from grokjax.report.results import grid_of, unique_values
from grokjax.sidecar import COLUMN_TITLES


@dataclasses.dataclass
class Layout:
    """Where the phase diagram draws what (axes, label order, sub-grid and dot size)."""

    axes: dict[str, Any]  # x, y, facet (names or None), inner
    order: dict[str, list[str]]  # role -> labels in drawing order
    titles: dict[str, str | None]
    g: int  # sub-grid columns inside a cell
    h: int  # sub-grid rows
    slot: float  # pixels per dot slot
    columns: int  # facet panels per row
    within: list[str]  # grid axes drawn inside a cell (varying extras first, seed last)
    pred_title: str | None = None  # the dots carry "pred" (predict --write's column)


def finite_float(v: Any) -> float | None:
    """``v`` as a finite float, or None (not a number, NaN, inf)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _int(v: Any) -> int | None:
    f = finite_float(v)
    return None if f is None else round(f)


def build_runs(df: pd.DataFrame, manifest: Mapping[str, Any], options: Mapping[str, Any]
               ) -> tuple[list[dict[str, Any]], Layout]:
    """One record per run for the phase diagram, and the diagram's layout."""
    grid = grid_of(df, manifest)
    varying = manifest.get("varying")
    if not isinstance(varying, list):
        varying = [k for k, v in grid.items() if len(v) > 1 and k != "seed"]
    axes = choose_axes(varying, grid, options)
    for role in ROLES:
        a = axes[role]
        if a is not None and a not in df.columns:
            raise ValueError(f"the results have no column {a!r} for the {role} axis")
    n = len(df)
    labels: dict[str, list[str]] = {}
    order: dict[str, list[str]] = {}
    titles: dict[str, str | None] = {}
    for role in ROLES:
        a = axes[role]
        if a is None:
            labels[role] = ["all runs" if role == "facet" else ""] * n
            order[role] = [labels[role][0]] if n else []
            titles[role] = None
            continue
        vals = unique_values(df[a])
        lab = labels_for(vals)
        labels[role] = [lab[value_key(v.tolist() if hasattr(v, "tolist") else v)] for v in df[a]]
        order[role] = [lab[value_key(v)] for v in vals]
        titles[role] = a + (" (log-spaced)" if is_log_spaced(vals) else "")

    # Inside a cell: the grid axes without a role (extra varying axes, then seed), by value.
    within = [a for a in list(axes["inner"]) + [k for k in grid if k not in varying]
              if a in df.columns and a not in (axes["x"], axes["y"], axes["facet"])]
    within = [a for a in within if a != "seed" and len(unique_values(df[a])) > 1] + (
        ["seed"] if "seed" in within else [])
    key = [f"{f}|{x}|{y}" for f, x, y in zip(labels["facet"], labels["x"], labels["y"],
                                                strict=True)]
    sort_cols: dict[str, Any] = {"_key": key}
    for j, a in enumerate(within):
        vals = unique_values(df[a])
        rank = {value_key(v): r for r, v in enumerate(vals)}
        sort_cols[f"_w{j}"] = [rank[value_key(v.tolist() if hasattr(v, "tolist") else v)]
                               for v in df[a]]
    sort_cols["_rid"] = list(df["run_id"]) if "run_id" in df.columns else list(range(n))
    tmp = pd.DataFrame(sort_cols)
    tmp = tmp.sort_values(list(tmp.columns), kind="stable")
    tmp["_rank"] = tmp.groupby("_key", sort=False).cumcount()
    rank_of = tmp["_rank"].reindex(range(n)).to_numpy() if n else np.zeros(0, int)
    m = int(tmp.groupby("_key").size().max()) if n else 1
    g = max(1, math.ceil(math.sqrt(m)))
    h = max(1, math.ceil(m / g))

    nx, ny, nf = (max(1, len(order[r])) for r in ROLES)
    columns, slot = 1, 12.0
    for columns in range(min(nf, 5), 0, -1):
        slot = (1150 / columns - 30) / (nx * g / 0.88)
        if slot >= 10 or columns == 1:
            break
    slot = float(min(28.0, max(5.0, slot)))
    if ny * h * slot / 0.88 > 700:  # very many y values: shrink to keep the panel on screen
        slot = float(max(4.0, 700 * 0.88 / (ny * h)))

    def within_label(i: int) -> str:
        parts = []
        for a in within:
            v = df[a].iat[i]
            v = v.tolist() if hasattr(v, "tolist") else v
            parts.append(f"{a} {fmt_value(v)}")
        return " · ".join(parts)

    cols = {c: df[c].to_numpy() if c in df.columns else np.full(n, None)
            for c in ("min_train_loss", "min_test_loss", "max_loss_ratio", "final_train_acc",
                      "final_test_acc", "train_acc_step_90", "test_acc_step_90", "nan_step",
                      "run_id", "phase", "diverged")}
    pred = next((c for c in COLUMN_TITLES if c in df.columns), None)  # predict --write
    rows = []
    for i in range(n):
        phase = cols["phase"][i]
        phase = phase if isinstance(phase, str) and phase in PHASES else "fail"
        r = rank_of[i]
        rows.append({
            "i": i,
            "run_id": str(cols["run_id"][i]) if cols["run_id"][i] is not None else str(i),
            "key": key[i],
            "cf": labels["facet"][i], "cx": labels["x"][i], "cy": labels["y"][i],
            "jx": int(r % g), "jy": int(r // g),
            "within": within_label(i),
            "phase": phase, "stored": phase, "changed": False,
            "diverged": bool(cols["diverged"][i]) if cols["diverged"][i] is not None
            and not pd.isna(cols["diverged"][i]) else False,
            "min_train_loss": finite_float(cols["min_train_loss"][i]),
            "min_test_loss": finite_float(cols["min_test_loss"][i]),
            "max_loss_ratio": finite_float(cols["max_loss_ratio"][i]),
            "final_train_acc": finite_float(cols["final_train_acc"][i]),
            "final_test_acc": finite_float(cols["final_test_acc"][i]),
            "train90": _int(cols["train_acc_step_90"][i]),
            "test90": _int(cols["test_acc_step_90"][i]),
            "nan_step": _int(cols["nan_step"][i]),
            **({"pred": finite_float(df[pred].iat[i])} if pred else {}),
        })
    return rows, Layout(axes=axes, order=order, titles=titles, g=g, h=h, slot=slot,
                        columns=columns, within=within,
                        pred_title=COLUMN_TITLES[pred] if pred else None)


def run_label(row: Mapping[str, Any], lay: Layout) -> str:
    parts = [f"{lay.axes[r]} {row[c]}" for r, c in (("x", "cx"), ("y", "cy"), ("facet", "cf"))
             if lay.axes[r]]
    if row.get("within"):
        parts.append(row["within"])
    return " · ".join(parts) or row.get("run_id", "")


__all__ = ["Layout", "build_runs", "run_label"]
