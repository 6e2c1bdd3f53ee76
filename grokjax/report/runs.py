"""What the report knows about one run's model: its configuration, rebuilt from its results
row, and the explorer panels that apply to it.

The explorer asks only ``panels_for`` which task-specific panels to draw, so this is the one
place that knows which models have which views.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grokjax.config import SETTINGS, SpecError, resolve
from grokjax.report.results import is_null, plain
from grokjax.store import ResultsError

# The explorer's task-specific panels:
#   "collapsed": the model as a p x H W_input and an H x p W_output (weight heatmaps);
#   "fourier":   the DFT of those (needs odd p): Fourier basis, neuron stars, logit waves;
#   "bits":      first-layer input weights with k relevant bits: W_in, w_out and per-bit norms.
PANELS = ("collapsed", "fourier", "bits")


def run_config(row: Mapping[str, Any]) -> dict[str, Any]:
    """The full configuration of a run, rebuilt from its row (``grokjax.config.resolve``)."""
    task = str(row["task"])
    overrides = {}
    for name, s in SETTINGS.items():
        if name == "task" or task not in s.tasks or name not in row or is_null(row[name]):
            continue
        overrides[name] = plain(row[name])
    try:
        return resolve(task, overrides, source=f"run {row.get('run_id')}")
    except SpecError as e:
        raise ResultsError(f"run {row.get('run_id')}: its settings do not resolve ({e})") from None


def run_static(row: Mapping[str, Any]):
    from grokjax.static import Static

    return Static.from_config(run_config(row))


def panels_for(static: Any) -> tuple[str, ...]:
    """The task-specific explorer panels (of ``PANELS``) that apply to a run's model."""
    p, k = getattr(static, "p", None), getattr(static, "k", None)
    panels: list[str] = []
    if p is not None:  # a p-token model: its collapsed p x H view
        panels.append("collapsed")
        if p % 2 == 1 and p >= 3:
            panels.append("fourier")
    if k is not None:  # first-layer input weights, the first k bits relevant
        panels.append("bits")
    return tuple(panels)


__all__ = ["PANELS", "panels_for", "run_config", "run_static"]
