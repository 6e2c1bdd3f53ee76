"""Throughput benchmark: grokjax against a sequential PyTorch loop and one jitted model at a time.

    python -m grokjax.bench [--quick] [--steps S] [--runs N] [--only parity64,modadd24]
                            [--workers W] [--json PATH]        # `make bench ARGS=...`

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

* grokjax: ``grokjax.engine.run_sweep`` on a spec from ``grokjax.config.parse_spec`` with a seed
  axis of N runs (one shared data set), ``quiet=True, report=False``; model-steps/s from the
  returned ``SweepReport`` both excluding compile time (model_steps / (wall_s - compile_s /
  workers): compile_s adds up the workers' compile times, and they compile side by side) and
  including it (model_steps / wall_s).  wall_s is the whole sweep: worker start-up, data,
  Parquet parts.
* torch: the same work as a user would write it in PyTorch (CPU, eager): one
  ``torch.nn.Module`` + ``torch.optim.AdamW`` per model, models trained one after another, same
  shapes and loss (BCE-with-logits / cross-entropy), test metrics at log steps.  The mod-add
  module is written the straightforward way (gather embeddings, then multiply), not reassociated.
  Threads: the faster of 1 and torch's default (one per core) in a short trial -- on cores
  shared with other work torch's default can run 10-40x slower (spinning OpenMP barriers).
* jit-1: ``jax.jit(grokjax.train.train, static_argnums=0)``, one model per call, sequentially
  (compiled ahead of time; compile excluded).
* matmul: the machine's float32 rate, a square ``jnp.dot`` (4096, or 2048 with --quick),
  best of a few repetitions, in GFLOP/s; "% mm" is grokjax's GFLOP/s as a share of it.
* peak MiB: ``resource.getrusage`` ru_maxrss of the grokjax subprocess (RUSAGE_SELF) plus that of
  its reaped children (RUSAGE_CHILDREN: the engine's worker processes, the largest one), i.e.
  host RSS, an upper bound on the concurrent peak.

FLOP counting (analytic, matmul FLOPs only -- 2 per multiply-add; elementwise work, the AdamW
update and the log-step evaluation are not counted):

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

Targets are printed, never asserted: >= 8x PyTorch and >= 60 % of matmul on parity64, >= 6x
PyTorch on modadd24.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TORCH_MISSING = "n/a (pip install torch==2.13.0)"
RESULT_TAG = "GROKJAX_BENCH_RESULT "

# ---------------------------------------------------------------------------------------------
# Workloads and FLOPs
# ---------------------------------------------------------------------------------------------

PARITY = {"n": 30, "k": 3, "train_size": 1200, "test_size": 5000, "lr": 3e-3,
          "weight_decay": 0.1, "beta1": 0.99, "beta2": 0.98}
MODADD = {"p": 67, "op": "add", "symmetric": True, "train_frac": 0.4, "embed": 500,
          "tie": "tied", "input_side": "factored", "output_side": "factored",
          "shared_win": True, "lr": 1e-3, "weight_decay": 1.0, "beta1": 0.9, "beta2": 0.98}


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    task: str  # "parity" or "modular"
    hidden: int
    target_torch: float | None = None  # printed target: grokjax >= this many x PyTorch
    target_mm: float | None = None  # printed target: grokjax >= this % of the matmul rate

    @property
    def label(self) -> str:
        if self.task == "parity":
            return f"parity n=30 k=3 H={self.hidden}"
        return f"mod-67 add H={self.hidden} d=500"

    def fixed(self, steps: int, log_every: int) -> dict[str, Any]:
        base = PARITY if self.task == "parity" else MODADD
        return {"task": self.task, **base, "hidden": self.hidden, "steps": steps,
                "log_every": log_every, "optimizer": "adamw", "reg": "l2",
                "dtype": "float32", "activation": "relu", "eps": 1e-8}

    def n_train(self) -> int:
        if self.task == "parity":
            return PARITY["train_size"]
        p = MODADD["p"]
        return round(MODADD["train_frac"] * (p * (p + 1) // 2))

    def step_flops(self) -> float:
        if self.task == "parity":
            return parity_step_flops(PARITY["n"], self.hidden, PARITY["train_size"])
        return modadd_step_flops(MODADD["p"], MODADD["embed"], self.hidden, self.n_train())


WORKLOADS = {w.name: w for w in [
    Workload("parity64", "parity", 64, target_torch=8.0, target_mm=60.0),
    Workload("parity256", "parity", 256),
    Workload("modadd24", "modular", 24, target_torch=6.0),
    Workload("modadd128", "modular", 128),
]}


def parity_forward_flops(n: int, hidden: int, n_train: int) -> float:
    """x (N x D) @ W_in (D x H), then h (N x H) @ w_out (H): 2 N D H + 2 N H, D = n + 1."""
    d = n + 1
    return 2.0 * n_train * d * hidden + 2.0 * n_train * hidden


def parity_step_flops(n: int = 30, hidden: int = 64, n_train: int = 1200) -> float:
    """One training step by the 3 x forward convention (14.7 MFLOP for the defaults)."""
    return 3.0 * parity_forward_flops(n, hidden, n_train)


def modadd_forward_flops(p: int, embed: int, hidden: int, n_train: int) -> float:
    """Reassociated: E W_in (p x d x H), W_out E^T (H x d x p), then h O (N x H x p)."""
    return 2.0 * p * embed * hidden + 2.0 * hidden * embed * p + 2.0 * n_train * hidden * p


def modadd_backward_flops(p: int, embed: int, hidden: int, n_train: int) -> float:
    """Both operand gradients of each of the three products (E is trained): 2 x forward."""
    logits = 2 * (2.0 * n_train * p * hidden)  # dh = dL O^T, dO = h^T dL
    out_table = 2 * (2.0 * hidden * p * embed)  # dW_out = dO E, dE += dO^T W_out
    in_table = 2 * (2.0 * p * embed * hidden)  # dW_in = E^T dT, dE += dT W_in^T
    return logits + out_table + in_table


def modadd_step_flops(p: int = 67, embed: int = 500, hidden: int = 24, n_train: int = 911
                      ) -> float:
    """Forward + backward = 12 p d H + 6 N H p (18.4 MFLOP for the defaults)."""
    return (modadd_forward_flops(p, embed, hidden, n_train)
            + modadd_backward_flops(p, embed, hidden, n_train))


# ---------------------------------------------------------------------------------------------
# Measurements (each runs in its own subprocess unless isolate=False)
# ---------------------------------------------------------------------------------------------


def _peak_rss_mib() -> dict[str, float]:
    # Linux reports ru_maxrss in KiB.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"rss_self_mib": own, "rss_children_mib": kids, "peak_mib": own + kids}


def _engine_options(workers: int | None):
    from grokjax import engine

    fields = engine.EngineOptions.__dataclass_fields__
    kw = {"workers": workers} if workers is not None and "workers" in fields else {}
    return engine.EngineOptions(**kw), "workers" in fields


def _sweep_once(w: Workload, runs: int, steps: int, log_every: int, workers: int | None
                ) -> dict[str, Any]:
    from grokjax import config, engine

    spec = config.parse_spec({"sweep": {"name": f"bench_{w.name}", "seeds": runs},
                              "fixed": w.fixed(steps, log_every)}, source="bench")
    options, has_workers = _engine_options(workers)
    with tempfile.TemporaryDirectory(prefix="grokjax-bench-") as tmp:
        rep = engine.run_sweep(spec, out=Path(tmp) / "out", options=options, quiet=True,
                               report=False)
    used = getattr(rep, "workers", None)
    n_workers = used if isinstance(used, int) and used > 0 else 1
    if not has_workers:
        label = "-"
    else:
        label = str(used if used is not None else "auto") + ("" if workers else " (auto)")
    # compile_s adds up the compile time of every worker; the workers compile side by side,
    # each on its own core, so the wall time spent compiling is taken as compile_s / workers.
    train_s = rep.wall_s - rep.compile_s / n_workers
    return {"runs": runs, "steps": steps, "model_steps": rep.model_steps, "wall_s": rep.wall_s,
            "compile_s": rep.compile_s, "compile_wall_s": rep.compile_s / n_workers,
            "n_programs": rep.n_programs, "workers": label,
            "steps_per_s": rep.model_steps / train_s if train_s > 0 else float("nan"),
            "steps_per_s_incl_compile": rep.model_steps / rep.wall_s}


def job_grokjax(workload: str, runs: int, steps: int, log_every: int,
                workers: int | None = None) -> dict[str, Any]:
    """One sweep of ``runs`` seeds through the real user path."""
    w = WORKLOADS[workload]
    out = _sweep_once(w, runs, steps, log_every, workers)
    out["gflops"] = out["steps_per_s"] * w.step_flops() / 1e9
    return {**out, **_peak_rss_mib()}


def _problem(w: Workload, steps: int, log_every: int):
    from grokjax import config
    from grokjax.static import Static

    cfg = config.resolve(w.task, w.fixed(steps, log_every), source="bench")
    return cfg, Static.from_config(cfg)


def job_jit(workload: str, models: int, steps: int, log_every: int) -> dict[str, Any]:
    """``jax.jit(train, static_argnums=0)``, one model per call, sequentially."""
    import jax

    from grokjax.train import HParams, train

    w = WORKLOADS[workload]
    cfg, static = _problem(w, steps, log_every)
    hps = [HParams.from_config({**cfg, "seed": s}, static.dtype) for s in range(models)]
    t0 = time.perf_counter()
    compiled = jax.jit(train, static_argnums=0).lower(static, hps[0]).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for hp in hps:
        jax.block_until_ready(compiled(hp))
    wall = time.perf_counter() - t0
    return {"models": models, "steps": steps, "wall_s": wall, "compile_s": compile_s,
            "steps_per_s": models * steps / wall, **_peak_rss_mib()}


def job_progress(workload: str, models: int, steps: int, log_every: int) -> dict[str, Any]:
    """The cost of logging progress measures: one jitted model with and without them,
    alternating calls so that both see the same machine."""
    import dataclasses as dc

    import jax

    from grokjax.train import HParams, train

    w = WORKLOADS[workload]
    cfg, static = _problem(w, steps, log_every)
    hp = HParams.from_config(cfg, static.dtype)
    fns = {on: jax.jit(train, static_argnums=0).lower(dc.replace(static, progress=on), hp)
           .compile() for on in (True, False)}
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


def _torch_modules(torch):
    nn = torch.nn

    class ParityMLP(nn.Module):
        def __init__(self, d_in: int, hidden: int):
            super().__init__()
            self.w_in = nn.Linear(d_in, hidden, bias=False)  # x has a constant-1 column
            self.w_out = nn.Linear(hidden, 1, bias=False)

        def forward(self, x):
            return self.w_out(torch.relu(self.w_in(x))).squeeze(-1)

    class ModAddMLP(nn.Module):
        def __init__(self, p: int, embed: int, hidden: int):
            super().__init__()
            self.embed = nn.Embedding(p, embed)
            self.w_in = nn.Linear(embed, hidden, bias=False)
            self.w_out = nn.Linear(hidden, embed, bias=False)

        def forward(self, a, b):
            h = torch.relu(self.w_in(self.embed(a)) + self.w_in(self.embed(b)))
            return self.w_out(h) @ self.embed.weight.T  # tied unembedding

    return ParityMLP, ModAddMLP


_TORCH_DEFAULT_THREADS: dict[str, int] = {}  # torch's own default, before any change


def job_torch(workload: str, models: int, steps: int, log_every: int,
              threads: int | None = None) -> dict[str, Any]:
    """The same work as a plain sequential PyTorch loop (CPU, eager).  ``threads`` None: the
    faster of 1 thread and torch's default in a short trial."""
    try:
        import torch
    except ImportError:
        return {"missing": TORCH_MISSING}
    import numpy as np
    import torch.nn.functional as F

    from grokjax import problem

    w = WORKLOADS[workload]
    cfg, static = _problem(w, steps, log_every)
    data = problem.make_data(static, np.uint32(cfg["data_seed"]))
    t = {f.name: torch.from_numpy(np.array(getattr(data, f.name)))
         for f in dataclasses.fields(data)}
    ParityMLP, ModAddMLP = _torch_modules(torch)

    if w.task == "parity":
        def make():
            return ParityMLP(cfg["n"] + 1, w.hidden)

        def loss_fn(model):
            return F.binary_cross_entropy_with_logits(model(t["x_train_NxD"]), t["y_train_N"])

        def evaluate(model):
            with torch.no_grad():
                out = {}
                for split, x, y in (("train", t["x_train_NxD"], t["y_train_N"]),
                                    ("test", t["x_test_MxD"], t["y_test_M"])):
                    z = model(x)
                    out[split] = (F.binary_cross_entropy_with_logits(z, y).item(),
                                  ((z > 0).float() == y).float().mean().item())
                return out
    else:
        a, b, y = t["a_train_N"].long(), t["b_train_N"].long(), t["y_train_N"].long()
        a_all, b_all, y_all = t["a_P"].long(), t["b_P"].long(), t["y_P"].long()
        is_train = t["rank_P"] < cfg["train_size"]

        def make():
            return ModAddMLP(cfg["p"], cfg["embed"], w.hidden)

        def loss_fn(model):
            return F.cross_entropy(model(a, b), y)

        def evaluate(model):
            with torch.no_grad():
                logits = model(a_all, b_all)
                loss = F.cross_entropy(logits, y_all, reduction="none")
                right = (logits.argmax(-1) == y_all).float()
                return {s: (loss[m].mean().item(), right[m].mean().item())
                        for s, m in (("train", is_train), ("test", ~is_train))}

    def train_one(seed: int, n_steps: int) -> float:
        torch.manual_seed(seed)
        model = make()
        opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], betas=(cfg["beta1"],
                                cfg["beta2"]), eps=cfg["eps"], weight_decay=cfg["weight_decay"])
        t0 = time.perf_counter()
        evaluate(model)
        for step in range(1, n_steps + 1):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model)
            loss.backward()
            opt.step()
            if step % log_every == 0:
                evaluate(model)
        return time.perf_counter() - t0

    # torch's default (one intra-op thread per core) collapses when the cores are shared with
    # other work (spinning OpenMP barriers): time a short trial with each and keep the faster.
    default = _TORCH_DEFAULT_THREADS.setdefault("n", torch.get_num_threads())
    trial = {}
    for n in sorted({1, default}) if threads is None else [threads]:
        torch.set_num_threads(n)
        k = max(1, min(steps, 3 * log_every) // 2)
        trial[n] = k / train_one(0, k) if threads is None and default > 1 else float("nan")
    best = max(trial, key=lambda n: trial[n] if math.isfinite(trial[n]) else 0.0)
    torch.set_num_threads(best)
    wall = sum(train_one(seed, steps) for seed in range(models))
    return {"models": models, "steps": steps, "wall_s": wall, "threads": best,
            "threads_default": default,
            "trial_steps_per_s": {str(n): r for n, r in trial.items()},
            "version": torch.__version__, "steps_per_s": models * steps / wall}


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
        "progress": job_progress}


