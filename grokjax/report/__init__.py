"""The sweep report: ``results/NAME/index.html`` (an offline, interactive phase diagram with
live re-classification, phase counts and curves) and PNGs of its main charts.

``write_report(results_dir)`` reads ``manifest.json`` and ``runs/part-*.parquet`` and writes
``index.html``, ``phase_diagram.png`` and ``curves.png``; ``render_html(df, manifest)`` returns the
page as a string.  ``write_explorer(results_dir, run_id)`` writes one run's explorer page
``explore/RUN_ID.html`` (weights at every saved snapshot, Fourier analysis, curves);
``write_explorers`` writes them for every run with snapshots (``write_report`` does so for small
sweeps).  ``grokjax.report.axes`` chooses and validates the diagram's axes.

The modules, each importing only those above it in this list: ``axes`` (axis roles, value
labels), ``theme`` (colours, chart config), ``html`` (helpers both pages share), ``results``
(reading results), ``runs`` (a run's configuration and explorer panels), ``curve_data``,
``layout``, ``cell_shares`` (each cell's phase shares with Wilson intervals, from
``grokjax.stats``) and ``page_specs`` (the sweep page's data and charts), ``page`` (the sweep
page), ``explorer_data``, ``explorer_specs``, ``fourier_specs`` and ``explorer_html`` (an explorer
page's data, charts and text), ``explorer`` (explorer pages), and here ``write_report``, which
writes both.  ``plots`` (curves of chosen runs as an Altair chart) stands apart.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grokjax.report import explorer
from grokjax.report.axes import check_report_options, choose_axes
from grokjax.report.explorer import write_explorer, write_explorers
from grokjax.report.page import build, render_html, resolve_options
from grokjax.report.results import load
from grokjax.store import WriteError, atomic_write_bytes, staged


def _png(vl_spec: Mapping[str, Any], scale: float = 2.0) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_png(vl_spec, scale=scale)


def write_png(vl_spec: Mapping[str, Any], path: Path, scale: float = 2.0) -> Path:
    """Render a Vega-Lite spec to ``path`` as PNG (atomically)."""
    atomic_write_bytes(path, _png(vl_spec, scale))
    return path


def write_report(results_dir: str | Path, *, x: str | None = None, y: str | None = None,
                 facet: str | None = None, png: bool = True,
                 explorers: bool | None = None) -> Path:
    """Write ``results_dir/index.html`` (and ``phase_diagram.png``, ``curves.png``).

    ``explorers``: also write the per-run explorer pages ``explore/RUN_ID.html`` of the runs
    with saved parameter snapshots (None: only for sweeps of at most 64 runs).  The phase
    diagram links every run that has an explorer page.  Everything is rendered in memory first
    and then written all or nothing (a full disk or an unwritable folder changes no file).
    """
    d = Path(results_dir)
    df, manifest = load(d)
    opts = resolve_options(df, manifest, {"x": x, "y": y, "facet": facet})
    b = build(df, manifest, opts)
    with staged() as st:  # every file to a temp file first; renamed together at the end
        pages: list[str] = []
        if explorers or (explorers is None and len(df) <= explorer.AUTO_MAX_RUNS):
            try:
                for path, page in explorer.render_all(d, df, manifest):
                    st.add(path, page)
                    pages.append(path.stem)
            except WriteError:  # the folder cannot be written: neither can the report
                raise
            except Exception as e:  # an explorer page never costs the report
                if explorers:
                    raise
                warnings.warn(f"{d}: the run explorer pages were not written: {e}",
                              stacklevel=2)
        b["payload"]["explore"] = sorted(set(explorer.explorer_ids(d, df)) | set(pages))
        out = d / "index.html"
        st.add(out, render_html(df, manifest, _built=b).encode("utf-8"))
        if png:
            st.add(d / "phase_diagram.png", _png(b["png_main"]))
            if b["have_curves"]:
                st.add(d / "curves.png", _png(b["png_curves"]))
    return out


__all__ = ["check_report_options", "choose_axes", "load", "render_html", "write_explorer",
           "write_explorers", "write_png", "write_report"]
