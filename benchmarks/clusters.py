"""Cluster overhead: the Ray backend (a local Ray cluster) against the local engine.

    python -m benchmarks.clusters [--sweep parity_quick] [--tiny 1000] [--json PATH]
    # part of `make bench` (needs the ray extra: make install EXTRAS=dev,ray)

Two workloads, each trained by ``python -m grokjax sweep ... --quiet --no-report`` in a fresh
subprocess, one after another, each with an empty compilation cache (``GROKJAX_CACHE_DIR`` = a
fresh temporary folder), so both backends compile the same programs from scratch:

* ``parity_quick`` (24 runs x 10,000 steps): wall seconds and model-steps/s (the whole sweep,
  compile included) for ``local`` (one pinned worker per core) and ``--ray`` (a local Ray
  cluster the driver starts: one actor per core); Ray's start-up seconds (``ray.init`` and every
  actor importing JAX, until the first chunk can be sent).
* ``tiny``: 1,000 runs of 10 steps of a 4-neuron parity model, one run per chunk: how many
  chunks per second the driver sustains (chunks / wall seconds; for Ray also excluding its
  start-up), i.e. the per-chunk cost of scheduling, shipping rows back and writing parts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

TINY = """
[sweep]
description = "1,000 tiny chunks: the driver's per-chunk overhead"
seeds = {runs}
[fixed]
task = "parity"
n = 4
k = 2
hidden = 4
train_size = 8
test_size = 8
steps = 10
log_every = 10
[checkpoints]
final = false
"""


def sweep(spec: str, ray: bool) -> dict[str, Any]:
    """One sweep in a fresh process; its manifest's numbers of the run."""
    with tempfile.TemporaryDirectory(prefix="gjbench") as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "GROKJAX_QUIET": "1",
               "GROKJAX_CACHE_DIR": str(Path(tmp) / "cache"), "RAY_TMPDIR": tmp}
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "grokjax", "sweep", spec, "--out", str(out), "--quiet",
               "--no-report", *(["--ray"] if ray else [])]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
        last = json.loads((out / "manifest.json").read_text())["last_run"]
    return {k: last[k] for k in ("wall_s", "model_steps_per_s", "startup_s", "n_chunks",
                                 "n_trained", "workers", "compile_s")}


def run(sweep_name: str, tiny_runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="gjtiny") as tmp:
        tiny = Path(tmp) / "tiny.toml"
        tiny.write_text(textwrap.dedent(TINY.format(runs=tiny_runs)))
        for backend in ("local", "ray"):
            results[f"{sweep_name} {backend}"] = sweep(str(ROOT / "sweeps" /
                                                           f"{sweep_name}.toml"),
                                                       backend == "ray")
            results[f"tiny {backend}"] = sweep(str(tiny), backend == "ray")
    return results


def format_table(results: dict[str, Any]) -> str:
    head = (f"{'workload':24s} {'wall s':>8s} {'model-steps/s':>14s} {'start-up s':>11s} "
            f"{'chunks':>7s} {'chunks/s':>9s} {'chunks/s after start-up':>24s}")
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        rate = r["n_chunks"] / r["wall_s"]
        after = r["n_chunks"] / max(r["wall_s"] - r["startup_s"], 1e-9)
        lines.append(f"{name:24s} {r['wall_s']:8.1f} {r['model_steps_per_s']:14,.0f} "
                     f"{r['startup_s']:11.1f} {r['n_chunks']:7d} {rate:9.1f} "
                     f"{after if r['startup_s'] else rate:24.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default="parity_quick")
    ap.add_argument("--tiny", type=int, default=1000, help="runs (= chunks) of the tiny sweep")
    ap.add_argument("--json", help="also write the numbers here")
    args = ap.parse_args(argv)
    try:
        import ray  # noqa: F401
    except ImportError:
        print("benchmarks.clusters: skipped (Ray is not installed: make install "
              "EXTRAS=dev,ray)")
        return 0
    results = run(args.sweep, args.tiny)
    print(format_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
