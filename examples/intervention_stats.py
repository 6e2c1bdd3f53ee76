"""Per-arm numbers of an intervention sweep -- the tables of docs/interventions.md -- on top of
the statistics layer (grokjax.stats).

    python examples/intervention_stats.py results/stablemax_p43 --by normaliser,grad_filter,eps \
        [--threshold 0.95] [--best 0.8]

Per arm (``--by``: setting columns), from ``grokjax.cell_stats``: the share of runs whose test
accuracy reaches ``--threshold`` within the run (Wilson 95% interval) and the median first step
at it (Kaplan-Meier: a run that never gets there is censored at its last logged step;
bootstrap interval); the share whose test accuracy ever reaches ``--best``; and the median,
over the arm's runs, of the last logged value of the train accuracy and of each stability
curve that was logged (L2 norm, per-tensor norms, softmax collapse, zero-loss fraction).

The paired comparison of two arms (per-seed speed-ups, sign test, Wilcoxon) is
``python -m grokjax stats RESULTS --compare SETTING=A,B``; this script adds only the
telemetry columns.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

import grokjax
from grokjax.stats import cell_table
from grokjax.stats.columns import match_value
from grokjax.stats.text import share_text, step_text

FINAL = ("train_acc", "l2_norm", "norm_E", "norm_W_in", "norm_W_out", "softmax_collapse_frac",
         "zero_loss_frac")


def arm_table(df: pd.DataFrame, by: list[str], threshold: float, best: float) -> pd.DataFrame:
    reach = cell_table(df, by, threshold=threshold)
    ever = cell_table(df, by, threshold=best)
    out = []
    for cell, good in zip(reach.cells, ever.cells, strict=True):
        mask = np.ones(len(df), bool)
        for c, v in cell.key:
            mask &= match_value(df[c], v)
        arm = df[mask]
        row = {**dict(cell.key), f"reach {threshold:g}": share_text(cell.reach),
               "median step [95%]": step_text(cell.median),
               f"ever >= {best:g}": share_text(good.reach)}
        for col in FINAL:
            if col in arm and arm[col].notna().all():
                row[f"final {col}"] = f"{np.median([np.asarray(c)[-1] for c in arm[col]]):.2f}"
        out.append(row)
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--by", required=True, help="setting columns, comma-separated")
    ap.add_argument("--threshold", type=float, default=0.95)
    ap.add_argument("--best", type=float, default=0.8)
    args = ap.parse_args()
    df = grokjax.load_results(args.results)
    table = arm_table(df, args.by.split(","), args.threshold, args.best)
    print(f"{args.results}: {len(df)} runs, test accuracy")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
