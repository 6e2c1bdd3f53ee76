"""The benchmark's table: one row per workload from ``run_bench``'s numbers, plus notes."""

from __future__ import annotations

import math
from typing import Any

from benchmarks.workloads import WORKLOADS, Workload

COLUMNS = ("workload", "MFLOP/step", "runs x steps", "grokjax steps/s", "incl. compile",
           "GFLOP/s", "matmul GFLOP/s", "% mm", "compile s", "programs", "workers",
           "peak MiB", "torch steps/s", "x torch", "jit-1 steps/s", "x jit-1", "progress cost",
           "telemetry cost", "target")


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
            "telemetry cost": ("error" if "error" in r.get("telemetry", {"error": 1}) else
                               f"{r['telemetry']['overhead_pct']:+.0f}%"),
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
        "telemetry cost: the same for the stability telemetry (softmax-collapse and zero-loss "
        "fractions, gradient-weight cosine, per-tensor norms: one more forward and backward "
        "pass over the train set per log step; target: <= 10%).",
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
