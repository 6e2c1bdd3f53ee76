"""The sweep page ``results/NAME/index.html`` (self-contained, offline): its data and text.

``build`` gathers everything the page and its PNGs need; ``render_html`` fills the template.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from grokjax import phases, registry
from grokjax.errors import SpecError
from grokjax.phases import PHASES
from grokjax.report import adaptive_map, cell_shares, curve_data, page_specs
from grokjax.report.axes import (
    DEFAULTS,
    ROLES,
    check_axis_options,
    fmt_value,
    value_key,
)
from grokjax.report.html import (
    fill_page,
    json_for_script,
    page_script,
    self_contained_note,
    to_vega,
    vega_bundle,
)
from grokjax.report.layout import build_runs, run_label
from grokjax.report.results import first_value, grid_of, is_null, rule_of
from grokjax.report.theme import PHASE_COLORS, SPLIT_COLORS

MAX_CURVE_VALUES = 400_000  # per curve kind in the page (1,125 runs keep 101 points)
SVG_MAX_RUNS = 5000  # above this the diagram is drawn on a canvas
LOSS_DEFAULTS = phases.LossRule().params()
ACC_DEFAULTS = phases.AccuracyRule().params()
# The phase whose first cell is shown under the diagram when the page opens, in this order.
DEFAULT_CELL_PHASES = ("grok", "memorize", "generalize")


# ---------------------------------------------------------------------------------------------
# Building the page
# ---------------------------------------------------------------------------------------------


def resolve_options(df: pd.DataFrame, manifest: Mapping[str, Any],
                    overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[report]`` table of the stored spec, then explicit overrides (validated)."""
    grid = grid_of(df, manifest)
    allowed = list(grid)
    stored = dict(((manifest.get("spec") or {}).get("report")) or {})
    stored_axes = {r: stored.get(r) for r in ROLES if stored.get(r) in allowed}
    given = {r: overrides.get(r) for r in ROLES if overrides.get(r) is not None}
    # Overrides come from `grokjax report --x ...` (or write_report's keywords).
    check_axis_options("command line", given, allowed, where="--")
    # An override takes its axis away from any other stored role.
    opts: dict[str, Any] = {r: v for r, v in stored_axes.items() if v not in given.values()}
    opts.update(given)
    for key in DEFAULTS:
        v = overrides.get(key, stored.get(key))
        if isinstance(v, int) and not isinstance(v, bool):
            opts[key] = v
    return {**DEFAULTS, **{k: v for k, v in opts.items() if k in DEFAULTS}} | {
        r: opts.get(r) for r in ROLES}


