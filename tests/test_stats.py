"""The statistics layer (grokjax.stats): intervals and tests against hand-computed values and
scipy, censoring and the Kaplan-Meier median, paired comparisons on synthetic rows with a known
effect, the errors, and ``python -m grokjax stats`` end to end on a small synthetic folder."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from grokjax import store
from grokjax.cli import main
from grokjax.stats import (
    StatsError,
    cell_stats,
    cell_table,
    compare,
    compare_arms,
    km_median,
    reach_times,
    sign_test,
    wilcoxon,
    wilson,
)
from grokjax.stats.intervals import percentile_interval
from grokjax.stats.survival import ReachTimes, km_medians

BUDGET = 1000


# ---------------------------------------------------------------------------------------------
# Intervals and tests
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def stats():
    """scipy.stats: the oracle (a dev-only dependency; only the tests that use it skip)."""
    return pytest.importorskip("scipy.stats")


@pytest.mark.parametrize(("k", "n", "want"), [
    # (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.96, by hand
    (0, 10, (0.0, 0.2775)), (5, 10, (0.2366, 0.7634)), (10, 10, (0.7225, 1.0)),
    (1, 3, (0.0615, 0.7923)), (2, 3, (0.2077, 0.9385)), (0, 1, (0.0, 0.7935)),
])
def test_wilson_against_hand_computed_values(k, n, want):
    np.testing.assert_allclose(wilson(k, n), want, atol=5e-5)


def test_wilson_against_scipy_and_its_edges(stats):
    for n in (1, 2, 3, 8, 9, 50, 300):
        for k in range(n + 1):
            ci = stats.binomtest(k, n).proportion_ci(method="wilson")
            np.testing.assert_allclose(wilson(k, n), (ci.low, ci.high), atol=1e-12)
    assert wilson(0, 0) == (0.0, 1.0)  # no runs: no information
    # narrower with n: 2 of 3 is far less certain than 200 of 300
    assert np.subtract(*wilson(2, 3)[::-1]) > 6 * np.subtract(*wilson(200, 300)[::-1])


def test_sign_test_exact(stats):
    # 7 of 8 one way: 2 * (C(8,0) + C(8,1)) / 2^8
    assert sign_test(7, 1).p == pytest.approx(18 / 256, abs=0)
    assert sign_test(4, 4).p == 1.0
    assert sign_test(0, 0).p is None  # no ordered pair, no test
    for pos, neg in itertools.product(range(12), range(12)):
        if pos + neg:
            assert sign_test(pos, neg).p == pytest.approx(
                stats.binomtest(pos, pos + neg).pvalue, rel=1e-12)
    assert sign_test(600, 400).p == pytest.approx(stats.binomtest(600, 1000).pvalue, rel=1e-9)


def test_wilcoxon_by_hand_enumeration():
    # ranks 1, 2, 3, all positive: W+ = 6, P[W+ >= 6] = 1/8 over the 8 sign choices
    w = wilcoxon(np.array([1.0, 2.0, 3.0]))
    assert (w.n, w.w_plus, w.method) == (3, 6.0, "exact") and w.p == 0.25
    # W+ = 3 with ranks 1, 2, 3: sums {0,1,2,3,3,4,5,6}, both tails 5/8: p = 1
    assert wilcoxon(np.array([1.0, 2.0, -3.0])).p == 1.0
    # zeros are dropped, infinities rank last
    w = wilcoxon(np.array([0.0, 0.5, -1.0, np.inf, 2.0]))
    assert (w.n, w.n_zero, w.w_plus) == (4, 1, 1 + 3 + 4)


def test_wilcoxon_against_scipy(stats):
    rng = np.random.default_rng(3)
    for n in (5, 9, 20, 50):  # exact, no ties
        d = rng.normal(0.4, 1, n)
        assert wilcoxon(d).p == pytest.approx(stats.wilcoxon(d, method="exact").pvalue,
                                              rel=1e-10)
    # ties and a zero: exact over the 2^11 sign assignments (scipy enumerates them too)
    d = np.array([1, -1, 2, 2, -3, 4, 4, 4, 5, -0.5, 0, 6])
    perm = stats.wilcoxon(d, method=stats.PermutationMethod(n_resamples=10_000)).pvalue
    assert wilcoxon(d).p == pytest.approx(perm, rel=1e-10)
    # above 50: normal approximation with the tie correction, no continuity correction
    d = np.round(rng.normal(0.2, 1, 80), 1)
    w = wilcoxon(d)
    assert w.method == "normal"
    assert w.p == pytest.approx(stats.wilcoxon(d, method="approx").pvalue, rel=1e-9)


def test_percentile_interval_takes_order_statistics():
    x = np.array([1.0, 2.0, 3.0, np.inf])
    assert percentile_interval(np.repeat(x, 100)) == (1.0, np.inf)  # inf, not NaN
    lo, hi = percentile_interval(np.arange(1, 1001, dtype=float))
    assert (lo, hi) == (25.0, 975.0)


# ---------------------------------------------------------------------------------------------
# Censoring: time to threshold and the Kaplan-Meier median
# ---------------------------------------------------------------------------------------------


def _times(steps, budget=BUDGET) -> ReachTimes:
    s = np.array([np.nan if x is None else x for x in steps], float)
    return ReachTimes(s, np.broadcast_to(np.asarray(budget, float), s.shape).copy())


@pytest.mark.parametrize(("steps", "want"), [
    ([100, 200, 300], 200), ([100, 200, 300, 400], 250),  # uncensored: the ordinary median
    ([100, 200, 300, None], 250),  # 3 of 4 reach it: S = 1/2 from 200 to 300
    ([100, 200, None, None], math.inf),  # exactly half: not reached
    ([100, None, None], math.inf), ([None, None], math.inf),
])
def test_km_median_by_hand(steps, want):
    assert km_median(_times(steps)) == want


def test_km_median_with_unequal_budgets():
    # the run censored at 150 counts as at risk until then: S(100) = 3/4, S(200) = 3/4 * 1/2
    t = ReachTimes(np.array([100.0, np.nan, 200.0, 300.0]),
                   np.array([1000.0, 150.0, 1000.0, 1000.0]))
    assert km_median(t) == 200
    # ... where counting it as "never" would give 250
    assert np.median([100, 200, 300, np.inf]) == 250


def test_km_median_equals_the_median_with_never_as_infinity_on_equal_budgets():
    rng = np.random.default_rng(0)
    for n in range(1, 30):
        steps = rng.integers(1, 10, n) * 100.0
        steps[rng.random(n) < 0.4] = np.nan
        t = _times(steps)
        assert km_median(t) == np.median(np.where(t.reached, t.step, np.inf))
        # a weight of 2 is the run counted twice
        w = rng.integers(0, 3, n).astype(float)
        if w.sum():
            rep = np.repeat(np.where(t.reached, t.step, np.inf), w.astype(int))
            assert km_medians(t.time, t.reached, w[None, :])[0] == np.median(rep)


def _row(cfg: dict, reach_at: int | None, *, budget: int = BUDGET, diverge_at=None) -> dict:
    step = np.arange(0, budget + 1, 100)
    acc = np.where(step >= (reach_at if reach_at is not None else 10**9), 0.9, 0.3)
    acc = acc.astype(np.float32)  # float32(0.9) < 0.9: compared at the curve's precision
    loss = np.where(acc >= 0.9, 1e-4, 1.0).astype(np.float32)
    if diverge_at is not None:
        acc[step >= diverge_at] = np.nan
        loss[step >= diverge_at] = np.nan
    return {"task": "parity", "steps": budget, **cfg, "step": step, "test_acc": acc,
            "test_loss": loss, "run_id": "r" + "-".join(f"{k}{v}" for k, v in cfg.items())}


def test_reach_times_first_logged_step_and_censoring():
    df = pd.DataFrame([_row({"seed": 0}, 300), _row({"seed": 1}, None),
                       _row({"seed": 2}, 0), _row({"seed": 3}, 700, diverge_at=500),
                       _row({"seed": 4}, 200, budget=600)])
    t = reach_times(df, "test_acc", 0.9, below=False)
    np.testing.assert_array_equal(t.step, [300, np.nan, 0, np.nan, 200])
    np.testing.assert_array_equal(t.budget, [1000, 1000, 1000, 1000, 600])
    np.testing.assert_array_equal(t.time, [300, 1000, 0, 1000, 200])  # diverged: censored
    below = reach_times(df, "test_loss", 1e-3, below=True)
    np.testing.assert_array_equal(below.step, t.step)


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------


def _grid_frame() -> pd.DataFrame:
    """weight_decay 0.1 (9 seeds: 6 reach it at 200-700) and 1.0 (3 seeds: 2 reach it)."""
    rows = []
    for s, at in enumerate([200, 300, 400, 500, 600, 700, None, None, None]):
        rows.append({**_row({"weight_decay": 0.1, "seed": s, "data_seed": s}, at),
                     "phase": "grok" if at else "memorize"})
    for s, at in enumerate([400, 800, None]):
        rows.append({**_row({"weight_decay": 1.0, "seed": s, "data_seed": s}, at),
                     "phase": "generalize" if at else "fail"})
    return pd.DataFrame(rows)


def test_cell_table_counts_shares_and_censored_medians():
    t = cell_table(_grid_frame(), ["weight_decay"], n_boot=500)
    a, b = t.cells
    assert [c.key for c in t.cells] == [(("weight_decay", 0.1),), (("weight_decay", 1.0),)]
    assert (a.n, a.phase("grok").k, a.phase("memorize").k, a.reach.k) == (9, 6, 3, 6)
    assert (a.phase("grok").lo, a.phase("grok").hi) == wilson(6, 9)
    assert b.phase("generalize").k == 2 and b.phase("fail").k == 1
    # 9 runs, 6 reached: the 5th smallest time, 600 (never = censored beyond the budget)
    assert a.median.value == 600 and a.median.lo <= 600 <= a.median.hi
    assert a.median_reached.value == 450  # among the 6 that reach it: a conditional number
    assert b.median.value == 800 and b.median.hi == math.inf  # 2 of 3: often not reached
    assert t.phases_present == ("memorize", "grok", "generalize", "fail")
    f = cell_stats(_grid_frame(), ["weight_decay"], n_boot=500)
    assert list(f["grok_k"]) == [6, 0] and list(f["median_step"]) == [600, 800]
    assert f.loc[0, "reach_lo"] == pytest.approx(wilson(6, 9)[0])


def test_bootstrap_is_deterministic_and_per_cell():
    df = _grid_frame()
    one = cell_table(df, ["weight_decay"], n_boot=300, seed=1).cells[0]
    assert cell_table(df, ["weight_decay"], n_boot=300, seed=1).cells[0] == one
    # a cell's numbers do not depend on which other cells are there
    assert cell_table(df[df.weight_decay == 0.1], ["weight_decay"], n_boot=300,
                      seed=1).cells[0] == one
    # another seed, other resamples: 30 runs reaching it at 100..3,000 give distinct ends
    many = pd.DataFrame([_row({"seed": s}, 100 * (s + 1), budget=3000) for s in range(30)])
    ends = {(m.lo, m.hi) for m in (cell_table(many, n_boot=300, seed=s).cells[0].median
                                   for s in range(4))}
    assert len(ends) > 1


def test_a_cell_is_the_same_in_any_row_order_and_as_an_arm_of_a_comparison():
    df = pd.concat([_pairs([400, 600, None, 300, 900], [200, 300, 500, None, None],
                           weight_decay=wd) for wd in (0.1, 1.0)], ignore_index=True)
    cells = cell_table(df, ["weight_decay", "grad_filter"], n_boot=300)
    shuffled = cell_table(df.sample(frac=1, random_state=1), ["grad_filter", "weight_decay"],
                          n_boot=300)
    assert {frozenset(c.key): c for c in cells.cells} == {
        frozenset(c.key): dataclasses.replace(c, key=tuple(sorted(c.key, reverse=True)))
        for c in shuffled.cells}
    by_key = {frozenset(c.key): c for c in cells.cells}
    for s in compare(df, "grad_filter", "none", "grokfast_ema", n_boot=300).strata:
        for arm in (s.arm_a, s.arm_b):
            cell = by_key[frozenset((*s.key, ("grad_filter", arm.value)))]
            assert (arm.reach, arm.median) == (cell.reach, cell.median)


def test_cell_table_errors_name_the_column():
    df = _grid_frame()
    with pytest.raises(StatsError,
                       match=r"--by: no column 'lr'.*vary: seed, data_seed, weight_decay"):
        cell_table(df, ["lr"])
    with pytest.raises(StatsError, match=r"--metric: 'train_acc' is not a logged curve.*"
                                         r"test_acc, test_loss"):
        cell_table(df, metric="train_acc")
    with pytest.raises(StatsError, match="finite"):
        cell_table(df, threshold=float("nan"))
    with pytest.raises(StatsError, match="no runs"):
        cell_table(df.iloc[:0])


# ---------------------------------------------------------------------------------------------
# Paired comparisons
# ---------------------------------------------------------------------------------------------


def _pairs(steps_a, steps_b, **fixed) -> pd.DataFrame:
    rows = []
    for s, (ta, tb) in enumerate(zip(steps_a, steps_b, strict=True)):
        for arm, t in (("none", ta), ("grokfast_ema", tb)):
            rows.append(_row({"grad_filter": arm, "seed": s, "data_seed": s, **fixed}, t))
    return pd.DataFrame(rows)


def test_known_effect_b_twice_as_fast():
    a = [400, 600, 800, 400, 1000, 600, 800, 400, 600, 800, 1000, 600]
    df = _pairs(a, [x // 2 for x in a])
    c = compare(df, "grad_filter", "none", "grokfast_ema", n_boot=1000)
    (s,) = c.strata
    assert c.strata_by == () and c.one_arm == () and c.unmatched == (0, 0)
    assert [p.speedup for p in s.pairs] == [2.0] * 12
    m = s.median_speedup
    assert m.value == pytest.approx(2.0) and m.lo <= 2.0 <= m.hi
    assert (s.sign.n_pos, s.sign.n_neg) == (12, 0) and s.sign.p == 2 / 4096
    assert s.wilcoxon.n == 12 and s.wilcoxon.p == pytest.approx(2 / 4096)
    assert [p.match for p in s.pairs][:2] == [(("seed", 0), ("data_seed", 0)),
                                               (("seed", 1), ("data_seed", 1))]
    f = compare_arms(df, "grad_filter", "none", "grokfast_ema", n_boot=1000)
    assert f.loc[0, "both"] == 12 and f.loc[0, "speedup"] == pytest.approx(2.0)


def test_no_effect_gives_a_large_p():
    a = [400, 600, 800, 400, 1000, 600, 800, 500]
    b = [500, 500, 900, 300, 900, 700, 700, 600]  # faster in 4, slower in 4, similar sizes
    (s,) = compare(_pairs(a, b), "grad_filter", "none", "grokfast_ema", n_boot=500).strata
    assert s.sign.p == 1.0 and s.wilcoxon.p > 0.5
    assert s.median_speedup.lo < 1 < s.median_speedup.hi


def test_censored_pairs_are_bounds_and_ties_are_dropped():
    df = _pairs([200, None, 400, None, 500], [100, 300, None, None, 500])
    (s,) = compare(df, "grad_filter", "none", "grokfast_ema", n_boot=200).strata
    outcome = [p.outcome for p in s.pairs]
    assert outcome == ["both", "b_only", "a_only", "neither", "both"]
    assert s.pairs[1].speedup == math.inf and s.pairs[1].bound == BUDGET / 300
    assert s.pairs[2].speedup == 0 and s.pairs[2].bound == 400 / BUDGET
    assert math.isnan(s.pairs[3].speedup)
    # order known: B sooner in seeds 0 and 1, A in seed 2; seed 4 is a tie, seed 3 unknown
    assert (s.sign.n_pos, s.sign.n_neg) == (2, 1)
    assert (s.wilcoxon.n, s.wilcoxon.n_zero) == (1, 1)  # both reach it: seeds 0 and 4
    # the median over the 4 informative pairs: 0, 1, 2, inf -> sqrt(1 * 2)
    assert s.median_speedup.value == pytest.approx(math.sqrt(2))
    assert (s.count("both"), s.count("a_only"), s.count("b_only"), s.count("neither")) == (
        2, 1, 1, 1)


def test_strata_one_arm_settings_pooling_and_unmatched_runs():
    df = pd.concat([_pairs([400, 600], [200, 300], weight_decay=1.0),
                    _pairs([None, None], [None, 500], weight_decay=0.0)], ignore_index=True)
    df["grokfast_alpha"] = np.where(df["grad_filter"] == "none", np.nan, 0.98)
    c = compare(df, "grad_filter", "none", "grokfast_ema", n_boot=200)
    assert c.strata_by == ("weight_decay",) and c.one_arm == ("grokfast_alpha",)
    assert [s.key for s in c.strata] == [(("weight_decay", 0.0),), (("weight_decay", 1.0),)]
    assert [len(s.pairs) for s in c.strata] == [2, 2]
    pooled = compare(df, "grad_filter", "none", "grokfast_ema", pool=True, n_boot=200)
    assert len(pooled.strata) == 1 and len(pooled.strata[0].pairs) == 4
    assert ("weight_decay", 0.0) in pooled.strata[0].pairs[0].match
    # a run without a partner (a partial sweep) is dropped and counted
    c = compare(df.iloc[:-1], "grad_filter", "none", "grokfast_ema", n_boot=200)
    assert c.unmatched == (1, 0) and sum(len(s.pairs) for s in c.strata) == 3
    # values typed as text are read as the column's type; a stratum column that only repeats
    # another (alpha follows the filter) does not split or label the strata
    by_wd = compare(df, "weight_decay", "0", "1.0", n_boot=50)
    assert by_wd.a == 0.0 and by_wd.strata_by == ("grad_filter",)
    assert [s.key for s in by_wd.strata] == [(("grad_filter", "grokfast_ema"),),
                                             (("grad_filter", "none"),)]


def test_comparison_errors():
    df = _pairs([400, 600], [200, 300])
    with pytest.raises(StatsError, match=r"no run has grad_filter = orthograd; values: "
                                         r"grokfast_ema, none"):
        compare(df, "grad_filter", "none", "orthograd")
    with pytest.raises(StatsError, match=r"--compare: no column 'optimizer'"):
        compare(df, "optimizer", "adamw", "muon")
    with pytest.raises(StatsError, match="are the same grad_filter"):
        compare(df, "grad_filter", "none", "none")
    # the arms also differ in weight decay: no run has a partner
    other = df.assign(weight_decay=np.where(df.grad_filter == "none", 0.0, 1.0))
    with pytest.raises(StatsError, match=r"also differ in weight_decay \(none: 0; "
                                         r"grokfast_ema: 1\).*--where"):
        compare(other, "grad_filter", "none", "grokfast_ema")
    # two runs of an arm with the same other settings: ambiguous
    dup = pd.concat([df, df.iloc[[0]]], ignore_index=True)
    with pytest.raises(StatsError, match="ambiguous"):
        compare(dup, "grad_filter", "none", "grokfast_ema")


# ---------------------------------------------------------------------------------------------
# The command line, end to end
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path):
    """A results folder: grad_filter x weight_decay x 3 seeds, the page's axes in the spec."""
    rows = []
    reach = {("none", 0.1): [300, 500, None], ("none", 1.0): [200, 200, 400],
             ("grokfast_ema", 0.1): [None, None, None], ("grokfast_ema", 1.0): [100, 100, 300]}
    for (f, wd), steps in reach.items():
        for s, at in enumerate(steps):
            rows.append({**_row({"grad_filter": f, "weight_decay": wd, "seed": s,
                                 "data_seed": s}, at),
                         "phase": "grok" if at else "memorize", "sweep": "tiny",
                         "spec_hash": "0123456789abcdef"})
    d = tmp_path / "tiny"
    store.write_part(d, pd.DataFrame(rows))
    store.write_manifest(d, {
        "sweep": "tiny", "spec_hash": "0123456789abcdef", "n_runs": len(rows),
        "grid": {"grad_filter": ["none", "grokfast_ema"], "weight_decay": [0.1, 1.0],
                 "seed": [0, 1, 2]},
        "varying": ["grad_filter", "weight_decay"], "phase_rule": "accuracy",
        "phase_params": {"threshold": 0.9, "delay": 1000},
        "spec": {"report": {"x": "grad_filter", "y": "weight_decay"}}})
    return d


