"""Per-run explorer pages: ``results/NAME/explore/RUN_ID.html`` (self-contained, offline).

One page shows one run: its loss / accuracy and progress-measure curves, heatmaps of its weights
at every saved parameter snapshot (a step slider), and

* modular tasks (odd p): the DFT of the collapsed weights (F W_input, F W_output^T), neurons
  grouped by frequency and sorted by angle, the "star" plots of the in- and out-projection
  coefficients of each key frequency, and the per-frequency logit waves for a chosen (a, b)
  (science.md 5);
* sparse parity: the per-bit norms of W_in over the snapshots, relevant vs distracting bits.

``write_explorer(results_dir, run_id)`` writes one page; ``write_explorers(results_dir)`` writes a
page for every run with saved parameter snapshots (``write_report`` calls it for small sweeps).
The weights travel as base64 float32 arrays, one set per snapshot; the browser builds the chart
rows (and the logit waves, from W_input and W_output) on the fly.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grokjax.checkpoints import SMALL_SWEEP, load_params, saved_steps
from grokjax import registry
from grokjax.errors import SpecError
from grokjax.spec import resolve_row
from grokjax.report import charts
from grokjax.report.axes import fmt_value
from grokjax.report.page import (
    _asset,
    _json_for_script,
    load,
    page_script,
    to_vega,
    vega_bundle,
)
from grokjax.store import ResultsError, resolve_dir, atomic_write_bytes

EXPLORE_DIR = "explore"
MAX_PAGES = 200  # write_explorers' default cap
AUTO_MAX_RUNS = SMALL_SWEEP  # write_report writes explorer pages for sweeps this small
MAX_STAR_PANELS = 8
PROGRESS_LABELS = {
    "l2_norm": "L2 weight norm", "l1_norm": "L1 weight norm",
    "fourier_gini_in": "Fourier Gini (input side)", "top4_share_in": "top-4 frequency share",
    "n_key_freqs": "key frequencies (cutoff rule)",
    "n_key_freqs_norm": "key frequencies (norm rule)",
    "relevant_norm": "W_in norm: relevant vs distracting bits",
}
SIDE_COLORS = {"input": "#4c78a8", "output": "#f58518"}
BIT_COLORS = {"relevant": "#8e44ad", "distracting": "#9aa0a6"}
NO_PARAMS_HELP = (
    "parameters are saved for every run of a sweep of at most 64 runs (10 snapshots each); "
    "for a larger sweep add a [checkpoints] table to the sweep file, e.g.\n"
    "    [checkpoints]\n    snapshots = 10\n    where = {weight_decay = [1.0]}\n"
    "and run the sweep again with --restart (or into a new --out folder)")


# ---------------------------------------------------------------------------------------------
# Paths and the runs that have pages
# ---------------------------------------------------------------------------------------------


def explorer_path(results_dir: str | Path, run_id: str) -> Path:
    return resolve_dir(results_dir) / EXPLORE_DIR / f"{run_id}.html"


def explorer_ids(results_dir: str | Path, df: pd.DataFrame | None = None) -> list[str]:
    """Run ids that have an explorer page in ``results_dir/explore`` (of the runs in ``df``)."""
    folder = resolve_dir(results_dir) / EXPLORE_DIR
    ids = sorted(p.stem for p in folder.glob("*.html")) if folder.is_dir() else []
    if df is not None:
        known = set(df["run_id"].astype(str))
        ids = [i for i in ids if i in known]
    return ids


# ---------------------------------------------------------------------------------------------
# A run's configuration
# ---------------------------------------------------------------------------------------------


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [x.item() if hasattr(x, "item") else x for x in v]
    if hasattr(v, "item") and not isinstance(v, (list, tuple, str)):
        return v.item()
    return v


def _null(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (list, tuple, np.ndarray)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def run_config(row: Mapping[str, Any]) -> dict[str, Any]:
    """The full configuration of a run, rebuilt from its row (``grokjax.spec.resolve_row``)."""
    try:
        return resolve_row(row)
    except (SpecError, registry.RegistryError) as e:
        raise ResultsError(f"run {row.get('run_id')}: its settings do not resolve ({e})") from None


def run_static(row: Mapping[str, Any]):
    from grokjax.static import Static

    return Static.from_config(run_config(row))


# ---------------------------------------------------------------------------------------------
# Analysis of the snapshots
# ---------------------------------------------------------------------------------------------


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def _round(a: Any, digits: int = 5) -> list:
    out = []
    for v in np.asarray(a, dtype=float).ravel():
        out.append(float(f"{v:.{digits}g}") if math.isfinite(v) else None)
    return out


def modular_snapshot(params: Mapping[str, np.ndarray], static: Any) -> dict[str, Any]:
    """Collapsed weights, their DFT and the neurons' frequencies at one snapshot (numpy)."""
    from grokjax.analysis import (
        dft_basis,
        frequency_norms,
        input_side_weights,
        neuron_frequencies,
    )
    from grokjax.models.modular_mlp import collapsed_view

    params = {k: np.asarray(v) for k, v in params.items()}
    ta, tb, o = collapsed_view(params, static)
    two = ta is not tb
    ta, tb, o = (np.asarray(x, np.float64) for x in (ta, tb, o))
    out: dict[str, Any] = {"wa": ta, "wb": tb if two else None, "wo": o.T}  # all p x H
    p, h = ta.shape
    if p % 2 == 0 or p < 3:
        out.update(dft=False, freq=np.zeros(h, int), order=np.arange(h))
        return out
    f_PxP = np.asarray(dft_basis(p), np.float64)
    w_in = np.asarray(input_side_weights(params, static), np.float64)
    nf = neuron_frequencies(w_in, f_PxP)
    nf_out = neuron_frequencies(o.T, f_PxP)
    freq = np.asarray(nf.freq_H).astype(int)
    ca = f_PxP @ ta
    cos_, sin_ = ca[2 * freq - 1, np.arange(h)], ca[2 * freq, np.arange(h)]
    angle = np.arctan2(sin_, cos_)
    order = np.lexsort((angle, freq))  # grouped by frequency, then by angle
    out.update(
        dft=True, ca=ca, cb=f_PxP @ tb if two else None, co=f_PxP @ o.T,
        freq=freq, freq_out=np.asarray(nf_out.freq_H).astype(int), angle=angle, order=order,
        peak=np.asarray(nf.peak_H), norm_in=np.asarray(frequency_norms(nf.norms_FxH)),
        norm_out=np.asarray(frequency_norms(nf_out.norms_FxH)))
    return out


