"""Vega-Lite specs of the run explorer: curves, progress measures, weight heatmaps, per-bit norms
(the Fourier panels' specs are in ``fourier_specs``).

The data arrive empty (``datasets``) and the page's script fills them at every snapshot.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from grokjax.report.theme import (
    BIT_COLORS,
    EXPLORER_CONFIG,
    LOSS_LABEL,
    SPLIT_COLORS,
    STEP_LABEL,
)

# A dashed rule at the current snapshot (the ``cur`` signal).
CUR_RULE = {"mark": {"type": "rule", "color": "#111", "strokeDash": [3, 3],
                     "strokeWidth": 1.2},
            "transform": [{"aggregate": [{"op": "count", "as": "_n"}]}],
            "encoding": {"x": {"datum": {"expr": "cur"}, "type": "quantitative"}}}


def _step_x(title: str | None = "step") -> dict[str, Any]:
    return {"field": "step", "type": "quantitative", "title": title,
            "axis": {"labelExpr": STEP_LABEL, "tickCount": 5}}


def facet_grid(field: str, columns: int, spacing: tuple[int, int], size: tuple[int, int],
               layer: list[dict[str, Any]]) -> dict[str, Any]:
    """A wrapped facet of small panels (one per value of ``field``, in ``<field>i`` order, bold
    headers) with independent y scales; ``spacing`` is (row, column), ``size`` (width, height)."""
    return {
        "facet": {"field": field, "type": "nominal", "title": None, "sort": {"field": field + "i"},
                  "header": {"labelFontSize": 12, "labelFontWeight": "bold"}},
        "columns": columns, "spacing": {"row": spacing[0], "column": spacing[1]},
        "resolve": {"scale": {"y": "independent"}},
        "spec": {"width": size[0], "height": size[1], "layer": layer},
    }


def curves_spec() -> dict[str, Any]:
    """Loss (log) and accuracy, train and test, with a rule at the current snapshot."""
    def chart(metric: str) -> dict[str, Any]:
        loss = metric == "loss"
        return {
            "width": 390, "height": 210,
            "layer": [{
                "mark": {"type": "line", "strokeWidth": 1.6, "clip": True},
                "encoding": {
                    "x": _step_x(),
                    "y": {"field": metric, "type": "quantitative",
                          "title": "loss (log)" if loss else "accuracy",
                          "scale": {"type": "log"} if loss else {"domain": [0, 1]},
                          "axis": {"format": "~e", "labelExpr": LOSS_LABEL,
                                   "tickCount": 6} if loss
                          else {"format": ".1f"}},
                    "color": {"field": "split", "type": "nominal", "title": None,
                              "scale": {"domain": ["train", "test"],
                                        "range": [SPLIT_COLORS["train"],
                                                  SPLIT_COLORS["test"]]},
                              "legend": {"orient": "top"} if loss else None},
                    "tooltip": [{"field": "split"}, {"field": "step", "format": ","},
                                {"field": metric, "format": ".4~g"}],
                }}, CUR_RULE],
        }
    return {"params": [{"name": "cur", "value": 0}], "datasets": {"curves": []},
            "data": {"name": "curves"}, "config": EXPLORER_CONFIG,
            "hconcat": [chart("loss"), chart("acc")], "spacing": 28,
            "resolve": {"scale": {"color": "shared"}}}


def progress_spec(columns: int = 3, legend: bool = False) -> dict[str, Any]:
    """One small panel per progress measure (independent y), rule at the current snapshot."""
    return {
        "params": [{"name": "cur", "value": 0}], "datasets": {"prog": []},
        "data": {"name": "prog"}, "config": EXPLORER_CONFIG,
        **facet_grid("m", columns, (14, 24), (240, 130), [{
            "mark": {"type": "line", "strokeWidth": 1.5, "clip": True},
            "encoding": {
                "x": _step_x(),
                "y": {"field": "v", "type": "quantitative", "title": None,
                      "scale": {"zero": False}, "axis": {"tickCount": 4, "format": ",.4~g"}},
                "color": {"field": "series", "type": "nominal", "title": None,
                          "scale": {"domain": ["value", "relevant bits",
                                               "distracting bits"],
                                    "range": ["#555", BIT_COLORS["relevant"],
                                              BIT_COLORS["distracting"]]},
                          "legend": {"orient": "top", "values": [
                              "relevant bits", "distracting bits"]} if legend else None},
                "tooltip": [{"field": "m", "title": "measure"}, {"field": "series"},
                            {"field": "step", "format": ","},
                            {"field": "v", "format": ".4~g", "title": "value"}],
            }}, CUR_RULE]),
    }


def heatmap_spec(n_rows: int, n_cols: int, *, row_labels: Sequence[str] | None,
                 y_title: str, x_title: str, cell_w: float, cell_h: float,
                 strip: bool, highlight_rows: int = 0, legend_title: str = "weight",
                 dft_keys: bool = False) -> dict[str, Any]:
    """A diverging heatmap of ``cells`` (x = column position, y = row), colour domain [-m, m].

    ``ord`` (signal) is the neuron shown at each column position; with ``strip`` a row of
    ``neurons`` above the heatmap shows each neuron's frequency group.
    """
    width, height = round(n_cols * cell_w), round(n_rows * cell_h)
    xs = list(range(n_cols))
    x_axis = {"labelExpr": "ord[datum.value]", "labelAngle": 0, "ticks": False,
              "domain": False, "labelFontSize": 8 if cell_w < 12 else 9,
              "labelOverlap": True, "labelPadding": 2}
    x = {"field": "x", "type": "ordinal", "title": x_title, "scale": {"domain": xs},
         "axis": x_axis}
    y_axis: dict[str, Any] = {"ticks": False, "domain": False, "labelOverlap": True,
                              "labelFontSize": 8 if cell_h < 9 else 9, "labelPadding": 2}
    if row_labels is not None:
        y_axis["labelExpr"] = f"{json.dumps(list(row_labels))}[datum.value]"
    if dft_keys:  # bold labels on the cos / sin rows of the key frequencies (signal keys)
        hl = "datum.value > 0 && indexof(keys, floor((datum.value + 1) / 2)) >= 0"
        if cell_h < 8:  # too dense for every label: the constant and each key frequency
            y_axis["labelExpr"] = (f"datum.value === 0 ? 'const' : datum.value % 2 === 1 && "
                                   f"{hl} ? 'k = ' + (datum.value + 1) / 2 : ''")
            y_axis["labelOverlap"] = False
            y_axis["labelBaseline"] = "top"
        y_axis["labelColor"] = {"condition": {"test": hl, "value": "#111"}, "value": "#777"}
        y_axis["labelFontWeight"] = {"condition": {"test": hl, "value": "bold"},
                                     "value": "normal"}
    if highlight_rows:
        hl = f"datum.value < {highlight_rows}"
        y_axis["labelColor"] = {"condition": {"test": hl, "value": BIT_COLORS["relevant"]},
                                "value": "#555"}
        y_axis["labelFontWeight"] = {"condition": {"test": hl, "value": "bold"},
                                     "value": "normal"}
    labels_expr = (f"{json.dumps(list(row_labels))}[datum.y]" if row_labels is not None
                   else "datum.y")
    heat = {
        "width": width, "height": height,
        "data": {"name": "cells"},
        "transform": [{"calculate": labels_expr, "as": "row"},
                      {"calculate": "format(datum.v, '.4~g')", "as": "value"}],
        "mark": {"type": "rect"},
        "encoding": {
            "x": x,
            "y": {"field": "y", "type": "ordinal", "title": y_title,
                  "scale": {"domain": list(range(n_rows))}, "axis": y_axis},
            "color": {"field": "v", "type": "quantitative", "title": legend_title,
                      "scale": {"domain": {"expr": "[-m, m]"}, "scheme": "redblue",
                                "reverse": True, "clamp": True},
                      "legend": {"orient": "right", "gradientLength": min(max(height, 80), 220),
                                 "format": ".2~g", "tickCount": 3}},
            "tooltip": [{"field": "neuron"}, {"field": "row", "title": y_title},
                        {"field": "value"}],
        },
    }
    spec: dict[str, Any] = {"params": [{"name": "m", "value": 1}, {"name": "ord", "value": xs},
                                       {"name": "keys", "value": []}],
                            "datasets": {"cells": [], "neurons": []}, "config": EXPLORER_CONFIG}
    if not strip:
        spec.update(heat)
        return spec
    strip_chart = {
        "width": width, "height": 12,
        "data": {"name": "neurons"},
        "layer": [
            {"mark": {"type": "rect", "stroke": "white", "strokeWidth": 0.5},
             "encoding": {
                 "x": dict(x, axis=None, title=None),
                 "fill": {"field": "color", "type": "nominal", "scale": None},
                 "opacity": {"condition": {"test": "datum.key", "value": 1}, "value": 0.25},
                 "tooltip": [{"field": "neuron"}, {"field": "freq", "title": "frequency"}]}},
            {"transform": [{"filter": "datum.first && datum.key && datum.span >= "
                                      f"{math.ceil(18 / cell_w)}"}],
             "mark": {"type": "text", "align": "left", "dx": 1, "fontSize": 9,
                      "fontWeight": "bold", "baseline": "bottom", "dy": -7},
             "encoding": {"x": dict(x, axis=None, title=None, bandPosition=0),
                          "text": {"field": "label"}}},
        ],
    }
    spec.update({"vconcat": [strip_chart, heat], "spacing": 2,
                 "resolve": {"scale": {"x": "shared"}}})
    return spec


def bits_spec(n: int) -> dict[str, Any]:
    """Per-bit norms of W_in over the snapshots, and at the current snapshot."""
    color = {"field": "group", "type": "nominal", "title": None,
             "scale": {"domain": ["relevant", "distracting"],
                       "range": [BIT_COLORS["relevant"], BIT_COLORS["distracting"]]},
             "legend": {"orient": "top"}}
    traj = {
        "width": 420, "height": 220, "data": {"name": "bits"},
        "layer": [{
            "mark": {"type": "line", "strokeWidth": 1.4, "point": {"size": 14}},
            "encoding": {"x": _step_x("step (saved snapshots)"),
                         "y": {"field": "v", "type": "quantitative",
                               "title": "norm of the bit's W_in row"},
                         "color": color, "detail": {"field": "bit"},
                         "opacity": {"condition": {"test": "datum.group === 'relevant'",
                                                   "value": 1}, "value": 0.55},
                         "tooltip": [{"field": "label", "title": "bit"}, {"field": "group"},
                                     {"field": "step", "format": ","},
                                     {"field": "v", "format": ".4~g", "title": "norm"}]}},
            CUR_RULE],
    }
    now = {
        "width": max(220, min(520, 14 * n)), "height": 220, "data": {"name": "bitnow"},
        "mark": {"type": "bar"},
        "encoding": {"x": {"field": "bit", "type": "ordinal", "title": "input bit",
                           "scale": {"domain": list(range(n))},
                           "axis": {"labelAngle": 0, "labelOverlap": True}},
                     "y": {"field": "v", "type": "quantitative", "title": "norm (this snapshot)"},
                     "color": dict(color, legend=None),
                     "tooltip": [{"field": "label", "title": "bit"}, {"field": "group"},
                                 {"field": "v", "format": ".4~g", "title": "norm"}]},
    }
    return {"params": [{"name": "cur", "value": 0}], "datasets": {"bits": [], "bitnow": []},
            "config": EXPLORER_CONFIG, "hconcat": [traj, now], "spacing": 30}


__all__ = ["CUR_RULE", "bits_spec", "curves_spec", "facet_grid", "heatmap_spec", "progress_spec"]
