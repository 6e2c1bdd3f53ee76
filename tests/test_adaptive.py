"""Adaptive refinement ([adaptive]): point selection, validation, an end-to-end sweep, resume."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grokjax import EngineOptions, run_sweep, store
from grokjax.adaptive import (
    ROUND_COLUMN,
    choose_round,
    midpoint,
    point_axes,
    point_stats,
    round_configs,
    wilson,
)
from grokjax.adaptive_compare import compare
from grokjax.adaptive_sweep import describe, plan_rounds, run_adaptive
from grokjax.cli import main
from grokjax.errors import SpecError
from grokjax.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GROKJAX_QUIET": "1"}


def spec_of(adaptive: dict | None = None, grid: dict | None = None, seeds: int = 2, **extra):
    data = {"sweep": {"seeds": seeds, "data_seeds": "per_seed"},
            "fixed": {"task": "parity", "n": 8, "k": 2, "hidden": 8, "test_size": 64,
                      "steps": 200, "log_every": 50},
            "grid": grid or {"weight_decay": [0.01, 0.1, 1.0], "train_size": [100, 200]},
            "adaptive": {"axes": ["weight_decay", "train_size"], "rounds": 2, "budget": 100,
                         **(adaptive or {})}, **extra}
    return parse_spec(data, source="t.toml")


def rows_of(points: dict, seeds=(0, 1)) -> pd.DataFrame:
    """Synthetic rows: {(weight_decay, train_size): phase or [phase per seed]}."""
    out = []
    for (wd, ts), ph in points.items():
        for i, s in enumerate(seeds):
            out.append({"weight_decay": wd, "train_size": ts, "seed": s, "run_id": f"{wd}-{ts}-{s}",
                        "phase": ph if isinstance(ph, str) else ph[i]})
    return pd.DataFrame(out)


# --- pure pieces -----------------------------------------------------------------------------


def test_midpoints_geometric_arithmetic_and_integer():
    assert midpoint(0.01, 1.0, log=True, integer=False) == 0.1
    assert midpoint(0.01, 0.1, log=True, integer=False) == 0.0316227766017  # 12 digits
    assert midpoint(0.0, 0.3, log=False, integer=False) == 0.15
    assert midpoint(750, 2000, log=False, integer=True) == 1375
    assert midpoint(100, 201, log=False, integer=True) == 151  # 150.5: halves up
    assert midpoint(1000, 1750, log=True, integer=True) == 1323  # sqrt(1.75e6) = 1322.9
    assert midpoint(10, 11, log=False, integer=True) is None  # no integer between
    assert midpoint(1.0, 1.0 + 1e-13, log=False, integer=False) is None


def test_wilson_against_known_values():
    for (k, n), want in {(3, 3): (0.4385, 1.0), (2, 3): (0.2077, 0.9385),
                         (5, 10): (0.2366, 0.7634), (0, 10): (0.0, 0.2775)}.items():
        np.testing.assert_allclose(wilson(k, n), want, atol=1e-4)
    stats = pytest.importorskip("scipy.stats")
    ci = stats.binomtest(7, 9).proportion_ci(method="wilson")
    np.testing.assert_allclose(wilson(7, 9), (ci.low, ci.high), atol=1e-12)


PHASES = {(0.01, 100): "memorize", (0.1, 100): "grok", (1.0, 100): "grok",
          (0.01, 200): "memorize", (0.1, 200): "memorize", (1.0, 200): "fail"}


def test_midpoints_where_neighbours_modal_phases_differ():
    spec = spec_of({"seed_share": 0, "budget": 20})  # round 1 may add ceil(8 / 2) = 4 runs
    choice = choose_round(point_stats(rows_of(PHASES), point_axes(spec), None), spec, 1, 12)
    got = {(m.axis, m.point) for m in choice.midpoints}
    assert got == {("weight_decay", (0.0316227766017, 100)),  # memorize | grok, log axis
                   ("weight_decay", (0.316227766017, 200)),   # memorize | fail
                   ("train_size", (0.1, 150)), ("train_size", (1.0, 150))}  # linear, integer
    assert choice.seeds == () and choice.new_seeds == (0,)
    runs = round_configs(spec, choice)
    assert len(runs) == 4 and {r[ROUND_COLUMN] for r in runs} == {1}
    assert all(r["data_seed"] == r["seed"] == 0 for r in runs)  # per_seed data


def test_linear_spacing_gives_arithmetic_midpoints():
    spec = spec_of({"seed_share": 0, "spacing": {"weight_decay": "linear"}})
    choice = choose_round(point_stats(rows_of(PHASES), point_axes(spec), None), spec, 1, 12)
    assert {m.point for m in choice.midpoints if m.axis == "weight_decay"} == {
        (0.055, 100), (0.55, 200)}


def test_seeds_go_where_the_modal_interval_is_widest():
    mixed = {**PHASES, (0.01, 200): ["memorize", "grok"]}  # a 1-1 split: widest
    spec = spec_of({"seed_share": 1.0, "seeds_per_point": 2, "budget": 16})
    choice = choose_round(point_stats(rows_of(mixed), point_axes(spec), None), spec, 1, 12)
    # allowance ceil(4 / 2) = 2: one batch of 2 seeds, all of it for seeds
    assert choice.midpoints == () and len(choice.seeds) == 1
    assert choice.seeds[0].point == (0.01, 200) and choice.seeds[0].seeds == (2, 3)
    assert choice.seeds[0].width == pytest.approx(np.subtract(*wilson(1, 2)[::-1]))


def test_budget_is_never_exceeded_and_is_spent():
    def oracle(wd, ts):  # a boundary that needs many rounds to pin down
        return "grok" if wd * ts > 25 else "memorize"

    for budget, spp, share in ((12, 1, 0.25), (20, 3, 0.5), (31, 2, 0.0), (13, 1, 1.0)):
        spec = spec_of({"budget": budget, "seeds_per_point": spp, "seed_share": share,
                        "rounds": 3}, seeds=1)
        rows = pd.DataFrame([dict(r, phase=oracle(r["weight_decay"], r["train_size"]))
                             for r in spec.runs()])
        used = len(rows)
        for index in range(1, 4):
            choice = choose_round(point_stats(rows, point_axes(spec), None), spec, index, used)
            runs = round_configs(spec, choice)
            assert len(runs) == choice.n_runs <= choice.allowance
            used += len(runs)
            assert used <= budget
            rows = pd.concat([rows, pd.DataFrame([dict(r, phase=oracle(r["weight_decay"],
                                                                       r["train_size"]))
                                                  for r in runs])], ignore_index=True)
        assert budget - used < spp  # spent, up to a part of a point
        assert rows["run_id"].is_unique


def test_choice_is_a_pure_function_of_the_rows():
    spec = spec_of({"budget": 20})
    rows = rows_of({**PHASES, (0.01, 200): ["memorize", "grok"]})
    a = choose_round(point_stats(rows, point_axes(spec), None), spec, 1, 12)
    shuffled = rows.sample(frac=1.0, random_state=3)
    b = choose_round(point_stats(shuffled, point_axes(spec), None), spec, 1, 12)
    assert a == b and a.midpoints and a.seeds
    assert [r["run_id"] for r in round_configs(spec, a)] == [
        r["run_id"] for r in round_configs(spec, b)]


def test_compare_counts_exact_and_within_one_step():
    dense = rows_of({(wd, ts): ("grok" if wd >= 0.1 else "memorize")
                     for wd in (0.01, 0.1, 1.0) for ts in (100, 200, 300)}, seeds=(0,))
    coarse = rows_of({(0.01, 100): "memorize", (1.0, 100): "grok", (0.01, 300): "memorize",
                      (1.0, 300): "grok"}, seeds=(0,))
    got = compare(dense, coarse, ["weight_decay", "train_size"],
                  {"weight_decay": True, "train_size": False})
    # the middle column (0.1) is one step from both corners: a tie, both phases pooled
    assert (got.cells, got.exact, got.within_one) == (9, 9, 9)
    wrong = coarse.assign(phase="memorize")
    got = compare(dense, wrong, ["weight_decay", "train_size"],
                  {"weight_decay": True, "train_size": False})
    assert (got.exact, got.within_one, got.boundary_cells, got.boundary_within_one) == (
        3, 6, 6, 6)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("table,key,words", [
    ({"axis": ["weight_decay"]}, "[adaptive] axis", "unknown key; allowed: axes"),
    ({"axes": "weight_decay"}, "[adaptive] axes", "a non-empty list"),
    ({"axes": []}, "[adaptive] axes", "a non-empty list"),
    ({"axes": ["lr"]}, "[adaptive] axes", "'lr' is not a [grid] axis; allowed: weight_decay"),
    ({"axes": ["hidden"]}, "[adaptive] axes", "'hidden' is in [fixed]"),
    ({"axes": ["seed"]}, "[adaptive] axes", "is not a [grid] axis"),
    ({"axes": ["reg"]}, "[adaptive] axes", "is a str setting; midpoints need numbers"),
    ({"axes": ["beta1"]}, "[adaptive] axes", "has one value in [grid]"),
    ({"axes": ["weight_decay", "weight_decay"]}, "[adaptive] axes", "names an axis twice"),
    ({"rounds": 0}, "[adaptive] rounds", "an integer >= 1 and <= 20"),
    ({"rounds": True}, "[adaptive] rounds", "an integer >= 1"),
    ({"budget": 11}, "[adaptive] budget", "an integer >= 12, the runs of round 0"),
    ({"budget": 12.5}, "[adaptive] budget", "an integer >= 12"),
    ({"seeds_per_point": 0}, "[adaptive] seeds_per_point", "an integer >= 1"),
    ({"seed_share": 1.5}, "[adaptive] seed_share", "a number from 0 to 1"),
    ({"target": "loss"}, "[adaptive] target", "allowed: 'phase'"),
    ({"spacing": "log"}, "[adaptive] spacing", "must be a table"),
    ({"spacing": {"weight_decay": "exp"}}, "[adaptive] spacing weight_decay",
     "allowed: 'log', 'linear'"),
    ({"spacing": {"train_size": "log"}}, "[adaptive] spacing train_size",
     "is not one of [adaptive] axes"),
])
def test_bad_adaptive_tables_name_the_key(table, key, words):
    grid = {"weight_decay": [0.01, 0.1, 1.0], "reg": ["l1", "l2"], "beta1": [0.9]}
    base = {"axes": ["weight_decay"], "rounds": 2, "budget": 100}
    with pytest.raises(SpecError) as e:
        parse_spec({"sweep": {"seeds": 2}, "fixed": {"task": "parity", "hidden": 8},
                    "grid": grid, "adaptive": {**base, **table}}, source="bad.toml")
    assert e.value.source == "bad.toml" and e.value.key == key
    assert words in str(e.value)


def test_more_bad_tables():
    for data, key, words in [
        ({"adaptive": {"rounds": 2, "budget": 10}}, "[adaptive] axes", "missing"),
        ({"adaptive": 3}, "adaptive", "must be a table"),
        ({"grid": {"weight_decay": [0.0, 0.1]}, "adaptive": {
            "axes": ["weight_decay"], "rounds": 1, "budget": 9, "spacing": {
                "weight_decay": "log"}}}, "[adaptive] spacing weight_decay", "needs values > 0"),
        ({"quick": {"adaptive": 3}}, "[quick] adaptive", "must be a table"),
    ]:
        base = {"sweep": {"seeds": 2}, "fixed": {"task": "parity"},
                "grid": {"weight_decay": [0.01, 0.1]}}
        with pytest.raises(SpecError) as e:
            parse_spec({**base, **data}, source="bad.toml")
        assert e.value.key == key and words in str(e.value), str(e.value)
    with pytest.raises(SpecError, match=r"use grokjax\.run_adaptive"):
        run_sweep(spec_of(), "/nonexistent/never-written")


def test_quick_variant_overrides_adaptive_keys_and_validate_describes(capsys):
    spec = load_spec(ROOT / "sweeps" / "parity_adaptive.toml")
    q = spec.quick()
    assert (spec.adaptive.budget, q.adaptive.budget, q.adaptive.rounds) == (64, 12, 2)
    assert q.adaptive.axes == spec.adaptive.axes and q.adaptive.is_log("weight_decay")
    assert not q.adaptive.is_log("train_size") and q.spec_hash() != spec.spec_hash()
    assert main(["validate", str(ROOT / "sweeps" / "parity_adaptive.toml")]) == 0
    out = capsys.readouterr().out
    assert "48 runs" in out and "adaptive: round 0 = 48 runs" in out and "until 64 runs" in out
    assert describe(q).startswith("adaptive: round 0 = 6 runs")


# --- end to end ------------------------------------------------------------------------------

TINY = """
[sweep]
seeds = 2
data_seeds = "per_seed"
[fixed]
task = "parity"
n = 8
k = 2
hidden = 16
test_size = 64
steps = 300
log_every = 50
train_size = 96
[grid]
weight_decay = [0.0, 0.3, 3.0]
lr = [1e-3, 3e-2]
[adaptive]
axes = ["weight_decay", "lr"]
spacing = { weight_decay = "linear" }
rounds = 2
budget = 20
[engine]
flush_rows = 1
"""
CONTENT = ["run_id", ROUND_COLUMN, "weight_decay", "lr", "seed", "data_seed", "phase",
           "train_loss", "test_loss", "test_acc", "min_train_loss", "spec_hash"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("adaptive")
    (d / "tiny.toml").write_text(textwrap.dedent(TINY))
    spec = load_spec(d / "tiny.toml")
    rep = run_adaptive(spec, d / "ref", options=EngineOptions(workers=1), quiet=True,
                       report=False)
    return spec, d, rep


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = (d.sort_values("run_id").reset_index(drop=True) for d in (a, b))
    assert list(a["run_id"]) == list(b["run_id"]) and a["run_id"].is_unique
    for col in CONTENT:
        for x, y in zip(a[col], b[col], strict=True):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=col)


def test_end_to_end_rounds_rows_and_manifest(tiny):
    spec, d, rep = tiny
    df = store.load_results(d / "ref")
    manifest = store.read_manifest(d / "ref")
    assert len(df) == rep.n_runs == manifest["n_runs"] <= 20
    rounds = manifest["adaptive"]["rounds"]
    assert manifest["adaptive"]["complete"] and [r["round"] for r in rounds] == [0, 1, 2]
    for r in rounds:  # every run's round: in its row and in the manifest
        assert set(df.loc[df[ROUND_COLUMN] == r["round"], "run_id"]) == set(r["run_ids"])
    assert rounds[0]["runs"] == 12 and sum(r["runs"] for r in rounds) == len(df)
    assert df["spec_hash"].nunique() == 1 and df["spec_hash"].iat[0] == spec.spec_hash()
    # the replay from the rows on disk chooses exactly what was trained
    assert [p.run_ids for p in plan_rounds(spec, df)] == [r["run_ids"] for r in rounds]
    # later rounds only add points between the coarse values, or seeds
    late = df[df[ROUND_COLUMN] > 0]
    assert late["weight_decay"].between(0.0, 3.0).all() and late["lr"].between(1e-3, 3e-2).all()
    # a second call trains nothing and leaves the rows as they are
    again = run_adaptive(spec, d / "ref", options=EngineOptions(workers=1), quiet=True,
                         report=False)
    assert again.trained == [] and again.n_runs == rep.n_runs


def test_resume_mid_round_equals_uninterrupted(tiny):
    """The state a kill -9 leaves mid-round 1 (parts are atomic: round 0's rows and some of
    round 1's on disk, the rest not, a stray temp file), then a re-run: the same rows."""
    spec, d, rep = tiny
    out = d / "killed"
    shutil.copytree(d / "ref", out)
    ref = store.load_results(d / "ref")
    for p in store.part_files(out):
        p.unlink()
    kept = ref[ref[ROUND_COLUMN] == 0]  # round 0, and the first run of round 1 only
    store.write_part(out, kept, tag="p0w0")
    store.write_part(out, ref[ref[ROUND_COLUMN] == 1].sort_values("run_id").head(1), tag="p0w1")
    (out / "runs" / ".part-x.parquet.tmp").write_bytes(b"half a part")
    before = store.load_results(out)
    assert 12 < len(before) < len(store.load_results(d / "ref"))
    assert set(before[ROUND_COLUMN]) == {0, 1}
    got = run_adaptive(spec, out, options=EngineOptions(workers=1), quiet=True, report=False)
    assert sum(t.n_trained for t in got.trained) == rep.n_runs - len(before)
    same_rows(store.load_results(out), store.load_results(d / "ref"))
    assert store.read_manifest(out)["adaptive"] == store.read_manifest(d / "ref")["adaptive"]


@pytest.mark.slow
def test_kill9_mid_sweep_then_rerun(tiny):
    """A real kill -9 once round 1 has rows on disk, then the same command again."""
    _, d, rep = tiny
    out = d / "kill9"
    cmd = [sys.executable, "-m", "grokjax", "sweep", str(d / "tiny.toml"), "--out", str(out),
           "--workers", "1", "--no-report", "--quiet"]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while proc.poll() is None:  # state-based: a row of round 1 is on disk
        if (out / "runs").is_dir() and len(store.done_run_ids(out)) > 12:
            break
        assert time.time() < deadline, "the sweep made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(store.load_results(out))
    assert partial > 12 or proc.returncode == 0
    rerun = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    same_rows(store.load_results(out), store.load_results(d / "ref"))
    m = store.read_manifest(out)
    assert m["adaptive"] == store.read_manifest(d / "ref")["adaptive"]
    assert f"{rep.n_runs} runs of a budget of 20" in rerun.stdout
