"""The page of an adaptive sweep: every point drawn where it was run, at its actual values.

The lattice of the phase diagram gives each distinct value a column, so the points an adaptive
sweep adds between the coarse values get columns of their own and the axes lose their scale.
Above it, an adaptive folder's page draws one mark per point on quantitative axes (log where
the sweep refined geometrically): colour = the point's modal phase under the live rule (the
same ``runs`` data the lattice draws, so the sliders re-colour it), size = its runs, a dark
ring = its runs disagree; hover for the values, runs, round; click selects its cell below.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd

from grokjax.phases import PHASES
from grokjax.report.axes import ROLES, is_log_spaced
from grokjax.report.layout import Layout, finite_float
from grokjax.report.results import unique_values
from grokjax.report.theme import PHASE_COLORS

ROUND = "adaptive_round"
__all__ = ["describe", "is_adaptive", "log_axes", "value_fields", "with_value_map"]


def is_adaptive(manifest: Mapping[str, Any]) -> bool:
    return isinstance(manifest.get("adaptive"), Mapping)


def log_axes(df: pd.DataFrame, manifest: Mapping[str, Any], lay: Layout) -> dict[str, bool]:
    """x / y -> drawn on a log scale: the sweep's [adaptive] spacing, else the values'."""
    spacing = ((manifest.get("adaptive") or {}).get("options") or {}).get("spacing") or {}
    out = {}
    for role in ("x", "y"):
        a = lay.axes[role]
        vals = [v for v in (unique_values(df[a]) if a else []) if finite_float(v) is not None]
        positive = bool(vals) and all(float(v) > 0 for v in vals)
        out[role] = positive and (spacing.get(a) == "log" if a in spacing
                                  else is_log_spaced(vals))
    return out


def value_fields(rows: list[dict[str, Any]], df: pd.DataFrame, lay: Layout) -> None:
    """Add each run's numeric x / y values (``vx``, ``vy``) and round to its record."""
    df = df.reset_index(drop=True)
    for role, field in (("x", "vx"), ("y", "vy")):
        a = lay.axes[role]
        col = df[a].tolist() if a else [None] * len(df)
        for r in rows:
            r[field] = finite_float(col[r["i"]]) if a else 0.0
    rnd = df[ROUND].tolist() if ROUND in df.columns else [0] * len(df)
    for r in rows:
        r["round"] = int(rnd[r["i"]]) if finite_float(rnd[r["i"]]) is not None else 0


def _axis(role: str, lay: Layout, log: bool) -> dict[str, Any]:
    a = lay.axes[role]
    field = "vx" if role == "x" else "vy"
    if a is None:
        return {"field": field, "type": "quantitative", "axis": None}
    return {"field": field, "type": "quantitative",
            "title": f"{a} (log scale)" if log else a,
            "scale": {"type": "log" if log else "linear", "zero": False, "nice": False,
                      "padding": 14},
            "axis": {"grid": True, "gridColor": "#eee", "tickCount": 6,
                     **({"format": "~g"} if log else {})}}


def value_map_spec(lay: Layout, log: Mapping[str, bool], sizes: set[int], width: int = 460,
                   height: int = 300) -> dict[str, Any]:
    """One mark per point at its values: colour = modal phase (live), size = runs (``sizes``:
    the numbers of runs the points have)."""
    order = "indexof(" + str(list(PHASES)).replace("'", '"') + ", datum.phase)"
    ax, ay, af = (lay.axes[r] for r in ROLES)
    tip = ([{"field": "cx", "title": ax}] if ax else []) + \
        ([{"field": "cy", "title": ay}] if ay else []) + \
        ([{"field": "cf", "title": af}] if af else []) + [
            {"field": "phase", "title": "modal phase"},
            {"field": "share", "title": "runs in it"},
            {"field": "r0", "title": "added in round"},
            {"field": "hint", "title": "click"}]
    selected = "datum.key === sel"
    layer = {
        "name": "points",
        "transform": [
            {"filter": "isValid(datum.vx) && isValid(datum.vy)"},
            {"joinaggregate": [{"op": "min", "field": "round", "as": "r0"}], "groupby": ["key"]},
            {"aggregate": [{"op": "count", "as": "c"}],
             "groupby": ["key", "cf", "cx", "cy", "vx", "vy", "r0", "phase"]},
            {"calculate": order, "as": "po"},
            {"joinaggregate": [{"op": "sum", "field": "c", "as": "n"}], "groupby": ["key"]},
            {"window": [{"op": "row_number", "as": "rank"}], "groupby": ["key"],
             "sort": [{"field": "c", "order": "descending"}, {"field": "po"}]},
            {"filter": "datum.rank === 1"},
            {"calculate": "datum.c + ' of ' + datum.n", "as": "share"},
            {"calculate": "'show these runs\\' curves'", "as": "hint"},
        ],
        "mark": {"type": "circle", "cursor": "pointer", "opacity": 0.9},
        "encoding": {
            "x": _axis("x", lay, log["x"]), "y": _axis("y", lay, log["y"]),
            "color": {"field": "phase", "type": "nominal", "legend": None,
                      "scale": {"domain": list(PHASES),
                                "range": [PHASE_COLORS[p] for p in PHASES]}},
            "size": {"field": "n", "type": "quantitative", "title": "runs",
                     "scale": {"type": "sqrt", "domain": [0, max(sizes, default=1)],
                               "range": [0, 280]},
                     "legend": {"orient": "right", "values": sorted(sizes)[:8], "format": "d"}},
            "stroke": {"condition": [{"test": selected, "value": "#000"},
                                     {"test": "datum.c < datum.n", "value": "#333"}],
                       "value": "#fff"},
            "strokeWidth": {"condition": [{"test": selected, "value": 2.5},
                                          {"test": "datum.c < datum.n", "value": 1.4}],
                            "value": 0.6},
            "tooltip": tip,
        },
    }
    panel = {"width": width, "height": height, "layer": [layer]}
    title = {"text": "every point where it was run (adaptive sweep): colour = modal phase, "
             "size = runs, ring = its runs disagree", "fontSize": 12, "fontWeight": "normal",
             "anchor": "start"}
    if af is None:
        return {**panel, "title": title}
    return {"title": title, "facet": {"field": "cf", "type": "ordinal",
                                      "sort": lay.order["facet"], "title": None},
            "columns": min(lay.columns, 3), "spec": panel}


def with_value_map(spec: dict[str, Any], lay: Layout, log: Mapping[str, bool]
                   ) -> dict[str, Any]:
    """``spec`` (the phase diagram, a Vega-Lite dict) with the value map above it; the phase
    colours are the diagram's, so both follow the same live classification."""
    top = {k: spec[k] for k in ("$schema", "params", "datasets", "data", "config", "title")
           if k in spec}
    rest = {k: v for k, v in spec.items() if k not in top}
    per_point = Counter(r["key"] for r in spec["datasets"]["runs"])
    return {**top, "vconcat": [value_map_spec(lay, log, set(per_point.values())), rest],
            "spacing": 30,
            "resolve": {"scale": {"color": "shared"}}}


def describe(manifest: Mapping[str, Any]) -> str:
    """One line for the page's header: rounds, runs, budget."""
    a = manifest["adaptive"]
    rounds = a.get("rounds") or []
    opts = a.get("options") or {}
    per = ", ".join(f"{r['runs']}" for r in rounds)
    return (f"adaptive: {sum(r['runs'] for r in rounds):,} runs of a budget of "
            f"{opts.get('budget', '?'):,} in {len(rounds)} rounds ({per}; round 0 is the "
            "coarse grid)" + ("" if a.get("complete") else ", not finished"))