def measure(kind: str, isolate: bool = True, **kw) -> dict[str, Any]:
    """Run one measurement, in a fresh subprocess by default.  Failures become {"error": ...}."""
    if not isolate:
        try:
            return JOBS[kind](**kw)
        except Exception as e:  # a broken column must not lose the rest of the table
            return {"error": f"{type(e).__name__}: {e}"}
    env = {**os.environ, "GROKJAX_QUIET": "1"}
    cmd = [sys.executable, "-m", "grokjax.bench", "--child", json.dumps({"kind": kind, **kw})]
    with tempfile.TemporaryDirectory(prefix="grokjax-bench-cache-") as cache:
        if kind == "grokjax":
            # A cold persistent compilation cache, as for a user's first sweep of these shapes
            # (the engine's workers still share it within the sweep).
            env["GROKJAX_CACHE_DIR"] = cache
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
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


def quick_plan(workloads: list[str]) -> Plan:
    return Plan(workloads, runs=8, steps=200, jit_models=1, torch_models=1, torch_steps=100,
                scaling_runs=(1, 16, 256), matmul_size=2048, matmul_reps=2)


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
    return results


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------

COLUMNS = ("workload", "MFLOP/step", "runs x steps", "grokjax steps/s", "incl. compile",
           "GFLOP/s", "matmul GFLOP/s", "% mm", "compile s", "programs", "workers",
           "peak MiB", "torch steps/s", "x torch", "jit-1 steps/s", "x jit-1", "progress cost",
           "target")


