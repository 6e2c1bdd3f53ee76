"""Seed statistics of mod-p runs, each with a 95% interval -- the numbers behind
docs/reproduction.md's `modadd_main` section.

    python examples/modadd_seed_stats.py results/modadd_main [--by dtype] [--oracle FILE]

Per group of runs (``--by``: setting columns): the share that reaches 90% test accuracy within
the run's steps (Wilson interval), the explorable's loss-rule phases (docs/experiments.md §4),
the median step of 90% test accuracy among those that get there (bootstrap interval) -- these
three from the statistics layer, ``grokjax.stats`` (``python -m grokjax stats`` prints them for
any folder, with the Kaplan-Meier median over all runs too) --, key
frequencies per model and neurons per key frequency by the explorable's cutoff rule (a neuron
counts toward the frequency of its largest input-side Fourier coefficient if that coefficient
exceeds 10) and by the norm-fraction rule (the frequencies holding 90% of the input side's
squared norm; every neuron counts toward its largest frequency), over the runs that reach 99%
test accuracy.
``--oracle`` adds the runs of tests/notebook_oracle.py (curves only: no mechanism columns).
"""

from __future__ import annotations

import argparse
from collections import Counter

import jax
import numpy as np
import pandas as pd

import grokjax
from grokjax.analysis import dft_basis, neuron_frequencies
from grokjax.analysis.fourier import input_side_weights, key_frequencies_by_norm
from grokjax.analysis.progress import KEY_CUTOFF, KEY_FRACTION
from grokjax.curves import first_step
from grokjax.phases import LossRule, classify_frame
from grokjax.resolve import resolve_row
from grokjax.static import Static
from grokjax.stats import Share, cell_table
from grokjax.stats.text import share_text, step_text


def share(k: int, n: int) -> str:
    """``k/n = p% [lo, hi]``: the share with its Wilson 95% interval (grokjax.stats)."""
    return share_text(Share.of(k, n))


def mechanism(results: str, row: pd.Series) -> tuple[list[int], list[int], list[int]]:
    """(key freqs by the cutoff rule, neurons per key freq by cutoff, by the norm rule)."""
    params = {k: np.asarray(v) for k, v in grokjax.load_params(results, row["run_id"]).items()}
    static = Static.from_config(resolve_row(row), train_pad=1)
    f_PxP = dft_basis(static.p, np.float64 if static.dtype == "float64" else np.float32)
    w_PxH = input_side_weights(params, static)
    nf = neuron_frequencies(w_PxH, f_PxP)
    freq_H, peak_H = np.asarray(nf.freq_H), np.asarray(nf.peak_H)
    cut = Counter(freq_H[peak_H > KEY_CUTOFF].tolist())
    key_norm = np.flatnonzero(np.asarray(key_frequencies_by_norm(w_PxH, f_PxP, KEY_FRACTION)))
    norm = Counter(freq_H[np.isin(freq_H, key_norm + 1)].tolist())
    return sorted(cut), list(cut.values()), [norm.get(k + 1, 0) for k in key_norm]


def table(counts: Counter, total: int) -> str:
    return ", ".join(f"{k}: {share(v, total)}" for k, v in sorted(counts.items()))


def report(df: pd.DataFrame, results: str | None, label: str) -> None:
    n = len(df)
    step_L = np.asarray(df["step"].iloc[0])
    steps_RxL = np.stack([np.asarray(v) for v in df["step"]])
    grok_step = first_step(steps_RxL, np.stack([np.asarray(v) for v in df["test_acc"]]), 0.9)
    ok = ~np.isnan(grok_step)
    cell = cell_table(classify_frame(df, LossRule()), threshold=0.9).cells[0]
    print(f"\n### {label}: {n} runs, {int(step_L[-1]):,} steps")
    print(f"- test accuracy >= 0.9 within {int(step_L[-1]):,} steps: {share_text(cell.reach)}")
    for s in (10_000, 20_000, 30_000, 40_000):
        if s < step_L[-1]:
            print(f"  - by step {s:,}: {share(int(np.sum(grok_step <= s)), n)}")
    print("- loss rule (explorable): " + ", ".join(
        f"{p}: {share_text(s)}" for p, s in cell.phases if s.k))
    print(f"- step of 90% test accuracy, median [95%] of the runs that get there: "
          f"{step_text(cell.median_reached)}; over all runs (never = censored): "
          f"{step_text(cell.median)}")
    tr = first_step(steps_RxL, np.stack([np.asarray(v) for v in df["train_acc"]]), 0.9)
    print(f"- step of 90% train accuracy: {np.nanmin(tr):,.0f}-{np.nanmax(tr):,.0f}")
    final = np.array([np.asarray(v)[-1] for v in df["test_acc"]])
    mem = ~ok
    print(f"- non-grokking runs with final test accuracy < 2%: "
          f"{share(int(np.sum(final[mem] < 0.02)), int(mem.sum()))}")
    l2 = np.array([np.nanmax(np.asarray(v)) for v in df["l2_norm"]])
    l2_end = np.array([np.asarray(v)[-1] for v in df["l2_norm"]])
    print(f"- peak L2 norm median {np.median(l2):.1f} ({l2.min():.1f}-{l2.max():.1f}); final "
          f"L2 median: grokking {np.median(l2_end[ok]) if ok.any() else np.nan:.1f} / other "
          f"{np.median(l2_end[~ok]) if (~ok).any() else np.nan:.1f}")
    if results is None or "run_id" not in df:
        return
    solved = df[final >= 0.99]
    m = len(solved)
    n_keys, per_cut, per_norm, n_norm = Counter(), Counter(), Counter(), Counter()
    for _, r in solved.iterrows():
        keys, cut, norm = mechanism(results, r)
        n_keys[len(keys)] += 1
        n_norm[len(norm)] += 1
        per_cut.update(cut)
        per_norm.update(norm)
    print(f"- runs at >= 99% test accuracy: {m}")
    print(f"  - key frequencies per model, cutoff rule: {table(n_keys, m)}")
    print(f"  - key frequencies per model, norm rule: {table(n_norm, m)}")
    for name, c in (("cutoff", per_cut), ("norm", per_norm)):
        total = sum(c.values())
        mode = max(c, key=c.get) if c else None
        print(f"  - neurons per key frequency ({name} rule), {total} (run, frequency) pairs: "
              + " ".join(f"{k}:{v}" for k, v in sorted(c.items()))
              + (f"; most common {mode} ({share(c[mode], total)})" if mode else ""))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="*", help="grokjax results folders")
    ap.add_argument("--by", default="dtype", help="comma-separated setting columns")
    ap.add_argument("--oracle", action="append", default=[],
                    help="a parquet file written by tests/notebook_oracle.py")
    args = ap.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    by = [c for c in args.by.split(",") if c]
    for results in args.results:
        df = grokjax.load_results(results)
        for key, group in df.groupby([c for c in by if c in df.columns], dropna=False):
            report(group, results, f"{results} {dict(zip(by, np.atleast_1d(key), strict=False))}")
    for path in args.oracle:
        df = pd.read_parquet(path)
        n_logs = len(df["test_acc"].iloc[0])
        df["step"] = [np.arange(n_logs) * (int(df["steps"].iloc[0]) // (n_logs - 1))] * len(df)
        df["diverged"] = False
        report(df, None, f"notebook oracle {path} (x64={bool(df['x64'].iloc[0])})")


if __name__ == "__main__":
    main()