def _key_freqs(row: Mapping[str, Any], last: Mapping[str, Any], p: int) -> list[int]:
    """The run's key frequencies (stored), else the largest of the last snapshot's norms."""
    keys = row.get("key_freqs")
    keys = [] if _null(keys) else [int(k) for k in keys]
    keys = [k for k in keys if 1 <= k <= (p - 1) // 2]
    if not keys and last.get("dft"):
        norms = np.asarray(last["norm_in"])[1:]
        energy = norms ** 2
        order = np.argsort(-energy)
        take = np.cumsum(energy[order]) - energy[order] < 0.9 * energy.sum()
        keys = sorted(int(k) + 1 for k in order[take][:4])
    if len(keys) > MAX_STAR_PANELS:
        norms = np.asarray(last.get("norm_in", np.zeros(p)))
        keys = sorted(sorted(keys, key=lambda k: -norms[k] if k < len(norms) else 0)
                      [:MAX_STAR_PANELS])
    return keys


def _modular_payload(row, static, snaps: list[dict[str, Any]], steps: list[int]
                     ) -> dict[str, Any]:
    last = snaps[-1]
    p, h = last["wa"].shape
    has_dft = bool(last["dft"])
    payload: dict[str, Any] = {
        "p": p, "H": h, "K": (p - 1) // 2 if has_dft else 0, "op": static.op,
        "act": static.activation, "two": last["wb"] is not None, "dft": has_dft,
        "key": _key_freqs(row, last, p) if has_dft else [], "snaps": []}
    keys = payload["key"]
    for step, s in zip(steps, snaps, strict=True):
        if has_dft:  # key frequency groups first (in the order of ``keys``), then the others
            rank = np.array([keys.index(f) if f in keys else len(keys) + f for f in s["freq"]])
            s = {**s, "order": np.lexsort((s["angle"], rank))}
        d: dict[str, Any] = {"step": int(step), "wa": _b64(s["wa"]), "wo": _b64(s["wo"]),
                             "wb": _b64(s["wb"]) if s["wb"] is not None else None}
        if has_dft:
            d.update(ca=_b64(s["ca"]), co=_b64(s["co"]),
                     cb=_b64(s["cb"]) if s["cb"] is not None else None,
                     freq=s["freq"].tolist(),
                     order=s["order"].tolist(), angle=_round(s["angle"], 4),
                     norm_in=_round(s["norm_in"]), norm_out=_round(s["norm_out"]))
        payload["snaps"].append(d)
    return payload


def _parity_payload(static, snaps: list[Mapping[str, np.ndarray]], steps: list[int]
                    ) -> dict[str, Any]:
    from grokjax.analysis import bit_norms_D

    out: dict[str, Any] = {"n": static.n, "k": static.k, "act": static.activation, "snaps": []}
    for step, params in zip(steps, snaps, strict=True):
        w_in = np.asarray(params["W_in"], np.float64)
        out["H"] = int(w_in.shape[1])
        out["snaps"].append({
            "step": int(step), "win": _b64(w_in),
            "wout": _b64(np.asarray(params["w_out"], np.float64)),
            "bits": _round(np.asarray(bit_norms_D({"W_in": w_in}))),
        })
    return out


# ---------------------------------------------------------------------------------------------
# Vega-Lite specs (compiled to Vega once per shape)
# ---------------------------------------------------------------------------------------------

CONFIG = {**charts.CONFIG, "axis": {**charts.CONFIG["axis"], "labelFontSize": 10},
          "legend": {"labelFontSize": 11, "titleFontSize": 11}}
CUR_RULE = {"mark": {"type": "rule", "color": "#111", "strokeDash": [3, 3],
                     "strokeWidth": 1.2},
            "transform": [{"aggregate": [{"op": "count", "as": "_n"}]}],
            "encoding": {"x": {"datum": {"expr": "cur"}, "type": "quantitative"}}}


def _step_x(title: str | None = "step") -> dict[str, Any]:
    return {"field": "step", "type": "quantitative", "title": title,
            "axis": {"labelExpr": charts.STEP_LABEL, "tickCount": 5}}


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
                          "axis": {"format": "~e", "labelExpr": charts.LOSS_LABEL,
                                   "tickCount": 6} if loss
                          else {"format": ".1f"}},
                    "color": {"field": "split", "type": "nominal", "title": None,
                              "scale": {"domain": ["train", "test"],
                                        "range": [charts.SPLIT_COLORS["train"],
                                                  charts.SPLIT_COLORS["test"]]},
                              "legend": {"orient": "top"} if loss else None},
                    "tooltip": [{"field": "split"}, {"field": "step", "format": ","},
                                {"field": metric, "format": ".4~g"}],
                }}, CUR_RULE],
        }
    return {"params": [{"name": "cur", "value": 0}], "datasets": {"curves": []},
            "data": {"name": "curves"}, "config": CONFIG,
            "hconcat": [chart("loss"), chart("acc")], "spacing": 28,
            "resolve": {"scale": {"color": "shared"}}}


