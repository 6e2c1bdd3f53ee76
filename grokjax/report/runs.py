"""What the report knows about one run's model: its configuration, rebuilt from its results
row, and the explorer panels that apply to it.

The explorer asks only ``panels_for`` which task-specific panels to draw; the answer comes from
the analysis views the run's model offers (``grokjax.components.Model.views``), never from a
task's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grokjax.analysis.fourier import has_token_tables
from grokjax.errors import SpecError
from grokjax.registry import RegistryError
from grokjax.spec import resolve_row
from grokjax.static import Static
from grokjax.store import ResultsError

# The explorer's task-specific panels:
#   "collapsed": p-row token tables (the model's collapsed p x H W_input and H x p W_output, or
#                its token_tables view, e.g. a transformer's W_E and W_U): weight heatmaps;
#   "fourier":   the DFT of those (needs odd p): Fourier basis, per-frequency norms, stars;
#   "waves":     per-frequency logit waves (needs the collapsed view: logits = act(...) W_output);
#   "attention": the readout position's attention over all pairs (the model's attention view);
#   "neurons":   each MLP neuron's 2D-Fourier frequency over all pairs (its neurons view; odd p);
#   "bits":      first-layer input weights with k relevant bits: W_in, w_out and per-bit norms;
#   "params":    every parameter array as a heatmap, for a model whose views draw none of its
#                weights (no views at all, or only attention / neurons).
PANELS = ("collapsed", "fourier", "waves", "attention", "neurons", "bits", "params")


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
    odd = p is not None and p % 2 == 1 and p >= 3
    if has_token_tables(static.components.model) and p is not None:  # p-row token tables
        panels.append("collapsed")
        if odd:
            panels.append("fourier")
            if "collapsed" in views:
                panels.append("waves")
    if "attention" in views and p is not None:
        panels.append("attention")
    if "neurons" in views and odd:
        panels.append("neurons")
    if "input_weights" in views and k is not None:  # first-layer weights, first k bits relevant
        panels.append("bits")
    if "collapsed" not in panels and "bits" not in panels:
        panels.append("params")
    return tuple(panels)


__all__ = ["PANELS", "panels_for", "run_config", "run_static"]