def test_cli_cells_table(folder, capsys):
    assert main(["stats", str(folder), "--boot", "200"]) == 0
    out = capsys.readouterr().out
    assert "12 runs in 4 cells by weight_decay, grad_filter" in " ".join(out.split())
    assert "accuracy rule" in out
    lines = [ln.split() for ln in out.splitlines()]
    # grid order (none before grokfast_ema), the memorize / grok shares with their intervals
    cell = next(ln for ln in lines if ln[:2] == ["0.1", "none"] and "memorize" not in ln)
    assert " ".join(cell[2:]).startswith("3 1/3 = 33% [6, 79] 2/3 = 67% [21, 94]")
    flat = [" ".join(ln) for ln in lines]
    assert "0.1 grokfast_ema 3 0/3 = 0% [0, 56] not reached -" in flat
    assert "0.1 none 3 2/3 = 67% [21, 94] 500 [300, not reached] 400 [300, 500]" in flat


def test_cli_json_and_where(folder, capsys):
    assert main(["stats", str(folder), "--by", "grad_filter", "--where",
                 "weight_decay == 1.0", "--json", "--boot", "200"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["by"] == ["grad_filter"] and data["op"] == ">=" and data["threshold"] == 0.9
    assert data["results"] == str(folder) and data["phase_rule"]["name"] == "accuracy"
    none, ema = data["cells"]
    assert none["key"] == {"grad_filter": "none"} and none["reach"]["k"] == 3
    assert none["median_step"]["value"] == 200 and ema["median_step"]["value"] == 100
    assert main(["stats", str(folder), "--by", "", "--json", "--boot", "50"]) == 0
    (cell,) = json.loads(capsys.readouterr().out)["cells"]
    assert cell["n"] == 12 and cell["reach"]["k"] == 8
    # 8 of 12 reach it: the median exists; with --threshold 0.95 nobody does -> null
    assert main(["stats", str(folder), "--threshold", "0.95", "--json", "--boot", "50"]) == 0
    cells = json.loads(capsys.readouterr().out)["cells"]
    assert all(c["median_step"]["value"] is None and c["median_step"]["reached"] is False
               for c in cells)


def test_cli_compare(folder, capsys):
    assert main(["stats", str(folder), "--compare", "grad_filter=none,grokfast_ema",
                 "--boot", "200"]) == 0
    out = capsys.readouterr().out
    assert "one comparison per weight_decay" in out
    assert "weight_decay=1: 3 pairs" in out
    assert "speed-up per pair: seed 0: 2; seed 1: 2; seed 2: 1.33" in out
    assert "B sooner in 3, A sooner in 0" in out and "p = 0.25" in out
    assert main(["stats", str(folder), "--compare", "grad_filter=none,grokfast_ema",
                 "--where", "weight_decay == 0.1", "--json", "--boot", "50"]) == 0
    (s,) = json.loads(capsys.readouterr().out)["strata"]
    assert s["counts"] == {"both": 0, "a_only": 2, "b_only": 0, "neither": 1}
    assert s["median_speedup"]["value"] == 0.0 and s["sign_test"]["p"] == 0.5


@pytest.mark.parametrize(("argv", "message"), [
    (["--by", "lr"], "--by: no column 'lr'"),
    (["--metric", "train_acc"], "--metric: 'train_acc' is not a logged curve"),
    (["--compare", "grad_filter"], "--compare: 'grad_filter': expected SETTING=A,B"),
    (["--compare", "grad_filter=none,muon"], "no run has grad_filter = muon"),
    (["--compare", "weight_decay=0.1,1", "--where", "(grad_filter == 'none' and weight_decay "
      "== 0.1) or (grad_filter == 'grokfast_ema' and weight_decay == 1.0)"],
     "also differ in grad_filter"),
    (["--where", "weight_decay > 5"], "matched no run"),
    (["--where", "__import__('os')"], "--where"),
    (["--pool"], "--pool needs --compare"),
])
def test_cli_errors_are_one_line_and_exit_2(folder, capsys, argv, message):
    assert main(["stats", str(folder), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    # named: the folder, or (as for plot --where) the command line
    assert err.startswith((f"error: {folder}: ", "error: command line: --where"))


def test_cli_missing_folder(tmp_path, capsys):
    assert main(["stats", str(tmp_path / "nothing")]) == 2
    assert "no results here" in capsys.readouterr().err
