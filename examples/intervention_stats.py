"""Per-arm statistics of an intervention sweep, each with a 95% interval -- the numbers behind
docs/interventions.md.

    python examples/intervention_stats.py results/grokfast_quick --by grad_filter,weight_decay \
        --baseline grad_filter=none,weight_decay=1.0 [--threshold 0.95]

Per arm (``--by``: setting columns): the share of runs whose test accuracy reaches the threshold
within the run's steps (Wilson interval), the median first step at the threshold over *all* runs
of the arm (a run that never gets there counts as later than every step: the median is "never"
when half the arm never gets there; bootstrap interval), and the speed-up against the
``--baseline`` arm: the ratio of the baseline's median step to the arm's (bootstrap interval,
arms resampled independently; "inf"/"never" where a median is never).  Also the arm's median
softmax-collapse and zero-loss fractions at the last logged step (where logged).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from modadd_seed_stats import share

import grokjax
from grokjax.curves import first_step

N_BOOT = 4000


def steps_to(df: pd.DataFrame, threshold: float) -> np.ndarray:
    """First logged step with test accuracy >= threshold per run; inf if never."""
    acc_RxL = np.stack([np.asarray(c, np.float64) for c in df["test_acc"]])
    step_RxL = np.stack([np.asarray(s) for s in df["step"]])
    return np.nan_to_num(first_step(step_RxL, acc_RxL, threshold), nan=np.inf)


def _fmt(x: float) -> str:
    return "never" if not np.isfinite(x) else f"{x:,.0f}"


def _boot_medians(x: np.ndarray, rng) -> np.ndarray:
    return np.median(rng.choice(x, (N_BOOT, len(x))), axis=1)


def arm_table(df: pd.DataFrame, by: list[str], baseline: dict[str, str], threshold: float
              ) -> list[dict]:
    rng = np.random.default_rng(0)
    arms = {key if isinstance(key, tuple) else (key,): g for key, g in df.groupby(by)}
    base_key = tuple(next(v for k, v in baseline.items() if k == b) for b in by)
    base_key = next((k for k in arms if tuple(map(str, k)) == base_key), None)
    base = steps_to(arms[base_key], threshold) if base_key is not None else None
    base_boot = _boot_medians(base, rng) if base is not None else None
    out = []
    for key, g in arms.items():
        s = steps_to(g, threshold)
        boot = _boot_medians(s, rng)
        lo, hi = np.percentile(boot, [2.5, 97.5])
        row = {**dict(zip(by, key, strict=True)), "n": len(s),
               "reach": share(int(np.isfinite(s).sum()), len(s)),
               "median_step": f"{_fmt(np.median(s))} [{_fmt(lo)}, {_fmt(hi)}]"}
        if base is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = base_boot / boot
                point = np.median(base) / np.median(s)
            ratio = np.where(np.isnan(ratio), 1.0, ratio)  # never / never: no speed-up
            rlo, rhi = np.percentile(ratio, [2.5, 97.5])
            row["speedup_vs_baseline"] = ("- (neither reaches it)" if np.isnan(point)
                                          else f"{point:.2f} [{rlo:.2f}, {rhi:.2f}]")
        for col in ("softmax_collapse_frac", "zero_loss_frac"):
            if col in g and g[col].notna().all():
                row[f"final_{col}"] = f"{np.median([c[-1] for c in g[col]]):.2f}"
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--by", required=True, help="setting columns, comma-separated")
    ap.add_argument("--baseline", default="", help="col=value,... of the baseline arm")
    ap.add_argument("--threshold", type=float, default=0.95)
    args = ap.parse_args()
    by = args.by.split(",")
    baseline = dict(kv.split("=", 1) for kv in args.baseline.split(",") if kv)
    df = grokjax.load_results(args.results)
    table = pd.DataFrame(arm_table(df, by, baseline, args.threshold))
    print(f"{args.results}: {len(df)} runs, steps to {args.threshold:.0%} test accuracy")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
