"""Curves of chosen runs as an Altair chart: the figures of docs/reproduction.md, and a quick
look at any results folder from pandas or the command line.

    df = grokjax.load_results("results/modadd_main")
    grokjax.curves_chart(df, ["test_acc"], color="dtype").save("main.png")

    python -m grokjax plot results/modadd_main --metric test_acc --color dtype --out main.png

One line per run (``detail = run_id``), coloured by a setting, one panel per metric (columns)
and optionally per value of ``facet`` (rows). Loss-like metrics get a log axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from grokjax.phases import FLOAT32_EPS
from grokjax.store import ResultsError

LOG_METRICS = ("train_loss", "test_loss")


def curve_columns(df: pd.DataFrame) -> list[str]:
    """Columns of ``df`` that hold a logged curve (one list per row, as long as ``step``)."""
    if "step" not in df or df.empty:
        return []
    n = df["step"].map(len)
    return [c for c in df.columns if c != "step" and df[c].dtype == object
            and df[c].map(lambda v: isinstance(v, (list, np.ndarray))).all()
            and (df[c].map(len) == n).all()]


def curves_frame(df: pd.DataFrame, metrics: Sequence[str],
                 keep: Sequence[str] = ()) -> pd.DataFrame:
    """Long form of the curves: one row per (run, metric, logged step), with ``keep`` columns."""
    known = curve_columns(df)
    bad = [m for m in metrics if m not in known]
    if bad:
        raise ResultsError(f"no curve {', '.join(map(repr, bad))} in these results; curves: "
                           f"{', '.join(known) or 'none'}")
    missing = [k for k in keep if k not in df.columns]
    if missing:
        raise ResultsError(f"no column {', '.join(map(repr, missing))} in these results")
    parts = []
    for m in metrics:
        lengths = df["step"].map(len).to_numpy()
        part = pd.DataFrame({
            "run_id": np.repeat(df["run_id"].to_numpy(), lengths),
            "step": np.concatenate([np.asarray(s, dtype=np.int64) for s in df["step"]]),
            "metric": m,
            "value": np.concatenate([np.asarray(v, dtype=np.float64) for v in df[m]]),
        })
        for k in keep:
            part[k] = np.repeat(df[k].astype(str).to_numpy(), lengths)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def curves_chart(df: pd.DataFrame, metrics: Sequence[str] = ("train_acc", "test_acc"), *,
                 color: str | None = None, facet: str | None = None, title: str | None = None,
                 log: Sequence[str] = LOG_METRICS, width: int = 280, height: int = 170,
                 max_points: int = 400, floor: float = FLOAT32_EPS):
    """An ``altair`` chart of ``metrics`` over training steps, one line per run.

    ``color`` and ``facet`` name setting columns (e.g. ``"reg"``, ``"dtype"``); curves are
    thinned to at most ``max_points`` logged steps per run so that big sweeps stay light.
    Metrics in ``log`` (default: the losses) get a log axis, on which values below ``floor``
    (the phase rule's loss floor: ``grokjax.report.curve_data.display_floor``) are drawn at it,
    as the rule compares them, and the axis title says so; a missing (NaN) value breaks the
    line instead of joining its neighbours.
    """
    import altair as alt

    if df.empty:
        raise ResultsError("no runs to plot (the selection is empty)")
    keep = [c for c in (color, facet) if c]
    long = curves_frame(df, metrics, keep)
    steps = np.unique(long["step"])
    if len(steps) > max_points:
        long = long[long["step"].isin(steps[np.linspace(0, len(steps) - 1, max_points)
                                            .round().astype(int)])]
    enc_color = (alt.Color(f"{color}:N", title=color) if color
                 else alt.value("#4c78a8"))
    panels = []
    for m in metrics:
        d = long[long["metric"] == m]
        is_log = m in log
        if is_log:  # NaN stays NaN (a gap); 0 and tiny values sit on the floor
            d = d.assign(value=np.where(np.isnan(d["value"]), np.nan,
                                        np.maximum(d["value"], floor)))
        y = alt.Y("value:Q", title=f"{m} (log, floored at {floor:.3g})" if is_log else m,
                  scale=alt.Scale(type="log") if is_log else alt.Undefined,
                  axis=alt.Axis(format="~e") if is_log else alt.Undefined)
        chart = alt.Chart(d).mark_line(strokeWidth=1.2, opacity=0.8,
                                       invalid="break-paths-show-domains").encode(
            x=alt.X("step:Q", title="step"), y=y, color=enc_color, detail="run_id:N",
            tooltip=["run_id", "step", "value", *keep],
        ).properties(width=width, height=height)
        if facet:
            chart = chart.facet(row=alt.Row(f"{facet}:N", title=facet))
        panels.append(chart)
    out = alt.hconcat(*panels) if len(panels) > 1 else panels[0]
    if title:
        out = out.properties(title=title)
    return out


def save_chart(chart, path: str | Path, scale: float = 2.0) -> Path:
    """Write ``chart`` as PNG (or SVG / HTML / JSON, by suffix) atomically."""
    import io

    from grokjax.store import atomic_write_bytes

    path = Path(path)
    fmt = path.suffix.lstrip(".")
    if fmt not in ("png", "svg", "html", "json"):
        raise ResultsError(f"{path}: unknown output type {path.suffix!r}; allowed: .png, .svg, "
                           ".html, .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        buf = io.BytesIO()
        chart.save(buf, format="png", scale_factor=scale)
        data = buf.getvalue()
    else:
        text = io.StringIO()
        chart.save(text, format=fmt)
        data = text.getvalue().encode()
    atomic_write_bytes(path, data)
    return path
