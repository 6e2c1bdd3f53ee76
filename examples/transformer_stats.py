"""The numbers of docs/reproduction.md's transformer section, from a transformer_cpu results folder.

    python examples/transformer_stats.py results/transformer_cpu

Per batch size: from the statistics layer (``grokjax.stats.cell_table``), the share of seeds
that reach 90% test accuracy within the run (Wilson 95% interval), the accuracy-rule phases,
the median first step at 90% test accuracy over all seeds (Kaplan-Meier: a seed that never
gets there is censored at its last step) and among the seeds that get there (bootstrap 95%
intervals); then the first steps at 90% train accuracy, the final key-frequency counts and the
top-4 frequency share of the embedding.
"""

from __future__ import annotations

import sys

import numpy as np

import grokjax
from grokjax.stats import cell_table
from grokjax.stats.text import share_text, step_text


def main(results: str) -> None:
    df = grokjax.load_results(results)
    table = cell_table(df, ["batch_size"], threshold=0.9)
    for cell in table.cells:
        (_, bs), = cell.key
        g = df[df["batch_size"] == bs]
        print(f"batch_size {bs} ({'full batch' if bs == 0 else 'minibatch'}): {cell.n} seeds")
        print(f"  test accuracy >= 0.9 within the run: {share_text(cell.reach)}")
        print("  phases (accuracy rule): " + ", ".join(
            f"{p} {share_text(s)}" for p, s in cell.phases if s.k))
        print(f"  first step at 90% test accuracy: median {step_text(cell.median)} "
              f"(all seeds, never = censored); {step_text(cell.median_reached)} (those that "
              "reach it)")
        print(f"  first step at 90% train accuracy: "
              f"{sorted(set(g['train_acc_step_90'].dropna().astype(int)))}")
        print(f"  key frequencies (norm rule, final): {sorted(len(k) for k in g['key_freqs'])}")
        top4 = np.array([c[-1] for c in g["top4_share_in"]])
        top4_0 = np.array([c[0] for c in g["top4_share_in"]])
        print(f"  top-4 frequency share of W_E: {top4_0.mean():.2f} at step 0 -> "
              f"median {np.median(top4):.2f} (range {top4.min():.2f}-{top4.max():.2f})")
        print(f"  wall time per run: median {g['wall_time_s'].median():.0f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/transformer_cpu")
