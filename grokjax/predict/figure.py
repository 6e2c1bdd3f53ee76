"""AUROC against the prediction point, with the bootstrap intervals: ``predict --figure``."""

from __future__ import annotations

import pandas as pd

from grokjax.report.theme import CONFIG

COLORS = {"logistic": "#4c78a8", "stumps": "#e45756", "cell rate": "#72b7b2",
          "constant": "#9d9d9d"}


def auroc_chart(frame: pd.DataFrame, title: str | None = None, facet: str | None = None):
    """Points and 95% interval bars of AUROC at each cut (x: percent of the steps), one colour
    per predictor (``table.curve_frame``), one panel per ``facet`` value (e.g. ``source``)."""
    import altair as alt

    df = frame.assign(pct=100 * frame["at"])
    names = list(dict.fromkeys(df["predictor"]))
    palette = [COLORS.get(n, c) for n, c in zip(
        names, ["#4c78a8", "#e45756", "#72b7b2", "#9d9d9d", "#54a24b", "#eeca3b", "#b279a2",
                "#ff9da6", "#9d755d"] * 3, strict=False)]
    color = alt.Color("predictor:N", scale=alt.Scale(domain=names, range=palette),
                      legend=alt.Legend(title=None, orient="bottom"))
    offset = alt.XOffset("predictor:N", scale=alt.Scale(domain=names))
    x = alt.X("pct:O", title="prediction point (% of the run's steps)",
              axis=alt.Axis(labelAngle=0))
    base = alt.Chart().encode(x=x, xOffset=offset, color=color)
    bars = base.mark_rule(strokeWidth=2).encode(
        y=alt.Y("low:Q", title="AUROC (out of fold, 95% CI)", scale=alt.Scale(domain=[0, 1])),
        y2="high:Q")
    dots = base.mark_point(filled=True, size=55, opacity=1).encode(
        y="auroc:Q",
        tooltip=["predictor", "pct", alt.Tooltip("auroc:Q", format=".3f"),
                 alt.Tooltip("low:Q", format=".3f"), alt.Tooltip("high:Q", format=".3f"),
                 "scored", "positive"])
    chance = alt.Chart().mark_rule(strokeDash=[4, 3], color="#777", strokeWidth=1).encode(
        y=alt.datum(0.5))
    layer = alt.layer(chance, bars, dots, data=df).properties(width=300, height=220)
    chart = layer.facet(column=alt.Column(f"{facet}:N", title=None)) if facet else layer
    if title:
        chart = chart.properties(title=title)
    return chart.configure(**{k: v for k, v in CONFIG.items() if k != "view"}
                           ).configure_view(stroke=None)