def _num(x: Any, fmt: str = ",.0f") -> str:
    if not isinstance(x, (int, float)) or not math.isfinite(x):
        return "-"
    return format(x, fmt)


def _ratio(a: Any, b: Any) -> float | None:
    ok = all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in (a, b))
    return a / b if ok else None


def _target(w: Workload, x_torch: float | None, pct_mm: float | None) -> str:
    parts = []
    if w.target_torch is not None:
        met = "?" if x_torch is None else ("met" if x_torch >= w.target_torch else "missed")
        parts.append(f">={w.target_torch:g}x torch ({met})")
    if w.target_mm is not None:
        met = "?" if pct_mm is None else ("met" if pct_mm >= w.target_mm else "missed")
        parts.append(f">={w.target_mm:g}% mm ({met})")
    return ", ".join(parts) or "-"


def table_rows(results: dict[str, Any]) -> list[dict[str, str]]:
    """One dict per workload, keyed by COLUMNS (strings as printed); ratios also stored back."""
    mm = results.get("matmul", {}).get("gflops")
    rows = []
    for name, r in results["workloads"].items():
        w = WORKLOADS[name]
        g, j, t = r["grokjax"], r["jit"], r["torch"]
        pct = _ratio(g.get("gflops"), mm)
        pct = None if pct is None else 100 * pct
        x_torch = _ratio(g.get("steps_per_s"), t.get("steps_per_s"))
        x_jit = _ratio(g.get("steps_per_s"), j.get("steps_per_s"))
        r["ratios"] = {"x_torch": x_torch, "x_jit": x_jit, "pct_matmul": pct}
        if "missing" in t:
            torch_cell = t["missing"]
        elif "error" in t:
            torch_cell = "error"
        else:
            torch_cell = f"{_num(t.get('steps_per_s'))} ({t.get('threads')}t)"
        rows.append({
            "workload": name,
            "MFLOP/step": _num(r["step_flops"] / 1e6, ".1f"),
            "runs x steps": f"{g.get('runs', '?')} x {g.get('steps', '?')}",
            "grokjax steps/s": "error" if "error" in g else _num(g.get("steps_per_s")),
            "incl. compile": _num(g.get("steps_per_s_incl_compile")),
            "GFLOP/s": _num(g.get("gflops"), ".1f"),
            "matmul GFLOP/s": _num(mm, ".1f"),
            "% mm": _num(pct, ".0f"),
            "compile s": _num(g.get("compile_s"), ".1f"),
            "programs": _num(g.get("n_programs"), "d"),
            "workers": str(g.get("workers", "-")),
            "peak MiB": _num(g.get("peak_mib")),
            "torch steps/s": torch_cell,
            "x torch": "-" if x_torch is None else f"{x_torch:.1f}x",
            "jit-1 steps/s": "error" if "error" in j else _num(j.get("steps_per_s")),
            "x jit-1": "-" if x_jit is None else f"{x_jit:.1f}x",
            "progress cost": ("error" if "error" in r.get("progress", {"error": 1}) else
                              f"{r['progress']['overhead_pct']:+.0f}%"),
            "target": _target(w, x_torch, pct),
        })
    return rows


