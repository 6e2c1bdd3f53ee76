"""How well an adaptive sweep finds a dense grid's phase boundary: the table and figure of
docs/adaptive.md.

    python examples/adaptive_agreement.py results/parity_dense results/parity_adaptive \
        [--figure docs/img/adaptive_parity.png]

Prints, as a Markdown table, the agreement of the adaptive sweep's modal-phase map with the
dense grid's, cell by cell (``grokjax.adaptive_compare``: each dense cell takes the modal phase
of the nearest adaptive point; exact, within one grid step, and both on the boundary cells
alone), after round 0 (its coarse grid) and after each refinement round, with the runs each
used.  For comparison at the same cost: the dense grid itself with one seed per cell (each seed
in turn; these runs are a third of the reference's own, so the comparison flatters them).
"""

from __future__ import annotations

import argparse
import sys

import altair as alt
import pandas as pd

import grokjax
from grokjax.adaptive import ROUND_COLUMN
from grokjax.adaptive_compare import compare, compare_by_round, modal_map, nearest_map
from grokjax.phases import PHASES
from grokjax.report.theme import PHASE_COLORS

TIE = "tie"


def table(rows: list[dict]) -> str:
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(out)


def label(modal: frozenset) -> str:
    return next(iter(modal)) if len(modal) == 1 else TIE


def figure(dense: pd.DataFrame, adaptive: pd.DataFrame, axes: list[str], log: dict) -> alt.Chart:
    x, y = axes
    dmap, amap_pts = modal_map(dense, axes), modal_map(adaptive, axes)
    values = {a: sorted({p[i] for p in dmap}) for i, a in enumerate(axes)}
    nmap = nearest_map(values, adaptive, axes, log)
    runs = adaptive.groupby(axes).agg(n=("run_id", "size"), r0=(ROUND_COLUMN, "min"))
    cells = pd.DataFrame([{x: p[0], y: p[1], "phase": label(m)} for p, m in dmap.items()])
    pts = pd.DataFrame([{x: p[0], y: p[1], "phase": label(m), "runs": int(runs.loc[p, "n"]),
                         "added": "round 0 (coarse grid)" if runs.loc[p, "r0"] == 0
                         else "later rounds"} for p, m in amap_pts.items()])
    near = pd.DataFrame([{x: p[0], y: p[1], "phase": label(m),
                          "agrees": "yes" if m & dmap[p] else "no"} for p, m in nmap.items()])
    domain = [*PHASES[:4], TIE]
    color = alt.Color("phase:N", scale=alt.Scale(domain=domain, range=[
        *(PHASE_COLORS[p] for p in PHASES[:4]), "#dddddd"]), title=None,
        legend=alt.Legend(orient="top"))

    def pos(a: str, channel):
        return channel(f"{a}:Q", title=a + (" (log)" if log[a] else ""),
                       scale=alt.Scale(type="log" if log[a] else "linear", nice=False,
                                       zero=False, padding=16),
                       axis=alt.Axis(labelOverlap="greedy", tickCount=5,
                                     format="~g" if log[a] else ",d"))

    def enc(chart):
        return chart.encode(x=pos(x, alt.X), y=pos(y, alt.Y), color=color)

    w, h = 260, 240
    cell = (min(w / len(values[x]), h / len(values[y])) * 0.8) ** 2  # square marks, in px^2
    a = enc(alt.Chart(cells).mark_square(size=cell, opacity=0.9)).properties(
        width=w, height=h, title=f"dense grid: modal phase ({len(dense)} runs)")
    b = enc(alt.Chart(pts).mark_point(filled=True, opacity=0.9)).encode(
        size=alt.Size("runs:Q", scale=alt.Scale(range=[30, 260]), legend=alt.Legend(
            orient="bottom", values=sorted(set(pts["runs"])), format="d")),
        shape=alt.Shape("added:N", legend=alt.Legend(orient="bottom", title=None))).properties(
        width=w, height=h, title=f"adaptive: its points ({len(adaptive)} runs)")
    c = alt.layer(
        enc(alt.Chart(near).mark_square(size=cell, opacity=0.9)),
        alt.Chart(near[near["agrees"] == "no"]).mark_point(shape="cross", size=140,
                                                           color="black", filled=True).encode(
            x=pos(x, alt.X), y=pos(y, alt.Y))).properties(
        width=w, height=h, title="adaptive, nearest point per dense cell (+ = differs)")
    return alt.hconcat(a, b, c).resolve_scale(color="shared")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dense")
    ap.add_argument("adaptive")
    ap.add_argument("--figure", help="write the three maps (PNG/SVG/HTML)")
    args = ap.parse_args(argv)
    dense, adaptive = grokjax.load_results(args.dense), grokjax.load_results(args.adaptive)
    md, ma = grokjax.read_manifest(args.dense), grokjax.read_manifest(args.adaptive)
    if (md.get("phase_rule"), md.get("phase_params")) != (ma.get("phase_rule"),
                                                           ma.get("phase_params")):
        print("error: the two folders were classified under different phase rules",
              file=sys.stderr)
        return 2
    opts = (ma.get("adaptive") or {}).get("options")
    if not opts:
        print(f"error: {args.adaptive} is not an adaptive sweep", file=sys.stderr)
        return 2
    axes = list(opts["axes"])
    log = {a: opts["spacing"][a] == "log" for a in axes}
    rows = [r.row() for r in compare_by_round(dense, adaptive, axes, log)]
    for s in sorted(dense["seed"].unique()):
        one = dense[dense["seed"] == s]
        rows.append(compare(dense, one, axes, log, f"dense grid, seed {s} only").row())
    rows.append(compare(dense, dense, axes, log, "dense grid (the reference)").row())
    print(table(rows))
    if args.figure:
        print(grokjax.save_chart(figure(dense, adaptive, axes, log), args.figure))
    return 0


if __name__ == "__main__":
    sys.exit(main())