def progress_spec(columns: int = 3, legend: bool = False) -> dict[str, Any]:
    """One small panel per progress measure (independent y), rule at the current snapshot."""
    return {
        "params": [{"name": "cur", "value": 0}], "datasets": {"prog": []},
        "data": {"name": "prog"}, "config": CONFIG,
        "facet": {"field": "m", "type": "nominal", "title": None, "sort": {"field": "mi"},
                  "header": {"labelFontSize": 12, "labelFontWeight": "bold"}},
        "columns": columns, "spacing": {"row": 14, "column": 24},
        "resolve": {"scale": {"y": "independent"}},
        "spec": {
            "width": 240, "height": 130,
            "layer": [{
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
                }}, CUR_RULE],
        },
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
                            "datasets": {"cells": [], "neurons": []}, "config": CONFIG}
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
        "datasets": {"star": []}, "data": {"name": "star"}, "config": CONFIG,
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
        "datasets": {"fnorm": []}, "data": {"name": "fnorm"}, "config": CONFIG,
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
        "datasets": {"logits": []}, "data": {"name": "logits"}, "config": CONFIG,
        "facet": {"field": "g", "type": "nominal", "title": None, "sort": {"field": "gi"},
                  "header": {"labelFontSize": 12, "labelFontWeight": "bold"}},
        "columns": columns, "spacing": {"row": 12, "column": 22},
        "resolve": {"scale": {"y": "independent"}},
        "spec": {
            "width": 220, "height": 120,
            "layer": [
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
            ],
        },
    }


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
            "config": CONFIG, "hconcat": [traj, now], "spacing": 30}