def _fixed_settings(df: pd.DataFrame, skip: set[str]) -> list[tuple[str, str]]:
    out = []
    for name in registry.all_settings():
        if name in skip or name not in df.columns:
            continue
        vals = {value_key(v.tolist() if hasattr(v, "tolist") else v)
                for v in df[name] if not is_null(v)}
        if len(vals) == 1:
            v = next(v for v in df[name] if not is_null(v))
            out.append((name, fmt_value(v.tolist() if hasattr(v, "tolist") else v)))
    return out


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 120:
        return f"{seconds:.1f} s" if seconds < 10 else f"{s} s"
    if s < 7200:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {(s % 3600) // 60} min"


def _ranges(df: pd.DataFrame, rule: Mapping[str, Any]) -> dict[str, list[float]]:
    def logs(cols: list[str]) -> np.ndarray:
        vals = np.concatenate([pd.to_numeric(df[c], errors="coerce").to_numpy(float)
                               for c in cols if c in df.columns] or [np.zeros(0)])
        vals = vals[np.isfinite(vals) & (vals > 0)]
        return np.log10(vals) if len(vals) else np.zeros(0)

    p = rule["params"]
    lo_loss = logs(["min_train_loss", "min_test_loss"])
    lo = math.floor(min(lo_loss.min() if len(lo_loss) else -8, -8)) - 1
    hi = math.ceil(max(lo_loss.max() if len(lo_loss) else 1, 1))
    r = logs(["max_loss_ratio"])
    rhi = math.ceil(max(r.max() if len(r) else 6, 6)) + 1
    steps = pd.to_numeric(df["steps"], errors="coerce").max() if "steps" in df.columns else 1e5
    ghi = math.ceil(math.log10(max(float(steps) if np.isfinite(steps) else 1e5, 10)))
    for key in ("min_train", "min_test"):
        if key in p and p[key] > 0:
            lo, hi = min(lo, math.floor(math.log10(p[key]))), max(hi, math.ceil(math.log10(p[key])))
    if p.get("ratio", 0) > 0:
        rhi = max(rhi, math.ceil(math.log10(p["ratio"])) + 1)
    if p.get("delay", 0) > 0:
        ghi = max(ghi, math.ceil(math.log10(p["delay"])))
    return {"loss": [max(lo, -30), min(hi, 10)], "ratio": [0, min(rhi, 30)], "delay": [0, ghi]}


def build(df: pd.DataFrame, manifest: Mapping[str, Any], options: Mapping[str, Any]
          ) -> dict[str, Any]:
    """Everything the page and the PNGs need (specs, payload, text)."""
    df = df.reset_index(drop=True)
    name = str(manifest.get("sweep") or first_value(df, "sweep") or "sweep")
    rows, lay = build_runs(df, manifest, options)
    cell_shares.add_cell_shares(rows)  # how sure each cell is (page.js keeps it live)
    if adaptive_map.is_adaptive(manifest):  # its points also drawn at their values
        adaptive_map.value_fields(rows, df, lay)
    rule = rule_of(df, manifest)
    n = len(df)

    # Curves: full resolution for the PNG, every k-th point quantised for the page.
    have_curves = all(c in df.columns for c in (*curve_data.CURVES, "step"))
    mats = {c: curve_data.curve_matrix(df[c]) for c in curve_data.CURVES} if have_curves else {}
    step = curve_data.curve_matrix(df["step"]) if have_curves else np.zeros((n, 0))
    stored = [r["stored"] for r in rows]
    order = curve_data.rep_order(df)
    k = int(options.get("curves_per_phase", DEFAULTS["curves_per_phase"]))
    reps = curve_data.pick_reps(stored, order, k)
    labels = [run_label(r, lay) for r in rows]
    default_cell = rows[reps[0]]["key"] if reps else rows[0]["key"]
    for p in DEFAULT_CELL_PHASES:
        got = [i for i in reps if stored[i] == p]
        if got:
            default_cell = rows[got[0]]["key"]
            break

    curves_payload = None
    page_points = 0
    if have_curves and step.shape[1]:
        points = int(options.get("curve_points", DEFAULTS["curve_points"]))
        # Bound the page for very large sweeps: about MAX_CURVE_VALUES values per curve kind.
        points = max(10, min(points, MAX_CURVE_VALUES // max(n, 1)))
        curves_payload = curve_data.pack_curves(step, mats, points)
        page_points = curves_payload["width"]

    # Accuracy rule: first-reach steps on a grid of levels (exact, from the full curves).
    levels = sorted(set(curve_data.ACC_GRID) | (
        {rule["params"]["threshold"]} if rule["name"] == "accuracy" else set()))
    acc = curve_data.reach_steps(df, step, mats, levels)

    counts = {p: stored.count(p) for p in PHASES}
    title = f"{name}: phase diagram"
    subtitle = f"{n:,} runs · " + " · ".join(f"{p} {counts[p]}" for p in PHASES
                                             if counts[p] or p != "diverged") + \
        f" · {rule['name']} rule " + ", ".join(
            f"{k_}={fmt_value(v)}" for k_, v in rule["params"].items())
    main_vl = page_specs.phase_diagram_spec(rows, lay, counts=False)  # the page has a table
    png_main_vl = page_specs.phase_diagram_spec(rows, lay, title=title, subtitle=subtitle)
    if adaptive_map.is_adaptive(manifest):
        log = adaptive_map.log_axes(df, manifest, lay)
        main_vl, png_main_vl = (adaptive_map.with_value_map(s, lay, log)
                                for s in (main_vl, png_main_vl))
    rep_rows_full = (curve_data.curve_rows(reps, stored, labels, step, mats,
                                           curve_data.display_floor(rule["params"]))
                     if have_curves else [])
    reps_png_vl = page_specs.reps_spec(
        rep_rows_full, title=f"{name}: representative runs",
        subtitle=f"up to {k} runs per phase (by run id); blue train, red test; "
                 "loss on a log scale")

    payload = {
        "phases": list(PHASES), "colors": PHASE_COLORS,
        "axes": {r: lay.axes[r] for r in ROLES},
        "layout": {"facet_order": lay.order["facet"], "g": lay.g, "h": lay.h},
        "rule": rule,
        # grokjax.phases compares loss thresholds at the curves' precision (float32 on disk).
        "f32": bool(have_curves and curve_data.is_float32(df["train_loss"])),
        "rule_defaults": {"loss": {**LOSS_DEFAULTS, **(
            rule["params"] if rule["name"] == "loss" else {})},
            "accuracy": {**ACC_DEFAULTS, **(
                rule["params"] if rule["name"] == "accuracy" else {})}},
        "acc": acc,
        "curves": curves_payload,
        "order": order, "reps_k": k, "default_cell": default_cell,
        "renderer": "svg" if n <= SVG_MAX_RUNS else "canvas",
        "ranges": _ranges(df, rule),
        "cell_style": {"alpha_min": cell_shares.ALPHA_MIN, "alpha_span": cell_shares.ALPHA_SPAN,
                       "tie_color": cell_shares.TIE_COLOR},
        "specs": {"main": to_vega(main_vl), "cell": to_vega(page_specs.cell_spec()),
                  "reps": to_vega(page_specs.reps_spec([]))},
    }
    return {"name": name, "df": df, "rows": rows, "layout": lay, "rule": rule,
            "payload": payload, "png_main": png_main_vl, "png_curves": reps_png_vl,
            "have_curves": have_curves, "page_points": page_points,
            "logged_points": int(step.shape[1]), "counts": counts, "k": k}


def _html_parts(b: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, str]:
    df, lay, name = b["df"], b["layout"], b["name"]
    n = len(df)
    e = html.escape
    spec_raw = manifest.get("spec") or {}
    desc = (spec_raw.get("sweep") or {}).get("description") or manifest.get("description") or ""
    description = f'<p class="desc">{e(desc)}</p>' if desc else ""

    grid = grid_of(df, manifest)
    varying = [a for a in (manifest.get("varying") or
                           [k for k, v in grid.items() if len(v) > 1 and k != "seed"])]
    seeds = len(grid.get("seed", [])) or (df["seed"].nunique() if "seed" in df.columns else 1)
    shape = " × ".join(f"{len(grid[a])} {e(a)}" for a in varying if a in grid)
    meta = [f"task <code>{e(str(first_value(df, 'task') or '?'))}</code>",
            f"<b>{n:,}</b> runs" + (f" = {shape} × {seeds} seed{'s' if seeds != 1 else ''}"
                                     if shape else f" ({seeds} seed{'s' if seeds != 1 else ''})")]
    if adaptive_map.is_adaptive(manifest):  # not a full grid: rounds of refinement
        meta[1] = f"<b>{n:,}</b> runs, {e(adaptive_map.describe(manifest))}"
    total = manifest.get("n_runs")
    if isinstance(total, int) and n < total and not adaptive_map.is_adaptive(manifest):
        meta.insert(2, f'<b class="partial">{n:,} of {total:,} runs done</b> (still training, '
                    "or interrupted: the same <code>sweep</code> command resumes it)")
    spec_hash = manifest.get("spec_hash") or first_value(df, "spec_hash")
    if spec_hash:
        meta.append(f"spec hash <code>{e(str(spec_hash))}</code>")
    ver, commit = first_value(df, "grokjax_version"), first_value(df, "git_commit")
    if ver or commit:
        meta.append("grokjax " + e(str(ver or "?")) + (f" (<code>{e(str(commit)[:10])}</code>)"
                                                     if commit else ""))
    jax_v, backend, kind = (first_value(df, c) for c in ("jax_version", "backend", "device_kind"))
    if jax_v or backend:
        meta.append(f"jax {e(str(jax_v or '?'))} on {e(str(backend or '?'))}"
                    + (f" ({e(str(kind))})" if kind else ""))
    if "wall_time_s" in df.columns and df["wall_time_s"].notna().any():
        meta.append(f"training time {_duration(float(df['wall_time_s'].sum()))}")
    created = first_value(df, "created_at")
    if created is not None:
        meta.append(f"trained {e(str(created)[:19])}")

    fixed = _fixed_settings(df, skip={*varying, "seed"})
    fixed_html = ("fixed: " + " ".join(f"<code>{e(k)} = {e(v)}</code>" for k, v in fixed)
                  if fixed else "")

    ax, ay, af = (lay.axes[r] for r in ROLES)
    where = []
    if af:
        where.append(f"one panel per <b>{e(af)}</b>")
    if ax:
        where.append(f"columns of cells by <b>{e(ax)}</b>")
    if ay:
        where.append(f"rows by <b>{e(ay)}</b> (small at the bottom)")
    cell_runs = lay.g * lay.h
    within = ", ".join(e(a) for a in lay.within) or "nothing else"
    how = (f"Each dot is one training run ({n:,} in all)"
           + (f": {', '.join(where)}." if where else ".")
           + f" The runs of a cell differ only in {within} and sit in a small"
           f" {lay.g}×{lay.h} grid inside it (as the explorable draws its seeds)."
           if cell_runs > 1 else
           f"Each dot is one training run ({n:,} in all)"
           + (f": {', '.join(where)}." if where else "."))
    if adaptive_map.is_adaptive(manifest):
        how = ("This sweep is adaptive: after its coarse grid, each round added points between"
               " neighbours whose modal phases differed and seeds where a point's share was"
               " least certain. The upper chart draws one mark per point at its actual values"
               " (colour: its modal phase; size: its runs; a ring: its runs disagree); below,"
               " every distinct value gets a column. ") + how
    how += (" A cell's background takes the colour of its most common phase, more opaque the"
            " surer that share is (the narrower its Wilson 95% interval: 2 of 3 runs is a faint"
            " wash, 9 of 9 a strong one); hover a cell for every phase's share and interval.")
    how += (" Colour is the run's phase under the rule above: drag a threshold and the runs are"
            " re-classified live from their stored summary numbers (a black ring marks a run"
            " whose phase differs from the stored one). Hover a dot for its numbers; click a"
            " cell to plot its runs' curves below.")
    if b["payload"].get("explore"):
        how += (" Double-click a dot (or follow the links above the cell's curves) to open"
                " that run's explorer page: its weights at every saved snapshot and, for"
                " modular runs, their Fourier structure.")

    k = b["k"]
    if b["have_curves"]:
        curves = (
            '<section>\n<h2>Curves of one cell</h2>\n<p class="how">Click a cell of the phase'
            " diagram to plot its runs here. Colour = phase (live), solid = train,"
            ' dashed = test; loss on a log scale.</p>\n<p id="gj-cell-title"></p>\n'
            '<div id="gj-cell" class="chart"></div>\n</section>\n'
            f'<section>\n<h2>Representative runs</h2>\n<p class="how">Up to {k} run'
            f"{'s' if k != 1 else ''} of each phase under the current rule (taken in run-id"
            " order, so they spread over the grid): <span style=\"color:"
            f"{SPLIT_COLORS['train']}\">train</span> and <span style=\"color:"
            f"{SPLIT_COLORS['test']}\">test</span> loss (log scale, top) and"
            ' accuracy (bottom).</p>\n<div id="gj-reps" class="chart"></div>\n</section>')
    else:
        curves = ('<section>\n<h2>Curves</h2>\n<p id="gj-cell-title"></p>\n<p class="how">'
                  "These results hold no curves.</p>\n</section>")

    pts = b["page_points"]
    footer = (f"Written by grokjax {e(str(ver or ''))} on "
              f"{_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')} from the "
              f"results of sweep <code>{e(name)}</code>"
              + (f" (<code>{e(str(manifest['source']))}</code>)" if manifest.get("source")
                 else "") + ". ")
    if b["have_curves"]:
        footer += (f"Curves on this page keep {pts} of {b['logged_points']} logged points per "
                   "run (every k-th and the last), quantised to 0.23% of the loss and 1e-4 of "
                   "the accuracy; <code>curves.png</code> and <code>phase_diagram.png</code> "
                   "use all points. ")
    footer += self_contained_note()
    return {"TITLE": e(name), "DESCRIPTION": description, "META": " · ".join(meta),
            "FIXED": fixed_html, "HOW": how, "CURVES": curves, "FOOTER": footer,
            "VERSION": e(str(ver or ""))}


def render_html(df: pd.DataFrame, manifest: Mapping[str, Any], *, x: str | None = None,
                y: str | None = None, facet: str | None = None,
                options: Mapping[str, Any] | None = None, _built: dict | None = None) -> str:
    """The self-contained page (a string).  ``x``/``y``/``facet`` override the axis choice."""
    b = _built or build(df, manifest, resolve_options(
        df, manifest, {**(options or {}), "x": x, "y": y, "facet": facet}))
    parts = _html_parts(b, manifest)
    parts.update(PREFIX="gj", BUNDLE=vega_bundle(), DATA=json_for_script(b["payload"]),
                 JS=page_script("page.js"))
    return fill_page("template.html", parts)


__all__ = ["SpecError", "build", "render_html", "resolve_options"]
