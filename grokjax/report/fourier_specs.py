"""Vega-Lite specs of the explorer's Fourier panels: neurons of each key frequency ("stars"),
the norm of each frequency, and the logit waves of each frequency group."""

from __future__ import annotations

from typing import Any

from grokjax.report.explorer_specs import facet_grid
from grokjax.report.theme import EXPLORER_CONFIG, SIDE_COLORS

# A text in the top-left corner of a facet panel: the ``note`` of the row flagged ``first``.
NOTE = {"transform": [{"filter": "datum.note"}],
        "mark": {"type": "text", "align": "left", "baseline": "top", "fontSize": 10,
                 "color": "#555", "x": 3, "y": 2},
        "encoding": {"text": {"field": "note"}}}


def star_spec(size: int = 132) -> dict[str, Any]:
    """Per key frequency (columns) and side (rows): each neuron at (cos, sin) of its frequency."""
    z = {"calculate": "0", "as": "z"}
    pos = lambda f: {"field": f, "type": "quantitative", "title": None,  # noqa: E731
                     "axis": {"tickCount": 3, "format": ".2~g", "labelFontSize": 9,
                              "gridColor": "#eee"}}
    return {
        "datasets": {"star": []}, "data": {"name": "star"}, "config": EXPLORER_CONFIG,
        "facet": {"row": {"field": "side", "type": "nominal", "title": None,
                          "sort": ["input side (F·W_input)", "output side (F·W_outputᵀ)"],
                          "header": {"labelFontSize": 11, "labelAngle": -90,
                                     "labelOrient": "left"}},
                  "column": {"field": "f", "type": "nominal", "title": None,
                             "sort": {"field": "fk", "op": "min"},
                             "header": {"labelFontSize": 12, "labelFontWeight": "bold"}}},
        "spacing": {"row": 10, "column": 10},
        "resolve": {"scale": {"x": "independent", "y": "independent"}},
        "spec": {
            "width": size, "height": size,
            "layer": [
                {"transform": [{"filter": "datum.kind === 'pt'"}, z],
                 "mark": {"type": "rule", "strokeWidth": 1.2, "opacity": 0.75},
                 "encoding": {"x": pos("z"), "y": pos("z"), "x2": {"field": "cx"},
                              "y2": {"field": "cy"},
                              "color": {"field": "hue", "type": "quantitative", "legend": None,
                                        "scale": {"scheme": "sinebow", "domain": [0, 1]}}}},
                {"transform": [{"filter": "datum.kind === 'pt'"}],
                 "mark": {"type": "circle", "size": 38, "opacity": 1, "stroke": "#333",
                          "strokeWidth": 0.4},
                 "encoding": {"x": pos("cx"), "y": pos("cy"),
                              "color": {"field": "hue", "type": "quantitative", "legend": None,
                                        "scale": {"scheme": "sinebow", "domain": [0, 1]}},
                              "tooltip": [{"field": "neuron"}, {"field": "f", "title": "group"},
                                          {"field": "side"},
                                          {"field": "cx", "format": ".3~g", "title": "cos"},
                                          {"field": "cy", "format": ".3~g", "title": "sin"},
                                          {"field": "deg", "title": "angle (deg)"}]}},
                {"transform": [{"filter": "datum.kind === 'ext'"}],
                 "mark": {"type": "point", "opacity": 0},
                 "encoding": {"x": pos("cx"), "y": pos("cy")}},
                NOTE,
            ],
        },
    }