@functools.lru_cache(maxsize=64)
def _compiled(kind: str, args: str) -> str:
    kw = json.loads(args)
    builders = {"curves": curves_spec, "progress": progress_spec, "heatmap": heatmap_spec,
                "star": star_spec, "fnorm": fnorm_spec, "logits": logits_spec,
                "bits": bits_spec}
    return json.dumps(to_vega(builders[kind](**kw)))


def _vega(kind: str, **kw: Any) -> dict[str, Any]:
    return json.loads(_compiled(kind, json.dumps(kw, sort_keys=True)))


def _cell(n: int, target: float, lo: float, hi: float) -> float:
    return float(min(hi, max(lo, target / max(n, 1))))


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


def _curves_payload(row: Mapping[str, Any], floor: float) -> dict[str, Any]:
    step = row.get("step")
    if _null(step) or len(step) == 0:
        return {"step": []}
    out: dict[str, Any] = {"step": [int(s) for s in step], "floor": floor}
    for col in ("train_loss", "test_loss", "train_acc", "test_acc", *PROGRESS_LABELS,
                "distracting_norm"):
        v = row.get(col)
        if v is None or (not isinstance(v, (np.ndarray, list)) and _null(v)):
            continue
        a = np.asarray(v, dtype=float)
        if not np.isfinite(a).any():
            continue
        if col.endswith("_loss"):
            a = np.where(np.isfinite(a), np.maximum(a, floor), np.nan)
        out[col] = _round(a)
    return out


def _settings_html(row: Mapping[str, Any], varying: Sequence[str]) -> str:
    e = html.escape
    items = []
    for name in registry.all_settings():
        if name not in row or _null(row[name]):
            continue
        v = _plain(row[name])
        cls = ' class="vary"' if name in varying else ""
        items.append(f"<code{cls}>{e(name)} = {e(fmt_value(v))}</code>")
    return " ".join(items)


