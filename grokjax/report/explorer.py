"""Per-run explorer pages: ``results/NAME/explore/RUN_ID.html`` (self-contained, offline).

One page shows one run: its loss / accuracy and progress-measure curves, heatmaps of its weights
at every saved parameter snapshot (a step slider), and

* for a model with a collapsed p x H view and odd p (modular tasks): the DFT of the collapsed
  weights (F W_input, F W_output^T), neurons grouped by frequency and sorted by angle, the
  "star" plots of the in- and out-projection coefficients of each key frequency, and the
  per-frequency logit waves for a chosen (a, b) (docs/experiments.md §5);
* for first-layer input weights with k relevant bits (sparse parity): the per-bit norms of W_in
  over the snapshots, relevant vs distracting bits.

Which of these a run gets is decided by ``grokjax.report.runs.panels_for`` alone.

``write_explorer(results_dir, run_id)`` writes one page; ``write_explorers(results_dir)`` writes a
page for every run with saved parameter snapshots (``write_report`` calls it for small sweeps).
The weights travel as base64 float32 arrays, one set per snapshot; the browser builds the chart
rows (and the logit waves, from W_input and W_output) on the fly.
"""

from __future__ import annotations

import functools
import html
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from grokjax.analysis import modular_snapshot
from grokjax.checkpoints import SMALL_SWEEP, load_params, saved_steps
from grokjax.report.curve_data import display_floor
from grokjax.report.explorer_data import (
    PROGRESS_LABELS,
    curves_payload,
    modular_payload,
    pair_labels,
    pairs_payload,
    params_payload,
    parity_payload,
)
from grokjax.report.explorer_html import ORDER_CONTROL, footer_html, header_html, sections_html
from grokjax.report.explorer_specs import bits_spec, curves_spec, heatmap_spec, progress_spec
from grokjax.report.fourier_specs import fnorm_spec, logits_spec, nfreq_spec, star_spec
from grokjax.report.html import fill_page, json_for_script, page_script, to_vega, vega_bundle
from grokjax.report.results import is_null, load_or_raise, resolve_dir, rule_of
from grokjax.report.runs import panels_for, run_config, run_static
from grokjax.report.theme import BIT_COLORS, PHASE_COLORS, SIDE_COLORS
from grokjax.store import ResultsError, write_files

EXPLORE_DIR = "explore"
MAX_PAGES = 200  # write_explorers' default cap
AUTO_MAX_RUNS = SMALL_SWEEP  # write_report writes explorer pages for sweeps this small
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
# The charts of a page (compiled to Vega once per shape)
# ---------------------------------------------------------------------------------------------

_BUILDERS = {"curves": curves_spec, "progress": progress_spec, "heatmap": heatmap_spec,
             "star": star_spec, "fnorm": fnorm_spec, "logits": logits_spec, "bits": bits_spec,
             "nfreq": nfreq_spec}


@functools.lru_cache(maxsize=64)
def _compiled(kind: str, args: str) -> str:
    return json.dumps(to_vega(_BUILDERS[kind](**json.loads(args))))


def _vega(kind: str, **kw: Any) -> dict[str, Any]:
    return json.loads(_compiled(kind, json.dumps(kw, sort_keys=True)))


def _cell(n: int, target: float, lo: float, hi: float) -> float:
    return float(min(hi, max(lo, target / max(n, 1))))


