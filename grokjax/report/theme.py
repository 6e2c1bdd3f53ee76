"""The look shared by every chart of the report: colours, Vega-Lite config, axis labels.

The phase names themselves come from ``grokjax.phases.PHASES``.
"""

from __future__ import annotations

PHASE_COLORS = {
    "memorize": "#f28e2b",
    "grok": "#8e44ad",
    "generalize": "#2ca25f",
    "fail": "#a5a5a5",
    "diverged": "#d62728",
}
SPLIT_COLORS = {"train": "#4c78a8", "test": "#e45756"}
# The explorer's input / output side of the collapsed weights, and relevant / distracting bits.
SIDE_COLORS = {"input": "#4c78a8", "output": "#f58518"}
BIT_COLORS = {"relevant": "#8e44ad", "distracting": "#9aa0a6"}

STEP_LABEL = "datum.value == 0 ? '0' : format(datum.value, '~s')"
# With format "~e" Vega thins the log ticks (empty labels); plain numbers from 0.01 to 999.
LOSS_LABEL = ("datum.label === '' ? '' : datum.value >= 0.01 && datum.value < 1000 ? "
              "format(datum.value, '~g') : replace(datum.label, 'e+', 'e')")

CONFIG = {
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal",
             "labelColor": "#333", "titleColor": "#333"},
    "header": {"labelFontSize": 12, "titleFontSize": 12},
    "legend": {"labelFontSize": 12, "titleFontSize": 12},
    "title": {"fontSize": 15, "subtitleFontSize": 12, "subtitleColor": "#555", "anchor": "start"},
}
# The explorer's charts are smaller: smaller axis and legend labels.
EXPLORER_CONFIG = {**CONFIG, "axis": {**CONFIG["axis"], "labelFontSize": 10},
                   "legend": {"labelFontSize": 11, "titleFontSize": 11}}

__all__ = ["BIT_COLORS", "CONFIG", "EXPLORER_CONFIG", "LOSS_LABEL", "PHASE_COLORS", "SIDE_COLORS",
           "SPLIT_COLORS", "STEP_LABEL"]