def format_table(results: dict[str, Any]) -> str:
    rows = table_rows(results)
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) if rows else len(c) for c in COLUMNS}
    left = {"workload", "workers", "target", "runs x steps"}

    def line(cells: dict[str, str]) -> str:
        return " | ".join(cells[c].ljust(widths[c]) if c in left else cells[c].rjust(widths[c])
                          for c in COLUMNS)

    out = [line({c: c for c in COLUMNS}), "-+-".join("-" * widths[c] for c in COLUMNS)]
    out += [line(r) for r in rows]
    plan = results.get("plan", {})
    mm = results.get("matmul", {})
    notes = []
    for name, r in results["workloads"].items():
        for col in ("grokjax", "jit", "torch"):
            if "error" in r[col]:
                notes.append(f"  ! {name} {col}: {r[col]['error']}")
    if "error" in mm:
        notes.append(f"  ! matmul: {mm['error']}")
    torch_info = next((r["torch"] for r in results["workloads"].values()
                       if "threads" in r["torch"]), None)
    out += [
        "",
        f"steps/s = model-steps/s (runs x steps / seconds). grokjax: run_sweep, {plan.get('runs')}"
        f" seeds, log every {plan.get('log_every')}; 'grokjax steps/s' excludes compile_s, "
        "'incl. compile' is the whole sweep.",
        f"torch: {plan.get('torch_models')} model(s) x {plan.get('torch_steps')} steps, one "
        "Module + AdamW each, eager, sequential"
        + (f", torch {torch_info['version']}; (Nt) = intra-op threads, the faster of 1 and "
           f"the default {torch_info['threads_default']} in a short trial" if torch_info
           else "") + ".",
        f"jit-1: {plan.get('jit_models')} model(s) x {plan.get('steps')} steps, one "
        "jax.jit(train) call each, compile excluded. compile s: summed over the engine's "
        "workers (they compile side by side; 'grokjax steps/s' subtracts compile s / workers).",
        f"matmul: float32 jnp.dot {mm.get('size')}^2, best of {mm.get('reps')}. GFLOP/s and"
        " % mm use analytic matmul FLOPs per step (module docstring; parity by the 3x-forward "
        "convention, ~1.5x the executed count).",
        "peak MiB: getrusage ru_maxrss of the grokjax subprocess + its largest reaped child "
        "(host RSS).",
        "progress cost: wall-time overhead of logging the progress measures (Fourier sparsity, "
        "key frequencies; parity bit norms) every log step, one jitted model with and without "
        "them, calls alternated (target: <= 15%).",
        *notes,
    ]
    sc = results.get("scaling")
    if sc:
        out.append("")
        if "error" in sc:
            out.append(f"scaling parity64: error: {sc['error']}")
        else:
            pts = sc["points"]
            ns = [str(p["runs"]) for p in pts]
            ex = [_num(p["steps_per_s"]) for p in pts]
            inc = [_num(p["steps_per_s_incl_compile"]) for p in pts]
            mib = [_num(p.get("peak_mib")) for p in pts]
            wid = [max(map(len, c)) for c in zip(ns, ex, inc, mib, strict=True)]

            def srow(head, cells):
                return f"{head:<30}" + " ".join(c.rjust(n) for c, n in zip(cells, wid,
                                                                           strict=True))

            out += [f"scaling, parity H=64, {plan.get('scaling_steps')} steps per run "
                    f"(log every {plan.get('scaling_log_every')}), one sweep per N:",
                    srow("  runs N", ns), srow("  steps/s excluding compile", ex),
                    srow("  steps/s including compile", inc), srow("  peak MiB", mib)]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m grokjax.bench", description=(
        "grokjax throughput vs a sequential PyTorch loop and one jitted model at a time"))
    ap.add_argument("--quick", action="store_true",
                    help="few steps and runs (about 1-2 minutes)")
    ap.add_argument("--steps", type=int, help="steps per run (grokjax and jit-1)")
    ap.add_argument("--runs", type=int, help="grokjax runs per workload")
    ap.add_argument("--only", help="comma-separated workloads: " + ",".join(WORKLOADS))
    ap.add_argument("--workers", type=int, help="EngineOptions.workers (if the engine has it)")
    ap.add_argument("--no-scaling", action="store_true", help="skip the run-count curve")
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
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f} s] {msg}", file=sys.stderr, flush=True)

    results = run_bench(plan, log=log)
    results["total_s"] = time.perf_counter() - t0
    print(format_table(results))
    print(f"\n(total {results['total_s']:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
