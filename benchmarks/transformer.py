"""The transformer's throughput: model-steps/s of one jitted model and its FLOP rate.

Two configurations of ``sweeps/``: ``cpu`` (transformer_cpu: p = 53, d_model 64, d_mlp 256,
1,404 training pairs) and ``main`` (transformer_main, Nanda et al.'s: p = 113, d_model 128,
4 heads of 32, d_mlp 512, 3,831 training pairs), both full batch, float32.

FLOPs per step, two counts:

* analytic (matmuls only, 2 per multiply-add, 3 x forward): per example, with the readout at
  the "=" position only (grokjax's reassociated forward), forward = 2 (2 S H e (scores and the
  attention-weighted values of the one query) + H e D (W_O) + 2 D M (the MLP) + D p (W_U)),
  plus the first layer's q, k, v tables once per step, 3 x 2 (p + 1 + S) D H e; S = 3 tokens.
* XLA: ``cost_analysis()`` of the compiled training step (all ops, elementwise included).
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks import grokjax_calls

BASE = {"task": "modular", "model": "transformer", "op": "add", "lr": 1e-3,
        "weight_decay": 1.0, "beta1": 0.9, "beta2": 0.98, "warmup_steps": 10,
        "dtype": "float32", "activation": "relu"}
CONFIGS = {
    "cpu": {**BASE, "p": 53, "train_frac": 0.5, "d_model": 64, "n_heads": 4, "d_head": 16,
            "d_mlp": 256},
    "main": {**BASE, "p": 113, "train_frac": 0.3, "d_model": 128, "n_heads": 4, "d_head": 32,
             "d_mlp": 512},
}


def n_train(cfg: dict[str, Any]) -> int:
    return round(cfg["train_frac"] * cfg["p"] ** 2)


def step_flops(cfg: dict[str, Any]) -> float:
    """The analytic count above."""
    p, d, h, e, m, s = cfg["p"], cfg["d_model"], cfg["n_heads"], cfg["d_head"], cfg["d_mlp"], 3
    per_example = 2.0 * (2 * s * h * e + h * e * d + 2 * d * m + d * p)
    tables = 3 * 2.0 * (p + 1 + s) * d * h * e
    return 3.0 * (n_train(cfg) * per_example + tables)


def job_transformer(config: str, steps: int, log_every: int) -> dict[str, Any]:
    """One jitted model of ``config`` for ``steps`` steps (compiled ahead, compile excluded)."""
    import jax

    fixed = {**CONFIGS[config], "steps": steps, "log_every": log_every}
    m = grokjax_calls.one_model("modular", fixed)
    hp = m.hparams(0)
    t0 = time.perf_counter()
    compiled = m.compile(hp)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(compiled(hp))
    wall = time.perf_counter() - t0
    rate = steps / wall
    xla = grokjax_calls.step_flops_xla("modular", fixed)
    return {"config": config, "steps": steps, "wall_s": wall, "compile_s": compile_s,
            "steps_per_s": rate, "n_train": n_train(fixed), "step_flops": step_flops(fixed),
            "step_flops_xla": xla, "gflops": rate * step_flops(fixed) / 1e9,
            "gflops_xla": rate * xla / 1e9}


def format_rows(rows: list[dict[str, Any]]) -> str:
    head = (f"{'transformer':12s} {'N':>6s} {'steps/s':>9s} {'MFLOP/step':>11s} "
            f"{'(XLA)':>9s} {'GFLOP/s':>8s} {'(XLA)':>8s} {'compile s':>9s}")
    lines = [head]
    for r in rows:
        if "error" in r:
            lines.append(f"{r.get('config', '?'):12s} error: {r['error']}")
            continue
        lines.append(f"{r['config']:12s} {r['n_train']:6d} {r['steps_per_s']:9.1f} "
                     f"{r['step_flops'] / 1e6:11.1f} {r['step_flops_xla'] / 1e6:9.1f} "
                     f"{r['gflops']:8.2f} {r['gflops_xla']:8.2f} {r['compile_s']:9.1f}")
    return "\n".join(lines)
