"""What the report knows about one run's model: its configuration, rebuilt from its results
row, and the explorer panels that apply to it.

The explorer asks only ``panels_for`` which task-specific panels to draw; the answer comes from
the analysis views the run's model offers (``grokjax.components.Model.views``), never from a
task's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grokjax.errors import SpecError
from grokjax.registry import RegistryError
from grokjax.spec import resolve_row
from grokjax.static import Static
from grokjax.store import ResultsError

# The explorer's task-specific panels:
#   "collapsed": the model as a p x H W_input and an H x p W_output (weight heatmaps);
#   "fourier":   the DFT of those (needs odd p): Fourier basis, neuron stars, logit waves;
#   "bits":      first-layer input weights with k relevant bits: W_in, w_out and per-bit norms.
PANELS = ("collapsed", "fourier", "bits")


def run_config(row: Mapping[str, Any]) -> dict[str, Any]:
    """The full configuration of a run, rebuilt from its row (``grokjax.spec.resolve_row``)."""
    try:
        return resolve_row(row)
    except (SpecError, RegistryError) as e:
        raise ResultsError(f"run {row.get('run_id')}: its settings do not resolve ({e})") from None


def run_static(row: Mapping[str, Any]) -> Static:
    return Static.from_config(run_config(row))


def panels_for(static: Static) -> tuple[str, ...]:
    """The task-specific explorer panels (of ``PANELS``) that apply to a run's model."""
    views = static.components.model.views
    p, k = static.get("p"), static.get("k")
    panels: list[str] = []
    if "collapsed" in views and p is not None:  # a p-token model: its collapsed p x H view
        panels.append("collapsed")
        if p % 2 == 1 and p >= 3:
            panels.append("fourier")
    if "input_weights" in views and k is not None:  # first-layer weights, first k bits relevant
        panels.append("bits")
    return tuple(panels)


__all__ = ["PANELS", "panels_for", "run_config", "run_static"]
