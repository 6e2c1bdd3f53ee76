"""What writing rows costs: a Parquet part per chunk against a part every 10 s, and merging.

    python -m benchmarks.flush [--runs 1125] [--points 201] [--json PATH]   # part of `make bench`

The engine writes a worker's buffered rows when a chunk ends, once ``flush_seconds`` (10 s)
have passed or ``flush_rows`` (512) rows wait, and merges a writer's parts into one when it
ends cleanly (``merge_parts``).  On a CPU a chunk is one run, so "flush at every chunk end" is a
part per run.  Measured here, in this process, on rows shaped like a parity run's (every curve
the engine logs, ``--points`` log steps):

* ``write``: ``grokjax.store.write_part`` of one run's row (an atomic Parquet part: temp file,
  fsync, rename, fsync of the folder), per part;
* ``train``: a parity_quick run's wall time per chunk on one pinned core (1 run x 10,000 steps),
  from a real ``parity_quick`` sweep in a fresh subprocess -- the chunk a write would follow;
* ``load``: ``grokjax.load_results`` of ``--runs`` rows in one part per run, and in one part;
* ``merge``: ``grokjax.store.merge_parts`` of those parts into one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def fake_rows(n: int, points: int) -> list[pd.DataFrame]:
    """``n`` one-row frames with a parity run's columns (settings, summaries, curves)."""
    rng = np.random.default_rng(0)
    step = np.arange(points, dtype=np.int64) * 100
    curves = ("train_loss", "test_loss", "train_acc", "test_acc", "l2_norm", "l1_norm",
              "relevant_norm", "distracting_norm", "grad_cos", "zero_loss_frac", "norm_W_in",
              "norm_w_out")
    out = []
    for i in range(n):
        row = {"sweep": "bench", "run_id": f"{i:016x}", "spec_hash": "0" * 16, "seed": i,
               "weight_decay": 0.1, "hidden": 32, "train_size": 1000, "step": [step],
               "phase": "grok", "final_test_acc": 0.99, "test_acc_step_90": 4000}
        for c in curves:
            row[c] = [rng.random(points).astype(np.float32)]
        out.append(pd.DataFrame(row))
    return out


def time_per_chunk() -> float:
    """Seconds per chunk of a parity_quick sweep on this machine (its own pinned workers)."""
    with tempfile.TemporaryDirectory(prefix="gjflush") as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "GROKJAX_QUIET": "1",
               "GROKJAX_CACHE_DIR": str(Path(tmp) / "cache")}
        out = Path(tmp) / "out"
        subprocess.run([sys.executable, "-m", "grokjax", "sweep", "parity_quick", "--out",
                        str(out), "--quiet", "--no-report"], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        df = pd.read_parquet(out / "runs")
        return float(df["wall_time_s"].median())


def measure(runs: int, points: int) -> dict[str, float]:
    from grokjax import store

    rows = fake_rows(runs, points)
    with tempfile.TemporaryDirectory(prefix="gjflush") as tmp:
        many = Path(tmp) / "many"
        t0 = time.perf_counter()
        parts = [store.write_part(many, r) for r in rows]
        write_s = (time.perf_counter() - t0) / runs
        t0 = time.perf_counter()
        assert len(store.load_results(many)) == runs
        load_many_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.merge_parts(many, parts)
        merge_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        assert len(store.load_results(many)) == runs
        load_one_s = time.perf_counter() - t0
    return {"write_s": write_s, "load_many_s": load_many_s, "merge_s": merge_s,
            "load_one_s": load_one_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1125, help="rows (parts) for load and merge")
    ap.add_argument("--points", type=int, default=201, help="log steps per curve")
    ap.add_argument("--json", help="also write the numbers here")
    args = ap.parse_args()
    m = measure(args.runs, args.points)
    m["train_s"] = time_per_chunk()
    m["write_share"] = m["write_s"] / m["train_s"]
    print(f"Parquet parts on this machine ({args.points} log steps per curve, "
          f"{args.runs} runs)\n")
    print("| what | seconds |\n|---|---|")
    print(f"| write one run's part (atomic: temp, fsync, rename) | {m['write_s']:.4f} |")
    print(f"| train one parity_quick chunk (1 run x 10,000 steps, pinned core) | "
          f"{m['train_s']:.3f} |")
    print(f"| a part per chunk costs, as a share of training | {m['write_share']:.1%} |")
    print(f"| load {args.runs} rows from {args.runs} parts | {m['load_many_s']:.3f} |")
    print(f"| merge them into one part | {m['merge_s']:.3f} |")
    print(f"| load {args.runs} rows from one part | {m['load_one_s']:.3f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(m, indent=2))


if __name__ == "__main__":
    main()