def _summary_html(row: Mapping[str, Any]) -> str:
    e = html.escape

    def num(col: str, fmt: str) -> str | None:
        v = row.get(col)
        if v is None or _null(v):
            return None
        try:
            return format(float(v), fmt)
        except (TypeError, ValueError):
            return None

    parts = []
    for label, col, fmt in (("final train acc", "final_train_acc", ".3f"),
                            ("final test acc", "final_test_acc", ".3f"),
                            ("min train loss", "min_train_loss", ".3g"),
                            ("min test loss", "min_test_loss", ".3g"),
                            ("max test/train loss", "max_loss_ratio", ".3g"),
                            ("train acc ≥ 0.9 at step", "train_acc_step_90", ",.0f"),
                            ("test acc ≥ 0.9 at step", "test_acc_step_90", ",.0f"),
                            ("training time", "wall_time_s", ".1f")):
        got = num(col, fmt)
        if got is not None:
            parts.append(f"<span>{e(label)} <b>{e(got)}{' s' if col == 'wall_time_s' else ''}"
                         "</b></span>")
    return " ".join(parts)


def _sections(task: str, mod: Mapping[str, Any] | None) -> str:
    """The task-specific sections of the page (containers the script fills)."""
    if task == "parity":
        return (
            '<section>\n<h2>Weights</h2>\n<p class="how">W_in is (n+1) × hidden: one row per '
            'input bit (the <b class="rel">relevant</b> bits, whose parity is the label, are '
            "the first k rows) and the hidden bias (the constant-1 input) as the last row; "
            "w_out is the single output row. Red positive, blue negative; move the step slider "
            "to see the distracting rows being pruned.</p>\n"
            '<div class="grid2"><div><h3>W_in</h3><div id="gx-win" class="chart"></div></div>'
            '<div><h3>w_out</h3><div id="gx-wout" class="chart"></div></div></div>\n'
            "</section>\n<section>\n<h2>Relevant vs distracting bits</h2>\n"
            '<p class="how">The L2 norm of each bit\'s W_in row at every saved snapshot (left) '
            "and at the current one (right). A generalizing network keeps its weight on the k "
            "relevant bits and prunes the rest (science.md 3).</p>\n"
            '<div id="gx-bits" class="chart"></div>\n</section>\n')
    assert mod is not None
    side_b = mod["two"]
    win = ('<div><h3>W_input (a)</h3><div id="gx-wa" class="chart"></div></div>'
           '<div><h3>W_input (b)</h3><div id="gx-wb" class="chart"></div></div>'
           if side_b else
           '<div><h3>W_input = E·W_in</h3><div id="gx-wa" class="chart"></div></div>')
    out = ('<section>\n<h2>Weights (collapsed view)</h2>\n<p class="how">The model as two '
           "matrices (science.md 1): W_input (p × hidden: the hidden pre-activation of token "
           "a is row a, added for a and b) and W_output (hidden × p, drawn transposed so that "
           "both share the neuron axis). Red positive, blue negative."
           + (" Neurons are drawn in the order chosen above; the coloured strip marks each"
              " neuron's frequency group (faded: not a key frequency)." if mod["dft"] else "")
           + "</p>\n"
           f'<div class="grid2">{win}<div><h3>W_outputᵀ = (W_out·Eᵀ)ᵀ</h3>'
           '<div id="gx-wo" class="chart"></div></div></div>\n</section>\n')
    if not mod["dft"]:
        return out + ('<section>\n<h2>Fourier analysis</h2>\n<p class="how">Not available: '
                      f"p = {mod['p']} is even, so the real DFT basis has no sin row for "
                      "frequency p/2.</p>\n</section>\n")
    keys = ", ".join(str(k) for k in mod["key"]) or "none"
    out += (
        '<section>\n<h2>Fourier basis</h2>\n<p class="how">F is the orthonormal real DFT '
        "basis (rows: constant, then cos and sin of each frequency k = 1 … (p−1)/2). "
        "F·W_input and F·W_outputᵀ show each neuron's weights as frequencies: a Fourier-sparse "
        "(generalizing) network puts each neuron on one cos/sin pair. A neuron's frequency is "
        "the k holding its largest input-side coefficient (science.md 5).</p>\n"
        '<div class="grid2">'
        + ('<div><h3>F·W_input (a)</h3><div id="gx-ca" class="chart"></div></div>'
           '<div><h3>F·W_input (b)</h3><div id="gx-cb" class="chart"></div></div>'
           if side_b else
           '<div><h3>F·W_input</h3><div id="gx-ca" class="chart"></div></div>')
        + '<div><h3>F·W_outputᵀ</h3><div id="gx-co" class="chart"></div></div></div>\n'
        '<h3>Norm per frequency</h3><div id="gx-fnorm" class="chart"></div>\n</section>\n'
        "<section>\n<h2>Neurons of each key frequency</h2>\n"
        f'<p class="how">Key frequencies of this run: <b>{html.escape(keys)}</b>. One panel '
        "per key frequency k: each neuron whose frequency is k is a point at its (cos k, "
        "sin k) coefficients, on the input side (top) and the output side (bottom); colour "
        "= the neuron's input-side angle. In a clean solution the output points go round "
        "the circle twice as fast as the input points (science.md 2).</p>\n"
        '<div id="gx-star" class="chart"></div>\n</section>\n'
        "<section>\n<h2>Logits by frequency</h2>\n"
        '<div class="pair"><label>x axis <select id="gx-xaxis"><option value="phase">'
        "k·(c − answer) mod p (answer at 0)</option><option value=\"c\">the answer c"
        '</option></select></label><label>a <input type="range" id="gx-a" min="0" '
        f'max="{mod["p"] - 1}" step="1"><input type="number" id="gx-a-val" min="0" '
        f'max="{mod["p"] - 1}"></label><label>b <input type="range" id="gx-b" min="0" '
        f'max="{mod["p"] - 1}" step="1"><input type="number" id="gx-b-val" min="0" '
        f'max="{mod["p"] - 1}"></label><button type="button" id="gx-rand">random pair'
        '</button><span id="gx-pred"></span></div>\n'
        '<p class="how">For the pair (a, b): the activations of each key frequency\'s '
        "neurons times W_output give that group's contribution to the logit of every answer "
        "c (the other neurons are summed in one panel; the last panel is the model's logits). "
        "Each group's wave should be ≈ cos(2π·k·(a+b−c)/p), peaking at the right answer "
        "(green): the dashed grey line is that cosine, fitted to the group's values. Drawn "
        "against k·(c − answer) mod p (k = 1 for the last two panels) each wave is a single "
        "period with the answer at 0; against c a high frequency looks like a saw.</p>\n"
        '<div id="gx-logits" class="chart"></div>\n</section>\n')
    return out


