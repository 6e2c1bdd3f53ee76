"""The sweep report: ``results/NAME/index.html`` (an offline, interactive phase diagram with
live re-classification, phase counts and curves) and PNGs of its main charts.

``write_report(results_dir)`` reads ``manifest.json`` and ``runs/part-*.parquet`` and writes
``index.html``, ``phase_diagram.png`` and ``curves.png``; ``render_html(df, manifest)`` returns the
page as a string.  ``write_explorer(results_dir, run_id)`` writes one run's explorer page
``explore/RUN_ID.html`` (weights at every saved snapshot, Fourier analysis, curves);
``write_explorers`` writes them for every run with snapshots (``write_report`` does so for small
sweeps).  ``grokjax.report.axes`` chooses and validates the diagram's axes.
"""

from grokjax.report.axes import check_report_options, choose_axes
from grokjax.report.explorer import write_explorer, write_explorers
from grokjax.report.page import load, render_html, write_report

__all__ = ["check_report_options", "choose_axes", "load", "render_html", "write_explorer",
           "write_explorers", "write_report"]
