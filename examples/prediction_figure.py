"""AUROC against the prediction point for several results folders, one panel each: the figure
of docs/prediction.md.

    python examples/prediction_figure.py results/predict_modadd results/predict_parity \\
        --at 0.05,0.1,0.2,0.4 --figure docs/img/prediction_auroc.png [--json out.json]

Each folder is scored as ``python -m grokjax predict FOLDER --at ...`` scores it (same folds,
seeds and bootstrap); the panels show the two models and the baselines with their 95% cluster-
bootstrap intervals.  ``--json`` also writes every table (``grokjax.predict.table.to_json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from grokjax.predict.command import parse_at, predict_runs
from grokjax.predict.figure import auroc_chart
from grokjax.predict.table import curve_frame, to_json
from grokjax.report.plots import save_chart


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+")
    ap.add_argument("--at", default="0.05,0.1,0.2,0.4")
    ap.add_argument("--target", default="grok_by_end")
    ap.add_argument("--figure", required=True)
    ap.add_argument("--json")
    args = ap.parse_args()
    preds = [predict_runs(r, at, args.target) for r in args.results for at in parse_at(args.at)]
    frame = curve_frame(preds).assign(source=lambda d: d["source"].map(
        lambda s: Path(s).name))
    print(frame.to_string(index=False))
    chart = auroc_chart(frame, title=f"{args.target}: AUROC by prediction point (out of fold)",
                        facet="source" if frame["source"].nunique() > 1 else None)
    print(save_chart(chart, args.figure))
    if args.json:
        Path(args.json).write_text(json.dumps([to_json(p) for p in preds], indent=1))


if __name__ == "__main__":
    main()
