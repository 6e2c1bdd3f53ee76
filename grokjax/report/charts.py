"""Data preparation and Vega-Lite specs of the report: the phase diagram and the curve charts.

Every chart here is a plain Vega-Lite dict.  The page compiles them to Vega in Python (with
``vl_convert``), so the browser only runs Vega; the PNGs are rendered from the same specs.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from grokjax import phases
from grokjax.report.axes import (
    DEFAULTS,
    ROLES,
    choose_axes,
    fmt_value,
    is_log_spaced,
    labels_for,
    order_values,
    value_key,
)

PHASES = ("memorize", "grok", "generalize", "fail", "diverged")
PHASE_COLORS = {
    "memorize": "#f28e2b",
    "grok": "#8e44ad",
    "generalize": "#2ca25f",
    "fail": "#a5a5a5",
    "diverged": "#d62728",
}
SPLIT_COLORS = {"train": "#4c78a8", "test": "#e45756"}
CURVES = ("train_loss", "test_loss", "train_acc", "test_acc")
# Accuracy thresholds at which first-reach steps are precomputed for the accuracy-rule slider.
ACC_GRID = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.0)
# Curves in the page: int16, log10(loss) * LOSS_Q and accuracy * ACC_Q; MISSING for NaN.
LOSS_Q, ACC_Q, MISSING = 1000, 10000, -32768
LOSS_CLIP = 1e-30

LOSS_DEFAULTS = phases.LossRule().params()
ACC_DEFAULTS = phases.AccuracyRule().params()

STEP_LABEL = "datum.value == 0 ? '0' : format(datum.value, '~s')"
# With format "~e" Vega thins the log ticks (empty labels); plain numbers from 0.01 to 999.
LOSS_LABEL = ("datum.label === '' ? '' : datum.value >= 0.01 && datum.value < 1000 ? "
              "format(datum.value, '~g') : replace(datum.label, 'e+', 'e')")

CONFIG = {
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal",
             "labelColor": "#333", "titleColor": "#333"},
    "header": {"labelFontSize": 12, "titleFontSize": 12},
    "legend": {"labelFontSize": 12, "titleFontSize": 12},
    "title": {"fontSize": 15, "subtitleFontSize": 12, "subtitleColor": "#555", "anchor": "start"},
}


# ---------------------------------------------------------------------------------------------
# Rule parameters
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Curves
# ---------------------------------------------------------------------------------------------


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


def first_reach(steps: np.ndarray, acc: np.ndarray, level: float) -> np.ndarray:
    """First logged step with accuracy >= level (NaN if never); steps and acc are (R, L).

    Compare at the precision the curves were stored in (as grokjax.phases does): pass
    ``float(np.float32(level))`` for float32 curves.
    """
    hit = np.nan_to_num(acc, nan=-1.0) >= level
    idx = np.argmax(hit, axis=1)
    got = steps[np.arange(len(steps)), idx]
    return np.where(hit.any(axis=1), got, np.nan)


def downsample_index(n: int, points: int) -> np.ndarray:
    """Every k-th logged point (and the last) so that at most about ``points`` remain."""
    if n <= points:
        return np.arange(n)
    stride = math.ceil((n - 1) / (points - 1))
    idx = np.arange(0, n, stride)
    return idx if idx[-1] == n - 1 else np.append(idx, n - 1)


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<i2").tobytes()).decode("ascii")


def quantize_loss(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        q = np.round(np.log10(np.maximum(x, LOSS_CLIP)) * LOSS_Q)
    q = np.clip(q, -32000, 32000)
    return np.where(np.isfinite(x), q, MISSING).astype(np.int16)


def quantize_acc(x: np.ndarray) -> np.ndarray:
    q = np.clip(np.round(np.nan_to_num(x, nan=0.0) * ACC_Q), -32000, 32000)
    return np.where(np.isfinite(x), q, MISSING).astype(np.int16)


# ---------------------------------------------------------------------------------------------
# The runs table and layout of the phase diagram
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Layout:
    axes: dict[str, Any]  # x, y, facet (names or None), inner
    order: dict[str, list[str]]  # role -> labels in drawing order
    titles: dict[str, str | None]
    g: int  # sub-grid columns inside a cell
    h: int  # sub-grid rows
    slot: float  # pixels per dot slot
    columns: int  # facet panels per row
    within: list[str]  # grid axes drawn inside a cell (varying extras first, seed last)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _int(v: Any) -> int | None:
    f = _num(v)
    return None if f is None else round(f)


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
            out = {k: _unique(df[k]) for k in spec_grid if k in df.columns}
        if "seed" in df.columns and "seed" not in out:
            out["seed"] = _unique(df["seed"])
    varying = [a for a in (manifest.get("varying") or []) if a in out]
    order = varying + [a for a in out if a not in varying and a != "seed"] + (
        ["seed"] if "seed" in out else [])
    return {a: out[a] for a in order}


def _unique(col: pd.Series) -> list[Any]:
    seen: dict[str, Any] = {}
    for v in col:
        v = v.tolist() if hasattr(v, "tolist") else v
        seen.setdefault(value_key(v), v)
    return order_values(list(seen.values()))


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
        vals = _unique(df[a])
        lab = labels_for(vals)
        labels[role] = [lab[value_key(v.tolist() if hasattr(v, "tolist") else v)] for v in df[a]]
        order[role] = [lab[value_key(v)] for v in vals]
        titles[role] = a + (" (log-spaced)" if is_log_spaced(vals) else "")

    # Inside a cell: the grid axes without a role (extra varying axes, then seed), by value.
    within = [a for a in list(axes["inner"]) + [k for k in grid if k not in varying]
              if a in df.columns and a not in (axes["x"], axes["y"], axes["facet"])]
    within = [a for a in within if a != "seed" and len(_unique(df[a])) > 1] + (
        ["seed"] if "seed" in within else [])
    key = [f"{f}|{x}|{y}" for f, x, y in zip(labels["facet"], labels["x"], labels["y"],
                                                strict=True)]
    sort_cols: dict[str, Any] = {"_key": key}
    for j, a in enumerate(within):
        vals = _unique(df[a])
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
            "min_train_loss": _num(cols["min_train_loss"][i]),
            "min_test_loss": _num(cols["min_test_loss"][i]),
            "max_loss_ratio": _num(cols["max_loss_ratio"][i]),
            "final_train_acc": _num(cols["final_train_acc"][i]),
            "final_test_acc": _num(cols["final_test_acc"][i]),
            "train90": _int(cols["train_acc_step_90"][i]),
            "test90": _int(cols["test_acc_step_90"][i]),
            "nan_step": _int(cols["nan_step"][i]),
        })
    return rows, Layout(axes=axes, order=order, titles=titles, g=g, h=h, slot=slot,
                        columns=columns, within=within)


# ---------------------------------------------------------------------------------------------
# Vega-Lite specs
# ---------------------------------------------------------------------------------------------


def _color(legend: bool = True) -> dict[str, Any]:
    return {"field": "phase", "type": "nominal", "title": "phase",
            "scale": {"domain": list(PHASES), "range": [PHASE_COLORS[p] for p in PHASES]},
            "legend": {"orient": "top", "symbolType": "circle", "symbolSize": 120,
                       "title": None} if legend else None}


def _fmt_calc(field: str, fmt: str, missing: str, as_: str) -> dict[str, str]:
    return {"calculate": f"isValid(datum.{field}) && isFinite(datum.{field}) ? "
                         f"format(datum.{field}, '{fmt}') : '{missing}'", "as": as_}


def phase_diagram_spec(rows: list[dict[str, Any]], lay: Layout, *, title: str | None = None,
                       subtitle: str | None = None, counts: bool = True) -> dict[str, Any]:
    """Faceted cells of dots (one per run) coloured by phase, and phase counts per panel."""
    pad = 0.06  # of a cell, on each side
    cell_w = lay.g * lay.slot / (1 - 2 * pad)
    cell_h = lay.h * lay.slot / (1 - 2 * pad)
    area = (0.8 * lay.slot) ** 2
    ax, ay, af = (lay.axes[r] for r in ROLES)
    nx, ny = max(1, len(lay.order["x"])), max(1, len(lay.order["y"]))

    # Cells sit on a quantitative grid: cell (ix, iy) spans [ix, ix + 1] x [iy, iy + 1] (iy = 0
    # at the bottom), and a run's dot is at its slot (jx, jy) of a g x h sub-grid inside it.
    def pos(n: int, labels: list[str], title: str | None, field: str, axis_on: bool):
        axis = {"values": [i + 0.5 for i in range(n)], "ticks": False, "domain": False,
                "grid": False, "labelPadding": 4, "labelAngle": 0, "labelOverlap": True,
                "labelExpr": f"{json.dumps(labels)}[round(datum.value - 0.5)]"}
        return {"field": field, "type": "quantitative", "title": title,
                "scale": {"domain": [0, n], "nice": False, "zero": False},
                "axis": axis if axis_on else None}

    x = pos(nx, lay.order["x"], lay.titles["x"], "px", ax is not None)
    y = pos(ny, lay.order["y"], lay.titles["y"], "py", ay is not None)
    x_cell = dict(x, field="x0")
    y_cell = dict(y, field="y0")
    ix = f"indexof({json.dumps(lay.order['x'])}, datum.cx)"
    iy = f"indexof({json.dumps(lay.order['y'])}, datum.cy)"
    dot_pos = [
        {"calculate": f"{ix} + {pad} + {1 - 2 * pad} * (datum.jx + 0.5) / {lay.g}", "as": "px"},
        {"calculate": f"{iy} + 1 - {pad} - {1 - 2 * pad} * (datum.jy + 0.5) / {lay.h}",
         "as": "py"},
    ]
    cell_pos = [
        {"calculate": f"{ix} + 0.025", "as": "x0"}, {"calculate": f"{ix} + 0.975", "as": "x1"},
        {"calculate": f"{iy} + 0.025", "as": "y0"}, {"calculate": f"{iy} + 0.975", "as": "y1"},
    ]
    selected = "datum.key === sel"
    tip_cell = ([{"field": "cx", "title": ax}] if ax else []) + \
        ([{"field": "cy", "title": ay}] if ay else []) + \
        ([{"field": "cf", "title": af}] if af else []) + \
        [{"field": "n", "title": "runs"}, {"field": "hint", "title": "click"}]
    cells = {
        "transform": [{"aggregate": [{"op": "count", "as": "n"}],
                       "groupby": ["key", "cf", "cx", "cy"]},
                      {"calculate": "'show these runs\\' curves'", "as": "hint"}, *cell_pos],
        "mark": {"type": "rect", "cursor": "pointer", "cornerRadius": 3},
        "encoding": {
            "x": x_cell, "x2": {"field": "x1"}, "y": y_cell, "y2": {"field": "y1"},
            "fill": {"condition": {"test": selected, "value": "#e4e4e4"}, "value": "#f3f3f3"},
            "stroke": {"condition": {"test": selected, "value": "#222"}, "value": "#e0e0e0"},
            "strokeWidth": {"condition": {"test": selected, "value": 2}, "value": 0.6},
            "tooltip": tip_cell,
        },
    }
    tip_dot = [{"field": "phase", "title": "phase"}] + \
        ([{"field": "stored_note", "title": "stored phase"}]) + \
        ([{"field": "cx", "title": ax}] if ax else []) + \
        ([{"field": "cy", "title": ay}] if ay else []) + \
        ([{"field": "cf", "title": af}] if af else []) + \
        ([{"field": "within", "title": "run"}] if lay.within else []) + [
            {"field": "t_min_train", "title": "min train loss"},
            {"field": "t_min_test", "title": "min test loss"},
            {"field": "t_ratio", "title": "max test/train loss"},
            {"field": "t_train90", "title": "train acc ≥ 0.9 at step"},
            {"field": "t_test90", "title": "test acc ≥ 0.9 at step"},
            {"field": "t_final", "title": "final train / test acc"},
            {"field": "run_id", "title": "run id"},
    ]
    dots = {
        "name": "dots",
        "transform": [
            *dot_pos,
            _fmt_calc("min_train_loss", ".3~e", "n/a", "t_min_train"),
            _fmt_calc("min_test_loss", ".3~e", "n/a", "t_min_test"),
            _fmt_calc("max_loss_ratio", ".3~g", "n/a", "t_ratio"),
            _fmt_calc("train90", ",", "never", "t_train90"),
            _fmt_calc("test90", ",", "never", "t_test90"),
            {"calculate": "(isValid(datum.final_train_acc) ? format(datum.final_train_acc, "
                          "'.3f') : 'n/a') + ' / ' + (isValid(datum.final_test_acc) ? "
                          "format(datum.final_test_acc, '.3f') : 'n/a')", "as": "t_final"},
            {"calculate": "datum.changed ? datum.stored + ' (reclassified)' : datum.stored"
                          " + (datum.diverged && isValid(datum.nan_step) ? ' (NaN at step '"
                          " + datum.nan_step + ')' : '')", "as": "stored_note"},
        ],
        "mark": {"type": "circle", "cursor": "pointer", "opacity": 1},
        "encoding": {
            "x": x, "y": y,
            "color": _color(),
            "size": {"value": area},
            "stroke": {"condition": {"test": "datum.changed", "value": "#111"},
                       "value": "#ffffff"},
            "strokeWidth": {"condition": {"test": "datum.changed", "value": 1.6},
                            "value": 0.5},
            "tooltip": tip_dot,
        },
    }
    facet_header = {"title": None, "labelFontSize": 13, "labelFontWeight": "bold",
                    "labelExpr": f"{json.dumps(af + ' = ')} + datum.value" if af else None}
    panel = {"width": round(nx * cell_w), "height": round(ny * cell_h), "layer": [cells, dots]}
    diagram = panel if af is None else {
        "facet": {"field": "cf", "type": "ordinal", "sort": lay.order["facet"], "title": None,
                  "header": {k: v for k, v in facet_header.items() if v is not None}},
        "columns": lay.columns,
        "spacing": {"row": 18, "column": 14},
        "spec": panel,
    }
    ncols = min(lay.columns, max(1, len(lay.order["facet"])))
    counts_width = int(min(640, max(320, ncols * (panel["width"] + 14) - 120)))
    spec: dict[str, Any] = {
        "params": [{"name": "sel", "value": ""}],
        "datasets": {"runs": rows},
        "data": {"name": "runs"},
        "config": CONFIG,
    }
    if counts:
        spec["vconcat"] = [diagram, counts_spec(lay, width=counts_width)]
        spec["spacing"] = 28
    else:
        spec.update(diagram)
    if title:
        spec["title"] = {"text": title, **({"subtitle": subtitle} if subtitle else {})}
    return spec


def counts_spec(lay: Layout, width: int = 520) -> dict[str, Any]:
    """A stacked bar of phase counts per panel (follows the live classification)."""
    af = lay.axes["facet"]
    order_expr = "indexof(" + json.dumps(list(PHASES)) + ", datum.phase)"
    y = {"field": "cf", "type": "ordinal", "sort": lay.order["facet"], "title": None,
         "axis": {"ticks": False, "domain": False,
                  **({"labelExpr": f"{json.dumps(af + ' = ')} + datum.value"} if af else {})}}
    return {
        "title": {"text": "runs per phase" + (f", per {af}" if af else ""), "fontSize": 12,
                  "fontWeight": "normal", "anchor": "start"},
        "width": width, "height": {"step": 20},
        "transform": [
            {"aggregate": [{"op": "count", "as": "n"}], "groupby": ["cf", "phase"]},
            {"joinaggregate": [{"op": "sum", "field": "n", "as": "total"}], "groupby": ["cf"]},
            {"calculate": order_expr, "as": "po"},
            {"stack": "n", "groupby": ["cf"], "sort": [{"field": "po"}], "as": ["x0", "x1"]},
            {"calculate": "(datum.x0 + datum.x1) / 2", "as": "xm"},
            {"calculate": "format(datum.n / datum.total, '.0%')", "as": "pct"},
        ],
        "layer": [
            {"mark": {"type": "bar"},
             "encoding": {"y": y, "x": {"field": "x0", "type": "quantitative", "title": "runs",
                                        "axis": {"tickMinStep": 1, "grid": False}},
                          "x2": {"field": "x1"}, "color": _color(legend=False),
                          "tooltip": [{"field": "cf", "title": af or "panel"},
                                      {"field": "phase"}, {"field": "n", "title": "runs"},
                                      {"field": "pct", "title": "share"}]}},
            {"transform": [{"filter": "datum.n / datum.total >= 0.06"}],
             "mark": {"type": "text", "color": "white", "fontWeight": "bold", "fontSize": 11},
             "encoding": {"y": y, "x": {"field": "xm", "type": "quantitative"},
                          "text": {"field": "n"}}},
        ],
    }


def _phase_facet(metric: str, *, header: bool, width: int, height: int) -> dict[str, Any]:
    loss = metric == "loss"
    y = {"field": metric, "type": "quantitative",
         "title": "loss (log)" if loss else "accuracy",
         "scale": {"type": "log"} if loss else {"domain": [0, 1]},
         "axis": ({"format": "~e", "labelExpr": LOSS_LABEL, "tickCount": 5} if loss
                  else {"format": ".1f", "tickCount": 3})}
    return {
        "facet": {"column": {"field": "phase", "type": "nominal", "sort": list(PHASES),
                             "title": None,
                             "header": {"labelFontSize": 13, "labelFontWeight": "bold"}
                             if header else {"labels": False, "title": None}}},
        "spacing": 12,
        "spec": {
            "width": width, "height": height,
            "mark": {"type": "line", "strokeWidth": 1.3, "clip": True, "interpolate": "linear"},
            "encoding": {
                "x": {"field": "step", "type": "quantitative", "title": "step",
                      "axis": {"labelExpr": STEP_LABEL, "tickCount": 4}},
                "y": y,
                "color": {"field": "split", "type": "nominal", "title": None,
                          "scale": {"domain": ["train", "test"],
                                    "range": [SPLIT_COLORS["train"], SPLIT_COLORS["test"]]},
                          "legend": {"orient": "top"} if header else None},
                "detail": {"field": "i", "type": "nominal"},
                "opacity": {"value": 0.8},
                "tooltip": [{"field": "phase"}, {"field": "label", "title": "run"},
                            {"field": "split"}],
            },
        },
    }


def reps_spec(rows: list[dict[str, Any]], *, title: str | None = None,
              subtitle: str | None = None, width: int = 170, height: int = 120
              ) -> dict[str, Any]:
    """Loss (log) and accuracy curves of a few runs per phase: one column per phase."""
    spec: dict[str, Any] = {
        "datasets": {"reps": rows}, "data": {"name": "reps"}, "config": CONFIG,
        "vconcat": [_phase_facet("loss", header=True, width=width, height=height),
                    _phase_facet("acc", header=False, width=width, height=int(height * 0.75))],
        "spacing": 10,
        "resolve": {"scale": {"color": "shared"}},
    }
    if title:
        spec["title"] = {"text": title, **({"subtitle": subtitle} if subtitle else {})}
    return spec


def cell_spec(width: int = 400, height: int = 220) -> dict[str, Any]:
    """Curves of the runs of one cell: colour = phase, solid = train, dashed = test."""
    def chart(metric: str) -> dict[str, Any]:
        loss = metric == "loss"
        return {
            "width": width, "height": height,
            "mark": {"type": "line", "strokeWidth": 1.4, "clip": True},
            "encoding": {
                "x": {"field": "step", "type": "quantitative", "title": "step",
                      "axis": {"labelExpr": STEP_LABEL}},
                "y": {"field": metric, "type": "quantitative",
                      "title": "loss (log)" if loss else "accuracy",
                      "scale": {"type": "log"} if loss else {"domain": [0, 1]},
                      "axis": {"format": "~e", "labelExpr": LOSS_LABEL} if loss
                      else {"format": ".1f"}},
                "color": _color(legend=loss),
                "strokeDash": {"field": "split", "type": "nominal", "title": None,
                               "scale": {"domain": ["train", "test"],
                                         "range": [[1, 0], [5, 3]]},
                               "legend": {"orient": "top", "symbolStrokeWidth": 2}
                               if loss else None},
                "detail": {"field": "i", "type": "nominal"},
                "opacity": {"value": 0.85},
                "tooltip": [{"field": "label", "title": "run"}, {"field": "phase"},
                            {"field": "split"}],
            },
        }
    return {"datasets": {"cell": []}, "data": {"name": "cell"}, "config": CONFIG,
            "hconcat": [chart("loss"), chart("acc")], "spacing": 24,
            "resolve": {"scale": {"color": "shared", "strokeDash": "shared"}}}


# ---------------------------------------------------------------------------------------------
# Representatives
# ---------------------------------------------------------------------------------------------


def rep_order(df: pd.DataFrame) -> list[int]:
    """The order in which runs are taken as representatives of their phase (by run id)."""
    ids = df["run_id"].astype(str).tolist() if "run_id" in df.columns else [""] * len(df)
    return sorted(range(len(df)), key=lambda i: (ids[i], i))


def pick_reps(phases: Sequence[str], order: Sequence[int], k: int) -> list[int]:
    taken: dict[str, list[int]] = {p: [] for p in PHASES}
    for i in order:
        lst = taken.get(phases[i])
        if lst is not None and len(lst) < k:
            lst.append(i)
    return [i for p in PHASES for i in taken[p]]


def curve_rows(idx: Sequence[int], phases: Sequence[str], labels: Sequence[str],
               step: np.ndarray, mats: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """Long-format rows (one per run, split and logged step) with loss and accuracy."""
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
                            "loss": None if lv is None else float(max(lv, LOSS_CLIP)),
                            "acc": float(acc[j]) if np.isfinite(acc[j]) else None})
    return out


def run_label(row: Mapping[str, Any], lay: Layout) -> str:
    parts = [f"{lay.axes[r]} {row[c]}" for r, c in (("x", "cx"), ("y", "cy"), ("facet", "cf"))
             if lay.axes[r]]
    if row.get("within"):
        parts.append(row["within"])
    return " · ".join(parts) or row.get("run_id", "")


def page_options(options: Mapping[str, Any]) -> dict[str, Any]:
    return {**DEFAULTS, **{k: v for k, v in options.items() if k in DEFAULTS}}
