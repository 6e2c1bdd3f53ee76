"""Vega-Lite specs of the sweep page: the phase diagram, phase counts and curve charts.

Every chart is a plain Vega-Lite dict.  The page compiles them to Vega in Python (with
``vl_convert``), so the browser only runs Vega; the PNGs are rendered from the same specs.
"""

from __future__ import annotations

import json
from typing import Any

from grokjax.phases import PHASES
from grokjax.report.axes import ROLES
from grokjax.report.layout import Layout
from grokjax.report.theme import CONFIG, LOSS_LABEL, PHASE_COLORS, SPLIT_COLORS, STEP_LABEL


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
        [{"field": "n", "title": "runs"},
         {"field": "cell_share", "title": "modal phase, 95% interval"},
         {"field": "cell_phases", "title": "every phase, 95% interval"},
         {"field": "hint", "title": "click"}]
    # The cell's numbers are the same on each of its runs (report.cell_shares; page.js keeps
    # them live): grouping by them keeps them.  Background: the modal phase's colour, more
    # opaque the narrower the Wilson interval of its share.
    cell_fields = ["cell_share", "cell_phases", "cell_fill", "cell_alpha"]
    cells = {
        "name": "cells",
        "transform": [{"aggregate": [{"op": "count", "as": "n"}],
                       "groupby": ["key", "cf", "cx", "cy", *cell_fields]},
                      {"calculate": "'show these runs\\' curves'", "as": "hint"}, *cell_pos],
        "mark": {"type": "rect", "cursor": "pointer", "cornerRadius": 3},
        "encoding": {
            "x": x_cell, "x2": {"field": "x1"}, "y": y_cell, "y2": {"field": "y1"},
            "fill": {"field": "cell_fill", "type": "nominal", "scale": None, "legend": None},
            "fillOpacity": {"field": "cell_alpha", "type": "quantitative", "scale": None,
                            "legend": None},
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
            *([{"field": "t_pred", "title": lay.pred_title}] if lay.pred_title else []),
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
            *([_fmt_calc("pred", ".2f", "not scored (generalized or diverged by the cut)",
                         "t_pred")] if lay.pred_title else []),
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


__all__ = ["cell_spec", "counts_spec", "phase_diagram_spec", "reps_spec"]
