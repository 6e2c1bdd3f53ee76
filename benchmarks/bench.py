"""Throughput benchmark: grokjax against a sequential PyTorch loop and one jitted model at a time.

    python -m benchmarks.bench [--quick] [--steps S] [--runs N] [--only parity64,modadd24]
                               [--workers W] [--json PATH]     # `make bench ARGS=...`

One table, measured side by side in one invocation on this machine.  Every measurement runs in
its own Python subprocess (a fresh process, like a user's sweep: its compile time, thread pools
and peak memory are its own), one after another, never two at a time.  Each grokjax sweep gets
an empty persistent compilation cache (``GROKJAX_CACHE_DIR`` = a fresh temporary folder), so its
compile time is that of a first sweep of those shapes.

Workloads (float32, AdamW, full batch, ReLU, no biases):

* ``parity64`` / ``parity256``: sparse parity n = 30, k = 3, 1,200 training sequences, 5,000
  test sequences evaluated only at log steps; logit = relu(x W_in) . w_out with x of width
  D = n + 1 = 31 (the constant-1 column is the hidden bias); H = 64 or 256 hidden neurons.
* ``modadd24`` / ``modadd128``: (a + b) mod 67 on the symmetric pairs a <= b (2,278 pairs),
  40 % for training = 911 pairs; tied factored model, embedding d = 500, shared W_in:
  logits = relu(E[a] W_in + E[b] W_in) W_out E^T, H = 24 or 128 hidden neurons.

Columns:

* grokjax: ``grokjax.run_sweep`` on a spec from ``grokjax.parse_spec`` with a seed axis of
  N runs (one shared data set), ``quiet=True, report=False``; model-steps/s from the
  returned ``SweepReport`` both excluding compile time (model_steps / (wall_s - compile_s /
  workers): compile_s adds up the workers' compile times, and they compile side by side) and
  including it (model_steps / wall_s).  wall_s is the whole sweep: worker start-up, data,
  Parquet parts.
* torch (torch_ref.py): the same work as a user would write it in PyTorch (CPU, eager):
  one ``torch.nn.Module`` + ``torch.optim.AdamW`` per model, models trained one after another, same
  shapes and loss (BCE-with-logits / cross-entropy), test metrics at log steps.  The mod-add
  module is written the straightforward way (gather embeddings, then multiply), not reassociated.
  Threads: the faster of 1 and torch's default (one per core) in a short trial -- on cores
  shared with other work torch's default can run 10-40x slower (spinning OpenMP barriers).
* jit-1: ``jax.jit(grokjax.train, static_argnums=0)``, one model per call, sequentially
  (compiled ahead of time; compile excluded).
* matmul: the machine's float32 rate, a square ``jnp.dot`` (4096, or 2048 with --quick),
  best of a few repetitions, in GFLOP/s; "% mm" is grokjax's GFLOP/s as a share of it.
* peak MiB: ``resource.getrusage`` ru_maxrss of the grokjax subprocess (RUSAGE_SELF) plus that of
  its reaped children (RUSAGE_CHILDREN: the engine's worker processes, the largest one), i.e.
  host RSS, an upper bound on the concurrent peak.

FLOP counting (workloads.py; analytic, matmul FLOPs only -- 2 per multiply-add; elementwise
work, the AdamW update and the log-step evaluation are not counted):

* parity, per model-step: 3 x forward, forward = 2 N D H + 2 N H (x W_in, then the H-vector
  w_out), N = 1,200, D = 31.  H = 64: forward 4,915,200, step 14,745,600 = 14.7 MFLOP;
  H = 256: 59.0 MFLOP.  The 3x is the usual training convention (backward = 2 x forward).  The
  backward actually executed is smaller: x is data, so no dx is formed and the backward is
  ~1 x forward (dW_in = x^T dZ, plus dw_out and dh) -- the executed count is ~2/3 of this one, so
  "% mm" overstates the parity hardware share by 1.5x.
* mod-add (reassociated forward, as grokjax computes it), p = 67, d = 500, N = 911:
  forward = 2 p d H (table T = E W_in, p x H) + 2 H d p (table O = W_out E^T, H x p)
  + 2 N H p (logits = h O, with h = relu(T[a] + T[b]) gathered).  Backward, every term twice
  (E is a parameter, so both operand gradients are formed): dh = dL O^T and dO = h^T dL
  (4 N H p); dW_out = dO E and dE += dO^T W_out (4 H p d); dW_in = E^T dT and dE += dT W_in^T
  (4 p d H).  Step = 3 x forward = 12 p d H + 6 N H p: H = 24: 18.4 MFLOP; H = 128: 98.3 MFLOP.
  (The PyTorch module's gather-first forward does more arithmetic; it is compared by
  model-steps/s, and its GFLOP/s is not shown.)

The transformer (benchmarks/transformer.py): model-steps/s of one jitted model of
``sweeps/transformer_cpu.toml`` and of ``transformer_main.toml`` (Nanda et al.'s), and its FLOP
rate, counted analytically and by XLA's ``cost_analysis``; a second table.

Targets are printed, never asserted: >= 8x PyTorch and >= 60 % of matmul on parity64, >= 6x
PyTorch on modadd24.  Every call into grokjax is in grokjax_calls.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import grokjax_calls
from benchmarks.table import format_table
from benchmarks.torch_ref import job_torch
from benchmarks.transformer import format_rows, job_transformer
from benchmarks.workloads import WORKLOADS

RESULT_TAG = "GROKJAX_BENCH_RESULT "
ROOT = Path(__file__).resolve().parent.parent  # the checkout: `-m benchmarks.bench` runs here

# ---------------------------------------------------------------------------------------------
# Measurements (each runs in its own subprocess unless isolate=False)
# ---------------------------------------------------------------------------------------------


def _peak_rss_mib() -> dict[str, float]:
    # Linux reports ru_maxrss in KiB.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"rss_self_mib": own, "rss_children_mib": kids, "peak_mib": own + kids}


def job_grokjax(workload: str, runs: int, steps: int, log_every: int,
                workers: int | None = None) -> dict[str, Any]:
    """One sweep of ``runs`` seeds through the real user path."""
    w = WORKLOADS[workload]
    rep = grokjax_calls.sweep(f"bench_{w.name}", w.fixed(steps, log_every), runs, workers)
    used = rep["workers"]
    n_workers = used if isinstance(used, int) and used > 0 else 1
    if not rep["has_workers"]:
        label = "-"
    else:
        label = str(used if used is not None else "auto") + ("" if workers else " (auto)")
    # compile_s adds up the compile time of every worker; the workers compile side by side,
    # each on its own core, so the wall time spent compiling is taken as compile_s / workers.
    train_s = rep["wall_s"] - rep["compile_s"] / n_workers
    out = {"runs": runs, "steps": steps, "model_steps": rep["model_steps"],
           "wall_s": rep["wall_s"], "compile_s": rep["compile_s"],
           "compile_wall_s": rep["compile_s"] / n_workers, "n_programs": rep["n_programs"],
           "workers": label,
           "steps_per_s": rep["model_steps"] / train_s if train_s > 0 else float("nan"),
           "steps_per_s_incl_compile": rep["model_steps"] / rep["wall_s"]}
    out["gflops"] = out["steps_per_s"] * w.step_flops() / 1e9
    return {**out, **_peak_rss_mib()}


def job_jit(workload: str, models: int, steps: int, log_every: int) -> dict[str, Any]:
    """``jax.jit(train, static_argnums=0)``, one model per call, sequentially."""
    import jax

    w = WORKLOADS[workload]
    m = grokjax_calls.one_model(w.task, w.fixed(steps, log_every))
    hps = [m.hparams(s) for s in range(models)]
    t0 = time.perf_counter()
    compiled = m.compile(hps[0])
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for hp in hps:
        jax.block_until_ready(compiled(hp))
    wall = time.perf_counter() - t0
    return {"models": models, "steps": steps, "wall_s": wall, "compile_s": compile_s,
            "steps_per_s": models * steps / wall, **_peak_rss_mib()}


def job_progress(workload: str, models: int, steps: int, log_every: int,
                 switch: str = "progress") -> dict[str, Any]:
    """The cost of logging progress measures (``switch = "progress"``) or the stability
    telemetry (``"telemetry"``): one jitted model with and without them, alternating calls so
    that both see the same machine."""
    import jax

    w = WORKLOADS[workload]
    fns, hp = {}, None
    for on in (True, False):
        m = grokjax_calls.one_model(w.task, w.fixed(steps, log_every), **{switch: on})
        hp = m.hparams(0)  # seed 0, the default; the same for both
        fns[on] = m.compile(hp)
    wall = {True: 0.0, False: 0.0}
    for _ in range(models):
        for on, fn in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(hp))
            wall[on] += time.perf_counter() - t0
    return {"models": models, "steps": steps, "log_every": log_every,
            "steps_per_s_on": models * steps / wall[True],
            "steps_per_s_off": models * steps / wall[False],
            "overhead_pct": 100 * (wall[True] / wall[False] - 1)}


def job_matmul(size: int, reps: int) -> dict[str, Any]:
    """Best-of-``reps`` float32 ``jnp.dot`` of two size x size matrices, in GFLOP/s."""
    import jax
    import jax.numpy as jnp

    ka, kb = jax.random.split(jax.random.key(0))
    a = jax.random.normal(ka, (size, size), jnp.float32)
    b = jax.random.normal(kb, (size, size), jnp.float32)
    dot = jax.jit(jnp.dot)
    jax.block_until_ready(dot(a, b))  # compile and warm up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(dot(a, b))
        best = min(best, time.perf_counter() - t0)
    return {"size": size, "reps": reps, "seconds": best, "gflops": 2.0 * size ** 3 / best / 1e9}


JOBS = {"grokjax": job_grokjax, "jit": job_jit, "torch": job_torch, "matmul": job_matmul,
        "progress": job_progress, "transformer": job_transformer,
        "telemetry": lambda **kw: job_progress(**kw, switch="telemetry")}


def measure(kind: str, isolate: bool = True, **kw) -> dict[str, Any]:
    """Run one measurement, in a fresh subprocess by default.  Failures become {"error": ...}."""
    if not isolate:
        try:
            return JOBS[kind](**kw)
        except Exception as e:  # a broken column must not lose the rest of the table
            return {"error": f"{type(e).__name__}: {e}"}
    env = {**os.environ, "GROKJAX_QUIET": "1"}
    cmd = [sys.executable, "-m", "benchmarks.bench", "--child", json.dumps({"kind": kind, **kw})]
    with tempfile.TemporaryDirectory(prefix="grokjax-bench-cache-") as cache:
        if kind == "grokjax":
            # A cold persistent compilation cache, as for a user's first sweep of these shapes
            # (the engine's workers still share it within the sweep).
            env["GROKJAX_CACHE_DIR"] = cache
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}


def _child(payload: str) -> None:
    job = json.loads(payload)
    out = measure(job.pop("kind"), isolate=False, **job)
    print(RESULT_TAG + json.dumps(out), flush=True)


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Plan:
    workloads: list[str]
    runs: int = 64  # grokjax runs per workload (a seed axis)
    steps: int = 1000  # steps per run, every column
    log_every: int = 100
    jit_models: int = 4
    torch_models: int = 2
    torch_steps: int = 500
    scaling_runs: tuple[int, ...] = (1, 4, 16, 64, 256, 1024, 4096)
    scaling_steps: int = 200
    scaling_log_every: int = 100
    matmul_size: int = 4096
    matmul_reps: int = 3
    workers: int | None = None
    transformer: tuple[str, ...] = ("cpu", "main")  # benchmarks/transformer.py configurations
    transformer_steps: int = 200


def quick_plan(workloads: list[str]) -> Plan:
    return Plan(workloads, runs=8, steps=200, jit_models=1, torch_models=1, torch_steps=100,
                scaling_runs=(1, 16, 256), matmul_size=2048, matmul_reps=2,
                transformer_steps=50)


def run_bench(plan: Plan, isolate: bool = True, log=None) -> dict[str, Any]:
    """Every measurement of ``plan``, one after another.  Returns the numbers (JSON-able)."""
    log = log or (lambda msg: None)
    results: dict[str, Any] = {"plan": dataclasses.asdict(plan), "workloads": {}}
    log(f"matmul {plan.matmul_size}^2 ...")
    results["matmul"] = measure("matmul", isolate, size=plan.matmul_size, reps=plan.matmul_reps)
    for name in plan.workloads:
        w = WORKLOADS[name]
        row: dict[str, Any] = {"label": w.label, "step_flops": w.step_flops(),
                               "n_train": w.n_train()}
        log(f"{name}: grokjax {plan.runs} runs x {plan.steps} steps ...")
        row["grokjax"] = measure("grokjax", isolate, workload=name, runs=plan.runs,
                                 steps=plan.steps, log_every=plan.log_every,
                                 workers=plan.workers)
        log(f"{name}: jit-1 {plan.jit_models} models ...")
        row["jit"] = measure("jit", isolate, workload=name, models=plan.jit_models,
                             steps=plan.steps, log_every=plan.log_every)
        log(f"{name}: progress-measure cost, {plan.jit_models} models ...")
        row["progress"] = measure("progress", isolate, workload=name, models=plan.jit_models,
                                  steps=plan.steps, log_every=plan.log_every)
        log(f"{name}: telemetry cost, {plan.jit_models} models ...")
        row["telemetry"] = measure("telemetry", isolate, workload=name, models=plan.jit_models,
                                   steps=plan.steps, log_every=plan.log_every)
        log(f"{name}: torch {plan.torch_models} models x {plan.torch_steps} steps ...")
        row["torch"] = measure("torch", isolate, workload=name, models=plan.torch_models,
                               steps=plan.torch_steps, log_every=plan.log_every)
        results["workloads"][name] = row
    if plan.scaling_runs:
        log(f"scaling parity64 N = {list(plan.scaling_runs)} ...")
        points = [measure("grokjax", isolate, workload="parity64", runs=n,
                          steps=plan.scaling_steps, log_every=plan.scaling_log_every,
                          workers=plan.workers) for n in plan.scaling_runs]
        errors = [p["error"] for p in points if "error" in p]
        results["scaling"] = {"error": errors[0]} if errors else {"points": points}
    for config in plan.transformer:
        log(f"transformer {config}: 1 model x {plan.transformer_steps} steps ...")
        results.setdefault("transformer", []).append(
            {"config": config, **measure("transformer", isolate, config=config,
                                         steps=plan.transformer_steps, log_every=50)})
    return results


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=(
        "grokjax throughput vs a sequential PyTorch loop and one jitted model at a time"))
    ap.add_argument("--quick", action="store_true",
                    help="few steps and runs (about 1-2 minutes)")
    ap.add_argument("--steps", type=int, help="steps per run (grokjax and jit-1)")
    ap.add_argument("--runs", type=int, help="grokjax runs per workload")
    ap.add_argument("--only", help="comma-separated workloads: " + ",".join(WORKLOADS))
    ap.add_argument("--workers", type=int, help="EngineOptions.workers (if the engine has it)")
    ap.add_argument("--no-scaling", action="store_true", help="skip the run-count curve")
    ap.add_argument("--transformer", help="comma-separated transformer configurations "
                    "(cpu,main; 'none' skips them)")
    ap.add_argument("--json", metavar="PATH", help="also save the numbers as JSON")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    names = list(WORKLOADS) if not args.only else [s.strip() for s in args.only.split(",")
                                                   if s.strip()]
    bad = [n for n in names if n not in WORKLOADS]
    if bad or not names:
        print(f"--only: unknown workload(s) {bad}; allowed: {', '.join(WORKLOADS)}",
              file=sys.stderr)
        return 2
    plan = quick_plan(names) if args.quick else Plan(names)
    if args.steps:
        plan.steps = args.steps
        plan.torch_steps = min(plan.torch_steps, args.steps)
        if args.steps % plan.log_every:
            plan.log_every = args.steps
    if args.runs:
        plan.runs = args.runs
    plan.workers = args.workers
    if args.no_scaling:
        plan.scaling_runs = ()
    if args.transformer:
        plan.transformer = tuple(c for c in args.transformer.split(",") if c and c != "none")
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f} s] {msg}", file=sys.stderr, flush=True)

    results = run_bench(plan, log=log)
    results["total_s"] = time.perf_counter() - t0
    print(format_table(results))
    if results.get("transformer"):
        print("\n" + format_rows(results["transformer"]))
    print(f"\n(total {results['total_s']:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