def _ensure_row(df: pd.DataFrame, run_id: str, d: Path) -> pd.Series:
    hit = df.index[df["run_id"].astype(str) == str(run_id)]
    if len(hit) == 0:
        ids = df["run_id"].astype(str).tolist()
        shown = ", ".join(ids[:8]) + (f", … ({len(ids)} runs)" if len(ids) > 8 else "")
        raise ResultsError(f"{d}: no run {run_id!r} in these results; run ids: {shown}")
    return df.loc[hit[0]]


def render_explorer(df: pd.DataFrame, manifest: Mapping[str, Any], results_dir: str | Path,
                    run_id: str) -> str:
    """The explorer page of one run (a string)."""
    d = resolve_dir(results_dir)
    row = _ensure_row(df, run_id, d)
    steps = saved_steps(d, run_id)
    if not steps:
        raise ResultsError(f"{d}: run {run_id} has no saved parameters "
                           f"({d / 'params' / (run_id + '.npz')} is missing), so it has no "
                           f"explorer page; {NO_PARAMS_HELP}")
    static = run_static(row)
    task = static.task
    snaps = [load_params(d, run_id, s) for s in steps]
    rule = charts.rule_of(df, manifest)
    floor = float(rule["params"].get("floor") or 0) or charts.LOSS_CLIP

    mod = par = None
    specs: dict[str, Any] = {"curves": _vega("curves")}
    if task == "modular":
        mod = _modular_payload(row, static, [modular_snapshot(s, static) for s in snaps], steps)
        p, h = mod["p"], mod["H"]
        cw, ch = _cell(h, 300, 5, 16), _cell(p, 330, 3, 14)
        tok = {"row_labels": None, "y_title": "token", "x_title": "neuron",
               "cell_w": cw, "cell_h": ch, "strip": mod["dft"]}
        specs["w"] = _vega("heatmap", n_rows=p, n_cols=h, **tok)
        if mod["dft"]:
            labels = ["const"] + [f"{t} {k}" for k in range(1, mod["K"] + 1)
                                  for t in ("cos", "sin")]
            specs["c"] = _vega("heatmap", n_rows=p, n_cols=h, **{
                **tok, "row_labels": labels, "y_title": "DFT component",
                "legend_title": "coef.", "dft_keys": True})
            specs["star"] = _vega("star")
            specs["fnorm"] = _vega("fnorm", k_max=mod["K"])
            groups = len(mod["key"]) + 2
            specs["logits"] = _vega("logits", columns=math.ceil(groups / math.ceil(groups / 4)))
    else:
        par = _parity_payload(static, snaps, steps)
        n, h = par["n"], par["H"]
        cw = _cell(h, 560, 2.5, 16)
        labels = [f"x{i}" for i in range(n)] + ["bias"]
        specs["w"] = _vega("heatmap", n_rows=n + 1, n_cols=h, row_labels=labels,
                           y_title="input", x_title="neuron", cell_w=cw,
                           cell_h=_cell(n + 1, 340, 5, 14), strip=False,
                           highlight_rows=par["k"])
        specs["wout"] = _vega("heatmap", n_rows=1, n_cols=h, row_labels=["w_out"],
                              y_title="", x_title="neuron", cell_w=cw, cell_h=16,
                              strip=False)
        specs["bits"] = _vega("bits", n=n)
    curves = _curves_payload(row, floor)
    measures = [c for c in PROGRESS_LABELS if c in curves]
    if measures:
        specs["progress"] = _vega("progress", columns=min(3, len(measures)),
                                  legend=task == "parity")

    phase = str(row.get("phase")) if not _null(row.get("phase")) else "?"
    name = str(manifest.get("sweep") or row.get("sweep") or d.name)
    varying = [a for a in (manifest.get("varying") or []) if a != "seed"]
    payload = {
        "run_id": str(run_id), "task": task, "phase": phase, "steps": [int(s) for s in steps],
        "curves": curves, "labels": PROGRESS_LABELS, "mod": mod, "par": par, "specs": specs,
        "colors": {"side": SIDE_COLORS, "bits": BIT_COLORS, "phase": charts.PHASE_COLORS},
    }
    e = html.escape
    key_html = ""
    if task == "modular":
        kf = row.get("key_freqs")
        kf = [] if _null(kf) else [int(k) for k in kf]
        key_html = f' · key frequencies <b>{e(", ".join(map(str, kf)) or "none")}</b>'
        if not kf and mod and mod["key"]:
            key_html += (" stored (largest at the last snapshot: <b>"
                         + e(", ".join(map(str, mod["key"]))) + "</b>)")
    pc = charts.PHASE_COLORS.get(phase, "#888")
    header = (
        f'<p class="back"><a href="../index.html">← phase diagram of {e(name)}</a></p>\n'
        f'<h1>Run <code>{e(str(run_id))}</code><span class="tag">grokjax run explorer</span>'
        "</h1>\n"
        f'<p class="meta"><span class="chip"><i style="background:{pc}"></i>{e(phase)}</span>'
        f" task <b>{e(task)}</b> · sweep <b>{e(name)}</b>{key_html} · "
        f"{len(steps)} saved snapshot{'s' if len(steps) != 1 else ''}</p>\n"
        f'<p class="summary">{_summary_html(row)}</p>\n'
        f'<div class="fixed">{_settings_html(row, varying)}</div>\n')
    import vl_convert

    ver = row.get("grokjax_version")
    footer = (f"Written by grokjax {e(str(ver or ''))} from <code>{e(str(d))}</code>, run "
              f"<code>{e(str(run_id))}</code>. Curves: every logged point; weights: the "
              f"{len(steps)} saved parameter snapshot{'s' if len(steps) != 1 else ''} "
              "(<code>params/" + e(str(run_id)) + ".npz</code>). Self-contained: Vega "
              f"{e(vl_convert.get_vega_version())} and vega-embed "
              f"{e(vl_convert.get_vega_embed_version())} are inlined; the page makes no "
              "network request.")
    order_ctrl = ""
    if mod and mod["dft"]:
        order_ctrl = ('<label>neurons <select id="gx-order"><option value="freq">by frequency '
                      'and angle</option><option value="index">by index</option>'
                      "</select></label>")
    parts = {
        "TITLE": e(f"{name} · run {run_id}"), "HEADER": header, "SECTIONS": _sections(task, mod),
        "ORDER": order_ctrl, "NSNAP": str(len(steps) - 1), "FOOTER": footer,
        "VERSION": e(str(ver or "")), "BUNDLE": vega_bundle(),
        "DATA": _json_for_script(payload),
        "JS": page_script("explorer.js"),
    }
    template = _asset("explorer_template.html")
    return re.sub(r"__([A-Z_]+)__", lambda m: parts.get(m.group(1), m.group(0)), template)


