"""The numbers of docs/reproduction.md's transformer section, from a transformer_cpu results folder.

    python examples/transformer_stats.py results/transformer_cpu

Per batch size: the share of seeds that reach 90% test accuracy within the run (Wilson 95%
interval), the accuracy-rule phases, the median first step at 90% test accuracy (bootstrap 95%
interval), and the final key-frequency counts and top-4 frequency share of the embedding.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

import grokjax

sys.path.insert(0, str(Path(__file__).resolve().parent))
from modadd_seed_stats import median_ci, share


def main(results: str) -> None:
    df = grokjax.load_results(results)
    for bs, g in df.groupby("batch_size"):
        t90 = g["test_acc_step_90"].dropna().astype(float).to_numpy()
        print(f"batch_size {bs} ({'full batch' if bs == 0 else 'minibatch'}): {len(g)} seeds")
        print(f"  test accuracy >= 0.9 within the run: {share(len(t90), len(g))}")
        print(f"  phases (accuracy rule): {dict(Counter(g['phase']))}")
        print(f"  first step at 90% test accuracy: median {median_ci(t90)}")
        print(f"  first step at 90% train accuracy: "
              f"{sorted(set(g['train_acc_step_90'].astype(int)))}")
        print(f"  key frequencies (norm rule, final): {sorted(len(k) for k in g['key_freqs'])}")
        top4 = np.array([c[-1] for c in g["top4_share_in"]])
        top4_0 = np.array([c[0] for c in g["top4_share_in"]])
        print(f"  top-4 frequency share of W_E: {top4_0.mean():.2f} at step 0 -> "
              f"median {np.median(top4):.2f} (range {top4.min():.2f}-{top4.max():.2f})")
        print(f"  wall time per run: median {g['wall_time_s'].median():.0f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/transformer_cpu")
