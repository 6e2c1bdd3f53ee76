"""Does grokjax's mod-67 seed sweep look like the explorable's published 450 runs once it is
conditioned the same way?  The table of docs/reproduction.md (modadd_main, issue 22 item 12).

    python examples/modadd_selection.py results/predict_modadd

The explorable's per-model curves (PAIR-code/ai-explorables,
``source/grokking/mod-bot/seeds/data__allmetrics_mlp_modular_addition_sweep.csv``; eval loss is
the notebook's CE/67, logged every 1,000 steps) hold 450 runs of 50,000 steps, every one of
which reaches eval loss < 0.01 -- 3% / 30% / 63% / 84% / 100% of them by step 10k / 20k / 30k /
40k / 50k -- and 408 of which reach 1e-5 (``data__hypers_...csv``, ``minEvalLoss``, over every
logged step).  The shares below are those published numbers; grokjax's are computed here from
its rows: its test loss is the same CE/67 (``loss = "ce_class_mean"``), read at the multiples of
1,000 steps as the published file is.  Intervals: Wilson 95% (``grokjax.stats.wilson``).
"""

from __future__ import annotations

import argparse

import numpy as np

from grokjax import load_results
from grokjax.stats import wilson

PUBLISHED_RUNS = 450
PUBLISHED_BY = {10_000: 0.03, 20_000: 0.30, 30_000: 0.63, 40_000: 0.84, 50_000: 1.00}
PUBLISHED_1E5 = 408
THRESHOLD = 0.01
BUDGET = 50_000


def first_below(step_L: np.ndarray, loss_L: np.ndarray, level: float, every: int) -> float:
    """First step (a multiple of ``every``, at most BUDGET) with loss < level; NaN if none."""
    keep = (step_L % every == 0) & (step_L <= BUDGET) & (loss_L < level)
    return float(step_L[keep][0]) if keep.any() else float("nan")


def pct(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.0%} [{lo:.0%}, {hi:.0%}]" if n else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    args = ap.parse_args()
    df = load_results(args.results)
    step = [np.asarray(s, np.int64) for s in df["step"]]
    loss = [np.asarray(v, np.float64) for v in df["test_loss"]]
    t01 = np.array([first_below(s, v, THRESHOLD, 1000) for s, v in zip(step, loss, strict=True)])
    min_loss = np.array([np.nanmin(v[s <= BUDGET]) for s, v in zip(step, loss, strict=True)])
    n, sel = len(df), np.isfinite(t01)
    k = int(sel.sum())
    print(f"{args.results}: {n} runs; eval (test) loss < {THRESHOLD} by step {BUDGET:,}: "
          f"{pct(k, n)}  (published: {PUBLISHED_RUNS}/{PUBLISHED_RUNS})")
    print()
    print("| among the runs that reach test loss < 0.01 by 50k | grokjax | published (450) |")
    print("|---|---|---|")
    for by, share in PUBLISHED_BY.items():
        got = int((t01[sel] <= by).sum())
        lo, hi = wilson(round(share * PUBLISHED_RUNS), PUBLISHED_RUNS)  # from the rounded share
        print(f"| ... by step {by:,} | {pct(got, k)} | {share:.0%} [{lo:.0%}, {hi:.0%}] |")
    lo, hi = wilson(PUBLISHED_1E5, PUBLISHED_RUNS)
    below = int((min_loss[sel] < 1e-5).sum())
    print(f"| ... reach test loss < 1e-5 (any logged step) | {pct(below, k)} | {PUBLISHED_1E5}/"
          f"{PUBLISHED_RUNS} = {PUBLISHED_1E5 / PUBLISHED_RUNS:.0%} [{lo:.0%}, {hi:.0%}] |")
    if "phase" in df:
        print(f"\nphases of the selected runs: {df.loc[sel, 'phase'].value_counts().to_dict()}; "
              f"of the others: {df.loc[~sel, 'phase'].value_counts().to_dict()}")
    if "test_acc_step_90" in df:
        t90 = df["test_acc_step_90"].astype("Float64").to_numpy(np.float64, na_value=np.nan)
        print(f"runs with test accuracy >= 0.9 by 50k: {pct(int(np.isfinite(t90).sum()), n)}; "
              f"median step of loss < 0.01 among the selected: {np.median(t01[sel]):,.0f}")


if __name__ == "__main__":
    main()