def _write(d: Path, run_id: str, text: str) -> Path:
    folder = d / EXPLORE_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ResultsError(f"{folder}: cannot create the folder ({e.strerror})") from None
    path = folder / f"{run_id}.html"
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def _load(d: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    try:
        return load(d)
    except FileNotFoundError as e:
        raise ResultsError(str(e)) from None


def write_explorer(results_dir: str | Path, run_id: str) -> Path:
    """Write ``results_dir/explore/RUN_ID.html`` and return its path.

    Raises ``ResultsError`` for an unknown run id or a run without saved parameters.
    """
    d = resolve_dir(results_dir)
    df, manifest = _load(d)
    return _write(d, str(run_id), render_explorer(df, manifest, d, str(run_id)))


def runs_with_snapshots(results_dir: str | Path, df: pd.DataFrame | None = None,
                        min_steps: int = 2) -> list[str]:
    """Run ids (in the results' order) with a params file holding >= ``min_steps`` steps."""
    d = resolve_dir(results_dir)
    if df is None:
        df, _ = _load(d)
    have = {p.stem for p in (d / "params").glob("*.npz")} if (d / "params").is_dir() else set()
    return [r for r in df["run_id"].astype(str) if r in have
            and len(saved_steps(d, r)) >= min_steps]


def write_explorers(results_dir: str | Path, run_ids: Iterable[str] | None = None, *,
                    limit: int = MAX_PAGES) -> list[Path]:
    """Explorer pages for ``run_ids`` (default: every run with >= 2 saved snapshot steps, at
    most ``limit`` pages, in the results' order).  Returns the paths written."""
    d = resolve_dir(results_dir)
    df, manifest = _load(d)
    return write_all(d, df, manifest, run_ids, limit=limit)


def write_all(d: Path, df: pd.DataFrame, manifest: Mapping[str, Any],
              run_ids: Iterable[str] | None = None, *, limit: int = MAX_PAGES) -> list[Path]:
    """``write_explorers`` on results already loaded (``write_report`` uses it)."""
    ids = list(run_ids) if run_ids is not None else runs_with_snapshots(d, df)[:limit]
    return [_write(d, str(r), render_explorer(df, manifest, d, str(r))) for r in ids]


__all__ = ["explorer_ids", "explorer_path", "render_explorer", "run_config", "run_static",
           "runs_with_snapshots", "write_explorer", "write_explorers"]
