"""The benchmark's FLOP formulas and table (speeds are never asserted: benchmarks are not tests)."""

import json
import math
import sys
from pathlib import Path

import pytest

# benchmarks/ is a folder of the checkout, not an installed package: import it from there.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import bench, table, torch_ref, workloads  # noqa: E402


def test_parity_flops_match_the_documented_numbers():
    # forward = 2 N D H + 2 N H with D = n + 1 = 31; a step is 3 x forward.
    assert workloads.parity_forward_flops(30, 64, 1200) == 2 * 1200 * 31 * 64 + 2 * 1200 * 64
    assert workloads.parity_step_flops(30, 64, 1200) == pytest.approx(14.7e6, rel=0.01)
    assert workloads.parity_step_flops(30, 256, 1200) == pytest.approx(59.0e6, rel=0.01)
    assert workloads.WORKLOADS["parity64"].step_flops() == workloads.parity_step_flops()


def test_modadd_flops_match_the_documented_numbers():
    p, d, n = 67, 500, 911
    assert workloads.WORKLOADS["modadd24"].n_train() == n  # 40 % of the 2,278 pairs a <= b
    for h, mflop in ((24, 18.4), (128, 98.3)):
        fwd = workloads.modadd_forward_flops(p, d, h, n)
        assert fwd == 4 * p * d * h + 2 * n * h * p
        # Every product's two operand gradients are formed (E is trained): backward = 2 fwd.
        assert workloads.modadd_backward_flops(p, d, h, n) == 2 * fwd
        assert workloads.modadd_step_flops(p, d, h, n) == 12 * p * d * h + 6 * n * h * p
        assert workloads.modadd_step_flops(p, d, h, n) == pytest.approx(mflop * 1e6, rel=0.01)


def test_tiny_bench_fills_every_column(tmp_path):
    # One workload, and a scaling point of the same shape (its programs are already compiled):
    # compiling is most of this test's time.
    plan = bench.Plan(["parity64"], runs=1, steps=20, log_every=10, jit_models=1,
                      torch_models=1, torch_steps=20, scaling_runs=(1,), scaling_steps=20,
                      scaling_log_every=10, matmul_size=256, matmul_reps=1,
                      workers=1, transformer=())  # one in-process worker: a short test
    results = bench.run_bench(plan, isolate=False)
    for name in plan.workloads:
        for part in ("grokjax", "jit", "torch"):
            assert "error" not in results["workloads"][name][part], (name, part, results[
                "workloads"][name][part]["error"])
    assert "error" not in results["matmul"] and "error" not in results["scaling"]
    rows = table.table_rows(results)
    assert [r["workload"] for r in rows] == ["parity64"]
    for row in rows:
        assert set(row) == set(table.COLUMNS)
        for col in table.COLUMNS:
            if col == "torch steps/s" and row[col] == torch_ref.TORCH_MISSING:
                continue
            if col in ("x torch",) and results["workloads"][row["workload"]]["torch"].get(
                    "missing"):
                continue
            assert row[col] not in ("", "-", "error"), (row["workload"], col, row[col])
    for name in plan.workloads:
        r = results["workloads"][name]
        assert r["grokjax"]["model_steps"] == 20
        assert math.isfinite(r["grokjax"]["steps_per_s_incl_compile"])
        assert r["grokjax"]["peak_mib"] > 0
    assert [p["runs"] for p in results["scaling"]["points"]] == [1]
    text = table.format_table(results)
    for col in table.COLUMNS:
        assert col in text.splitlines()[0]
    assert "scaling" in text
    json.dumps(results, default=str)  # --json can save it


def test_torch_modadd_baseline_runs():
    pytest.importorskip("torch")
    out = torch_ref.job_torch("modadd24", models=1, steps=2, log_every=1, threads=1)
    assert out["steps"] == 2 and out["threads"] == 1 and out["steps_per_s"] > 0


def test_missing_torch_is_reported_in_the_column():
    results = {"plan": {}, "matmul": {"gflops": 100.0, "size": 8, "reps": 1}, "workloads": {
        "parity64": {"step_flops": 1e6, "grokjax": {"runs": 1, "steps": 10, "steps_per_s": 5.0,
                                                   "gflops": 0.005},
                     "jit": {"steps_per_s": 1.0}, "torch": {"missing": torch_ref.TORCH_MISSING}}}}
    row = table.table_rows(results)[0]
    assert row["torch steps/s"] == torch_ref.TORCH_MISSING and row["x torch"] == "-"
    assert row["x jit-1"] == "5.0x"
    assert "n/a (pip install torch==2.13.0)" in table.format_table(results)


def test_transformer_flops_formula_and_xla_count():
    from benchmarks import grokjax_calls, transformer

    cfg = {**transformer.BASE, "p": 11, "train_frac": 0.5, "d_model": 8, "n_heads": 2,
           "d_head": 4, "d_mlp": 16, "steps": 10, "log_every": 10}
    n = transformer.n_train(cfg)
    assert n == round(0.5 * 121)
    per_ex = 2 * (2 * 3 * 2 * 4 + 2 * 4 * 8 + 2 * 8 * 16 + 8 * 11)
    assert transformer.step_flops(cfg) == 3 * (n * per_ex + 3 * 2 * (12 + 3) * 8 * 2 * 4)
    xla = grokjax_calls.step_flops_xla("modular", cfg)
    # XLA counts every op of the real step (elementwise work and AdamW included): the same
    # order as the matmul-only convention, never far below it
    assert 0.5 * transformer.step_flops(cfg) < xla < 10 * transformer.step_flops(cfg)
    row = {"config": "tiny", "n_train": n, "steps_per_s": 10.0, "step_flops": 1e6,
           "step_flops_xla": xla, "gflops": 0.01, "gflops_xla": xla * 1e-8, "compile_s": 1.0}
    assert "tiny" in transformer.format_rows([row])