def fnorm_spec(k_max: int) -> dict[str, Any]:
    """Norm of each frequency (summed over neurons), input and output side."""
    return {
        "datasets": {"fnorm": []}, "data": {"name": "fnorm"}, "config": EXPLORER_CONFIG,
        "params": [{"name": "keys", "value": []}],
        "width": max(260, min(760, 16 * (k_max + 1))), "height": 150,
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "k", "type": "ordinal", "title": "frequency k (0 = constant)",
                  "scale": {"domain": list(range(k_max + 1))},
                  "axis": {"labelAngle": 0, "labelOverlap": True,
                           "labelFontWeight": {"condition": {"test": "indexof(keys, "
                                                             "datum.value) >= 0",
                                                             "value": "bold"},
                                               "value": "normal"},
                           "labelColor": {"condition": {"test": "indexof(keys, datum.value) >= 0",
                                                        "value": "#111"}, "value": "#888"}}},
            "xOffset": {"field": "side", "type": "nominal",
                        "scale": {"domain": ["input", "output"]}},
            "y": {"field": "v", "type": "quantitative", "title": "norm"},
            "color": {"field": "side", "type": "nominal", "title": None,
                      "scale": {"domain": ["input", "output"],
                                "range": [SIDE_COLORS["input"], SIDE_COLORS["output"]]},
                      "legend": {"orient": "top"}},
            "tooltip": [{"field": "k", "title": "frequency"}, {"field": "side"},
                        {"field": "v", "format": ".4~g", "title": "norm"}],
        },
    }


def logits_spec(columns: int) -> dict[str, Any]:
    """The logit contribution of each frequency group over the answers c, for one (a, b)."""
    x = {"field": "x", "type": "quantitative", "title": None,
         "scale": {"nice": False, "zero": True}, "axis": {"tickCount": 5, "format": "d"}}
    return {
        "datasets": {"logits": []}, "data": {"name": "logits"}, "config": EXPLORER_CONFIG,
        **facet_grid("g", columns, (12, 22), (220, 120), [
            {"transform": [{"filter": "datum.x === datum.at"}],
             "mark": {"type": "rule", "color": "#2ca25f", "strokeWidth": 2,
                      "opacity": 0.6},
             "encoding": {"x": x}},
            {"mark": {"type": "line", "color": "#aaa", "strokeDash": [4, 3],
                      "strokeWidth": 1.2},
             "encoding": {"x": x, "y": {"field": "ref", "type": "quantitative"}}},
            {"mark": {"type": "line", "strokeWidth": 1.8, "point": {"size": 12}},
             "encoding": {
                 "x": x,
                 "y": {"field": "v", "type": "quantitative", "title": None,
                       "axis": {"tickCount": 4, "format": ".3~g"}},
                 "color": {"field": "color", "type": "nominal", "scale": None},
                 "tooltip": [{"field": "g", "title": "group"}, {"field": "c"},
                             {"field": "x", "title": "x"},
                             {"field": "v", "format": ".4~g", "title": "logit"},
                             {"field": "ref", "format": ".4~g", "title": "cos fit"}]}},
            NOTE,
        ]),
    }


def nfreq_spec(k_max: int) -> dict[str, Any]:
    """MLP neurons per 2D-Fourier frequency, stacked by whether the frequency explains at least
    the ``clean`` share of the neuron's variance (rows {k, clean, n})."""
    groups = ["explained", "mixed"]
    return {
        "datasets": {"nfreq": []}, "data": {"name": "nfreq"}, "config": EXPLORER_CONFIG,
        "width": max(260, min(760, 16 * k_max)), "height": 150,
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "k", "type": "ordinal", "title": "neuron frequency k",
                  "scale": {"domain": list(range(1, k_max + 1))},
                  "axis": {"labelAngle": 0, "labelOverlap": True}},
            "y": {"field": "n", "type": "quantitative", "title": "neurons", "stack": True},
            "color": {"field": "clean", "type": "nominal", "title": None,
                      "scale": {"domain": groups,
                                "range": [SIDE_COLORS["input"], "#c7c7c7"]},
                      "legend": {"orient": "top"}},
            "tooltip": [{"field": "k", "title": "frequency"}, {"field": "clean"},
                        {"field": "n", "title": "neurons"}],
        },
    }


__all__ = ["fnorm_spec", "logits_spec", "nfreq_spec", "star_spec"]