def chart_specs(panels: tuple[str, ...], mod: Mapping[str, Any] | None,
                par: Mapping[str, Any] | None, n_measures: int,
                pairs: Mapping[str, Any] | None = None,
                gen: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The compiled Vega spec of every chart of a page, by the id its script knows them by."""
    specs: dict[str, Any] = {"curves": _vega("curves")}
    if "params" in panels:
        assert gen is not None
        for leaf in gen["leaves"]:
            r, c = leaf["rows"], leaf["cols"]
            specs[leaf["key"]] = _vega("heatmap", n_rows=r, n_cols=c, row_labels=None,
                                       y_title="row", x_title="column",
                                       cell_w=_cell(c, 560, 1.5, 16),
                                       cell_h=_cell(r, 300, 1.5, 16), strip=False)
    if "collapsed" in panels:
        assert mod is not None
        p, h = mod["p"], mod["H"]
        tok = {"row_labels": None, "y_title": "token",
               "x_title": "neuron" if mod.get("waves", True) else "column",
               "cell_w": _cell(h, 300, 5, 16), "cell_h": _cell(p, 330, 3, 14),
               "strip": "fourier" in panels}
        specs["w"] = _vega("heatmap", n_rows=p, n_cols=h, **tok)
        if "fourier" in panels:
            labels = ["const"] + [f"{t} {k}" for k in range(1, mod["K"] + 1)
                                  for t in ("cos", "sin")]
            specs["c"] = _vega("heatmap", n_rows=p, n_cols=h, **{
                **tok, "row_labels": labels, "y_title": "DFT component",
                "legend_title": "coef.", "dft_keys": True})
            specs["star"] = _vega("star")
            specs["fnorm"] = _vega("fnorm", k_max=mod["K"])
        if "waves" in panels:
            groups = len(mod["key"]) + 2
            specs["logits"] = _vega("logits", columns=math.ceil(groups / math.ceil(groups / 4)))
    if "attention" in panels:
        assert pairs is not None
        p, n = pairs["p"], pairs["heads"] * pairs["p"]
        specs["att"] = _vega("heatmap", n_rows=p, n_cols=n, row_labels=None, y_title="a",
                             x_title="b (one block per head)", cell_w=_cell(n, 760, 1.5, 8),
                             cell_h=_cell(p, 300, 2, 8), strip=False,
                             legend_title="attention to a")
    if "neurons" in panels:
        assert pairs is not None
        specs["nfreq"] = _vega("nfreq", k_max=pairs["K"])
    if "bits" in panels:
        assert par is not None
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
    if n_measures:
        specs["progress"] = _vega("progress", columns=min(3, n_measures),
                                  legend="bits" in panels)
    return specs


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


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
    panels = panels_for(static)
    snaps = [load_params(d, run_id, s) for s in steps]
    rule = rule_of(df, manifest)
    floor = display_floor(rule["params"])

    mod = par = None
    if "collapsed" in panels:
        mod = modular_payload(row, static, [modular_snapshot(s, static) for s in snaps], steps,
                              fourier="fourier" in panels, waves="waves" in panels)
        if "waves" in panels:  # the true label of each pair, from the task's own data
            mod["labels"] = pair_labels(static, run_config(row))
    gen = params_payload(snaps, steps) if "params" in panels else None
    pairs = None
    if "attention" in panels or "neurons" in panels:
        pairs = pairs_payload(static, snaps, steps, attention="attention" in panels,
                              neurons="neurons" in panels)
    if "bits" in panels:
        par = parity_payload(static, snaps, steps)
    curves = curves_payload(row, floor)
    measures = [c for c in PROGRESS_LABELS if c in curves]

    phase = str(row.get("phase")) if not is_null(row.get("phase")) else "?"
    name = str(manifest.get("sweep") or row.get("sweep") or d.name)
    varying = [a for a in (manifest.get("varying") or []) if a != "seed"]
    payload = {
        "run_id": str(run_id), "task": static.task, "phase": phase,
        "steps": [int(s) for s in steps], "curves": curves, "labels": PROGRESS_LABELS,
        "mod": mod, "par": par, "pairs": pairs, "gen": gen,
        "specs": chart_specs(panels, mod, par, len(measures), pairs, gen),
        "colors": {"side": SIDE_COLORS, "bits": BIT_COLORS, "phase": PHASE_COLORS},
    }
    e = html.escape
    ver = row.get("grokjax_version")
    parts = {
        "TITLE": e(f"{name} · run {run_id}"),
        "HEADER": header_html(row, run_id, name, phase, len(steps), varying,
                              mod["key"] if mod is not None else None),
        "SECTIONS": sections_html(panels, mod, pairs, gen),
        "ORDER": ORDER_CONTROL if "fourier" in panels else "",
        "NSNAP": str(len(steps) - 1), "FOOTER": footer_html(row, d, run_id, len(steps)),
        "VERSION": e(str(ver or "")), "PREFIX": "gx", "BUNDLE": vega_bundle(),
        "DATA": json_for_script(payload), "JS": page_script("explorer.js"),
    }
    return fill_page("explorer_template.html", parts)


def _write(d: Path, run_id: str, text: str) -> Path:
    path = d / EXPLORE_DIR / f"{run_id}.html"
    write_files([(path, text.encode("utf-8"))])  # a failure leaves no folder or temp file
    return path


def write_explorer(results_dir: str | Path, run_id: str) -> Path:
    """Write ``results_dir/explore/RUN_ID.html`` and return its path.

    Raises ``ResultsError`` for an unknown run id or a run without saved parameters.
    """
    d = resolve_dir(results_dir)
    df, manifest = load_or_raise(d)
    return _write(d, str(run_id), render_explorer(df, manifest, d, str(run_id)))


def runs_with_snapshots(results_dir: str | Path, df: pd.DataFrame | None = None,
                        min_steps: int = 2) -> list[str]:
    """Run ids (in the results' order) with a params file holding >= ``min_steps`` steps."""
    d = resolve_dir(results_dir)
    if df is None:
        df, _ = load_or_raise(d)
    have = {p.stem for p in (d / "params").glob("*.npz")} if (d / "params").is_dir() else set()
    return [r for r in df["run_id"].astype(str) if r in have
            and len(saved_steps(d, r)) >= min_steps]


def write_explorers(results_dir: str | Path, run_ids: Iterable[str] | None = None, *,
                    limit: int = MAX_PAGES) -> list[Path]:
    """Explorer pages for ``run_ids`` (default: every run with >= 2 saved snapshot steps, at
    most ``limit`` pages, in the results' order).  Returns the paths written."""
    d = resolve_dir(results_dir)
    df, manifest = load_or_raise(d)
    return write_all(d, df, manifest, run_ids, limit=limit)


def write_all(d: Path, df: pd.DataFrame, manifest: Mapping[str, Any],
              run_ids: Iterable[str] | None = None, *, limit: int = MAX_PAGES) -> list[Path]:
    """``write_explorers`` on results already loaded."""
    ids = list(run_ids) if run_ids is not None else runs_with_snapshots(d, df)[:limit]
    return [_write(d, str(r), render_explorer(df, manifest, d, str(r))) for r in ids]


def render_all(d: Path, df: pd.DataFrame, manifest: Mapping[str, Any], *,
               limit: int = MAX_PAGES) -> Iterator[tuple[Path, bytes]]:
    """The explorer pages of every run with snapshots, rendered one at a time but not written
    (``write_report`` stages them with the page, all or nothing)."""
    for r in runs_with_snapshots(d, df)[:limit]:
        yield explorer_path(d, r), render_explorer(df, manifest, d, r).encode("utf-8")


__all__ = ["explorer_ids", "explorer_path", "render_all", "render_explorer",
           "runs_with_snapshots", "write_all", "write_explorer", "write_explorers"]
