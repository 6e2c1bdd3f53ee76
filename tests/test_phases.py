"""Phase classification on hand-made curves: every phase, both rules, boundaries, NaNs, frames."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from grokjax import phases
from grokjax.errors import SpecError
from grokjax.phases import (
    PHASES,
    RULES,
    AccuracyRule,
    LossRule,
    classify_frame,
    classify_row,
    first_step,
    forgot,
    loss_stats,
    rule_from_cli,
    rule_from_options,
)

STEPS = np.arange(201) * 100  # 201 log points, every 100 steps, 0 .. 20,000
HI, LO = 2.0, 1e-9
LOSS, ACC = LossRule(), AccuracyRule()


def _fall(start: int, end: int, hi: float, lo: float, steps=STEPS) -> np.ndarray:
    """hi until ``start``, lo from ``end``, log-linear in between (float32)."""
    frac = np.clip((steps - start) / max(end - start, 1), 0.0, 1.0)
    return np.exp(np.log(hi) + frac * (np.log(lo) - np.log(hi))).astype(np.float32)


def _rise(start: int, end: int, lo: float, hi: float = 1.0, steps=STEPS) -> np.ndarray:
    """Accuracy: lo until ``start``, hi from ``end``, linear in between (float32)."""
    frac = np.clip((steps - start) / max(end - start, 1), 0.0, 1.0)
    return (lo + frac * (hi - lo)).astype(np.float32)


def _run(train_loss, test_loss, train_acc, test_acc, *, diverged=False, steps=STEPS) -> dict:
    nan = np.flatnonzero(np.isnan(train_loss))
    return dict(step=np.asarray(steps), train_loss=train_loss, test_loss=test_loss,
                train_acc=train_acc, test_acc=test_acc, diverged=diverged,
                nan_step=int(steps[nan[0]]) if diverged and nan.size else None)


def grok_run(t_test: int = 15_000) -> dict:
    # train fitted by step 500, test loss high until t_test, then falls within 1000 steps
    return _run(_fall(0, 500, HI, LO), _fall(t_test, t_test + 1000, HI, LO),
                _rise(0, 500, 0.1), _rise(t_test, t_test + 1000, 0.02))


def generalize_run() -> dict:
    return _run(_fall(0, 3000, HI, LO), _fall(0, 3000, HI, LO),
                _rise(0, 3000, 0.1), _rise(0, 3000, 0.02))


def memorize_run() -> dict:
    return _run(_fall(0, 500, HI, LO), _fall(0, 500, HI, 0.7),
                _rise(0, 500, 0.1), _rise(0, 500, 0.02, 0.3))


def fail_run() -> dict:
    flat = np.full(len(STEPS), 0.5, dtype=np.float32)
    return _run(flat, flat.copy(), flat.copy(), flat.copy())


def diverged_run(k: int = 120) -> dict:
    r = grok_run()
    for c in ("train_loss", "test_loss", "train_acc", "test_acc"):
        r[c] = r[c].copy()
        r[c][k:] = np.nan
    r.update(diverged=True, nan_step=int(STEPS[k]))
    return r


def forgot_run() -> dict:
    """Generalizes (both fitted by 3000), then the test set is forgotten from step 10,000."""
    r = generalize_run()
    late = STEPS >= 10_000
    r["test_loss"] = np.where(late, np.float32(3.0), r["test_loss"]).astype(np.float32)
    r["test_acc"] = np.where(late, np.float32(0.2), r["test_acc"]).astype(np.float32)
    return r


def nan_middle_run() -> dict:
    """A grok run with NaN logs at steps 5,000-6,000 that recovered (not diverged)."""
    r = grok_run()
    for c in ("train_loss", "test_loss", "train_acc", "test_acc"):
        r[c] = r[c].copy()
        r[c][50:61] = np.nan
    return r


CASES = {  # name -> (run, loss-rule phase, accuracy-rule phase)
    "grok": (grok_run(), "grok", "grok"),
    "generalize": (generalize_run(), "generalize", "generalize"),
    "memorize": (memorize_run(), "memorize", "memorize"),
    "fail": (fail_run(), "fail", "fail"),
    "diverged": (diverged_run(), "diverged", "diverged"),
    # the late test loss 3.0 over the floored train loss is a ratio >= 5e4: 'grok' for the loss
    # rule (order of steps is ignored); accuracies rose together: 'generalize' for accuracy
    "forgot": (forgot_run(), "grok", "generalize"),
    "nan_middle": (nan_middle_run(), "grok", "grok"),
}


# ---------------------------------------------------------------------------------------------
# Each phase under both rules
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_each_phase_both_rules(name):
    run, loss_phase, acc_phase = CASES[name]
    assert classify_row(LOSS, run) == loss_phase
    assert classify_row(ACC, run) == acc_phase
    assert classify_row(LOSS, pd.Series(run)) == loss_phase  # a DataFrame row works too


def test_phases_and_rules_constants():
    assert PHASES == ("memorize", "grok", "generalize", "fail", "diverged")
    assert list(RULES) == ["loss", "accuracy"]
    assert RULES["loss"] is LossRule and RULES["accuracy"] is AccuracyRule
    assert LOSS.name == "loss" and ACC.name == "accuracy"
    assert LOSS.params() == {"min_train": 1e-5, "min_test": 1e-5, "ratio": 5e4,
                             "floor": 1.1920929e-07}
    assert ACC.params() == {"threshold": 0.9, "delay": 1000}


def test_grok_depends_on_when_test_falls():
    # Test accuracy reaches 0.9 at t+900: the gap to train (step 500) decides the accuracy rule.
    assert classify_row(ACC, grok_run(t_test=0)) == "generalize"  # gap 400 < 1000
    assert classify_row(ACC, grok_run(t_test=600)) == "grok"  # gap 1000: not < 1000
    # the loss rule: test 2.0 over train at the floor is far above 5e4 whenever test lags
    assert classify_row(LOSS, grok_run(t_test=600)) == "grok"


def test_diverged_flag_wins_over_curves():
    r = generalize_run()
    r["diverged"] = True  # curves look fine, but the engine says it diverged
    assert classify_row(LOSS, r) == classify_row(ACC, r) == "diverged"
    # NaN tail without the flag: classified from the finite part
    d = diverged_run(k=180)  # NaN from 18,000, after grokking at ~16,000
    d["diverged"] = False
    assert classify_row(LOSS, d) == "grok"
    d["diverged"] = None  # missing flag = not diverged
    assert classify_row(ACC, d) == "grok"


def test_all_nan_run_fails_unless_diverged():
    nan = np.full(len(STEPS), np.nan, dtype=np.float32)
    r = _run(nan, nan, nan, nan)
    assert classify_row(LOSS, r) == classify_row(ACC, r) == "fail"
    assert loss_stats(nan, nan) == pytest.approx((np.nan, np.nan, np.nan), nan_ok=True)
    r["diverged"] = True
    assert classify_row(LOSS, r) == "diverged"


def test_nan_in_either_loss_ignores_the_step():
    r = generalize_run()
    r["train_loss"] = r["train_loss"].copy()
    r["test_loss"] = r["test_loss"].copy()
    # step 100: train NaN while test spikes (ratio would be huge) -> ignored
    r["train_loss"][100], r["test_loss"][100] = np.nan, 5.0
    assert classify_row(LOSS, r) == "generalize"
    assert loss_stats(r["train_loss"], r["test_loss"])[2] == pytest.approx(1.0)
    # the same spike with a finite train loss counts
    r["train_loss"][100] = LO
    assert classify_row(LOSS, r) == "grok"


# ---------------------------------------------------------------------------------------------
# Reverse grokking: the forgot flag
# ---------------------------------------------------------------------------------------------


def test_forgot_flag():
    assert forgot(forgot_run()["test_acc"]) is True
    for name in ("grok", "generalize", "memorize", "fail", "diverged", "nan_middle"):
        assert forgot(CASES[name][0]["test_acc"]) is False, name
    # the final *finite* value counts: a NaN tail after reaching 0.9 is not forgetting
    assert forgot(np.array([0.1, 0.95, np.nan])) is False
    assert forgot(np.array([0.1, 0.95, 0.5, np.nan])) is True
    assert forgot(np.array([0.1, 0.95, 0.5]), threshold=0.99) is False  # never reached 0.99
    assert forgot(np.array([np.nan, np.nan])) is False
    # documented: the phase comes from the whole history, forgot finds the regressions
    assert "forgot" in phases.__doc__ and "whole" in phases.__doc__


# ---------------------------------------------------------------------------------------------
# Boundaries: '>' for the min tests, '<' for ratio and delay, '>=' for accuracy
# ---------------------------------------------------------------------------------------------


def _flat_run(train, test, n=5, dtype=np.float64) -> dict:
    tr = np.full(n, train, dtype=dtype)
    te = np.full(n, test, dtype=dtype)
    acc = np.zeros(n, dtype=dtype)
    return _run(tr, te, acc, acc, steps=np.arange(n) * 100)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_min_train_and_min_test_boundaries(dtype):
    thr = 1e-5
    above = float(np.nextafter(dtype(thr), dtype(1)))
    # min train loss exactly at min_train passes (fail needs '>')
    assert classify_row(LOSS, _flat_run(thr, 1e-9, dtype=dtype)) != "fail"
    assert classify_row(LOSS, _flat_run(above, 1e-9, dtype=dtype)) == "fail"
    # min test loss exactly at min_test passes (memorize needs '>')
    assert classify_row(LOSS, _flat_run(1e-9, thr, dtype=dtype)) != "memorize"
    assert classify_row(LOSS, _flat_run(1e-9, above, dtype=dtype)) == "memorize"


def test_thresholds_compared_at_curve_precision():
    # float32(0.1) and float32(0.3) round *up*: a float32 curve equal to them reaches them
    rule = LossRule(min_train=0.1, min_test=0.1)
    assert float(np.float32(0.1)) > 0.1 and float(np.float32(0.3)) > 0.3
    assert classify_row(rule, _flat_run(0.1, 0.1, dtype=np.float32)) == "generalize"
    assert classify_row(rule, _flat_run(0.1, 0.1, dtype=np.float64)) == "generalize"
    steps = np.arange(3) * 100
    acc = np.array([0.0, 0.3, 0.3], dtype=np.float32)
    assert first_step(steps, acc, 0.3) == 100
    assert forgot(np.array([0.3, 0.2], dtype=np.float32), threshold=0.3) is True


def test_ratio_boundary():
    rule = LossRule(ratio=2.0**16)
    tr = np.full(5, 2.0**-20)  # above the floor (~2**-23): no clipping involved
    te = np.full(5, 2.0**-20)
    te[1] = 2.0**-4  # ratio exactly 2**16 at one step
    acc = np.zeros(5)
    r = _run(tr, te, acc, acc, steps=np.arange(5))
    assert loss_stats(tr, te)[2] == 2.0**16
    assert classify_row(rule, r) == "grok"  # generalize needs max ratio '<' ratio
    te[1] = np.nextafter(2.0**-4, 0)
    assert classify_row(rule, r) == "generalize"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_accuracy_threshold_boundary(dtype):
    steps = np.arange(4) * 100
    exact = np.array([0.0, 0.9, 0.9, 0.9], dtype=dtype)  # reaches 0.9 exactly ('>=')
    below = np.array([0.0] + [float(np.nextafter(dtype(0.9), dtype(0)))] * 3, dtype=dtype)
    assert first_step(steps, exact, 0.9) == 100
    assert first_step(steps, below, 0.9) is None
    loss = np.full(4, 1.0, dtype=dtype)
    assert classify_row(ACC, _run(loss, loss, exact, below, steps=steps)) == "memorize"
    assert classify_row(ACC, _run(loss, loss, below, below, steps=steps)) == "fail"
    assert classify_row(ACC, _run(loss, loss, exact, exact, steps=steps)) == "generalize"


def test_delay_boundary_and_order():
    steps = STEPS
    train_acc = np.where(steps >= 500, 1.0, 0.0)
    test_acc = np.where(steps >= 1500, 1.0, 0.0)  # gap exactly 1000
    loss = np.ones(len(steps))
    r = _run(loss, loss, train_acc, test_acc)
    assert first_step(steps, train_acc, 0.9) == 500
    assert first_step(steps, test_acc, 0.9) == 1500
    assert classify_row(AccuracyRule(delay=1000), r) == "grok"  # '<' delay is generalize
    assert classify_row(AccuracyRule(delay=1001), r) == "generalize"
    # test first (negative gap) -> generalize; only test -> fail ("confusion")
    r2 = _run(loss, loss, test_acc, train_acc)
    assert classify_row(ACC, r2) == "generalize"
    r3 = _run(loss, loss, np.zeros(len(steps)), test_acc)
    assert classify_row(ACC, r3) == "fail"


# ---------------------------------------------------------------------------------------------
# The loss floor (docs/experiments.md §4)
# ---------------------------------------------------------------------------------------------


def test_floor_effect_on_a_generalizing_run():
    # Both losses fall together (log-linearly); the float-exact train loss reaches 1e-12 at step
    # 4000 while the test loss is ~4e-7 there, then reaches 1e-8 at step 5000.
    train = _fall(0, 4000, 1.0, 1e-12)
    test = _fall(0, 5000, 1.0, 1e-8)
    acc = _rise(0, 4000, 0.1)
    r = _run(train, test, acc, acc)
    assert float(train.min()) == pytest.approx(1e-12, rel=1e-5)  # representable in float32
    assert float(test[-1]) == pytest.approx(1e-8, rel=1e-5)
    assert classify_row(LOSS, r) == "generalize"  # default floor 1.19e-7
    assert classify_row(LossRule(floor=0.0), r) == "grok"  # exact losses: ratio ~4e5
    min_tr, min_te, ratio = loss_stats(train, test)
    assert min_tr == pytest.approx(1.1920929e-07) and min_te == pytest.approx(1.1920929e-07)
    assert ratio < 5e4
    assert loss_stats(train, test, floor=0.0)[2] > 5e4
    # final values alone: 1e-8 / 1e-12 = 1e4 < 5e4 -- it is the lag during the fall that counts
    assert float(test[-1] / train[-1]) < 5e4


def test_floor_zero_with_exact_zero_losses():
    # floor=0: a loss of exactly 0 is possible; equal losses (0/0) count as ratio 1, x/0 as inf
    rule = LossRule(floor=0.0)
    zero = np.array([1.0, 0.0, 0.0])
    r = _run(zero, zero.copy(), np.zeros(3), np.zeros(3), steps=np.arange(3))
    assert loss_stats(zero, zero, floor=0.0) == (0.0, 0.0, 1.0)
    assert classify_row(rule, r) == "generalize"
    r["test_loss"] = np.array([1.0, 1e-3, 0.0])
    assert loss_stats(r["train_loss"], r["test_loss"], floor=0.0)[2] == np.inf
    assert classify_row(rule, r) == "grok"


def test_floor_grok_threshold_is_floor_times_ratio():
    # train at the floor; the test loss at that step decides: >= floor*ratio (~6e-3) -> grok
    edge = 1.1920929e-07 * 5e4
    for test_value, phase in ((edge * 1.01, "grok"), (edge * 0.99, "generalize")):
        tr = np.array([1.0, 1e-10, 1e-10])
        te = np.array([1.0, test_value, 1e-10])
        r = _run(tr, te, np.zeros(3), np.zeros(3), steps=np.arange(3))
        assert classify_row(LOSS, r) == phase
    assert "6e-3" in phases.__doc__ or "6.0e-3" in phases.__doc__


# ---------------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------------


def _frame(runs: list[dict], index=None) -> pd.DataFrame:
    return pd.DataFrame(runs, index=index)


def test_classify_frame_mixed():
    names = list(CASES)
    df = _frame([CASES[n][0] for n in names], index=[f"run-{n}" for n in names])
    df["phase"] = "stale"  # overwritten
    before = df.copy()
    for rule, col in ((LOSS, 1), (ACC, 2)):
        out = classify_frame(df, rule)
        assert list(out.index) == list(df.index)
        assert list(out["phase"]) == [CASES[n][col] for n in names]
        assert set(out["phase_rule"]) == {rule.name}
        assert json.loads(out["phase_params"].iloc[0]) == rule.params()
        assert list(out["forgot"]) == [n == "forgot" for n in names]
        assert out["forgot"].dtype == bool
        for i, n in enumerate(names):
            run = CASES[n][0]
            assert classify_row(rule, run) == out["phase"].iloc[i]
            expect = loss_stats(run["train_loss"], run["test_loss"])  # default floor either way
            got = tuple(out[c].iloc[i] for c in ("min_train_loss", "min_test_loss",
                                                 "max_loss_ratio"))
            assert got == pytest.approx(expect, nan_ok=True)
    pd.testing.assert_frame_equal(df, before)  # the input is not modified
    assert classify_frame(df)["phase_rule"].iloc[0] == "loss"  # default rule


def test_classify_frame_stats_use_the_rule_floor():
    df = _frame([generalize_run()])
    default = classify_frame(df, LOSS)
    exact = classify_frame(df, LossRule(floor=0.0))
    assert default["min_train_loss"].iloc[0] == pytest.approx(1.1920929e-07)
    assert exact["min_train_loss"].iloc[0] == pytest.approx(LO, rel=1e-5)
    assert json.loads(exact["phase_params"].iloc[0])["floor"] == 0.0


def test_classify_frame_ragged_lengths():
    short_steps = np.arange(101) * 200  # 101 points every 200 steps, as lists
    short = _run(_fall(0, 600, HI, LO, short_steps), _fall(0, 600, HI, 0.7, short_steps),
                 _rise(0, 600, 0.1, steps=short_steps),
                 _rise(0, 600, 0.02, 0.3, steps=short_steps), steps=short_steps)
    short = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in short.items()}
    tiny = _run(np.array([1e-9]), np.array([1e-9]), np.array([1.0]), np.array([1.0]),
                steps=np.array([0]))
    empty = _run(np.array([]), np.array([]), np.array([]), np.array([]), steps=np.array([]))
    runs = [grok_run(), short, generalize_run(), tiny, empty, fail_run()]
    out = classify_frame(_frame(runs), LOSS)
    assert list(out["phase"]) == ["grok", "memorize", "generalize", "generalize", "fail", "fail"]
    out = classify_frame(_frame(runs), ACC)
    assert list(out["phase"]) == ["grok", "memorize", "generalize", "generalize", "fail", "fail"]


def test_classify_frame_rejects_bad_frames():
    r = grok_run()
    r["test_acc"] = r["test_acc"][:-1]
    with pytest.raises(ValueError, match="test_acc"):
        classify_frame(_frame([grok_run(), r]))
    with pytest.raises(ValueError, match="train_acc"):
        classify_frame(_frame([grok_run()]).drop(columns="train_acc"))
    empty = classify_frame(_frame([grok_run()]).iloc[:0])
    assert len(empty) == 0 and "phase" in empty.columns


def test_vectorised_matches_per_row():
    rng = np.random.default_rng(0)
    n = 20_000
    kinds = rng.integers(0, 5, n)
    t_test = rng.integers(20, 150, n) * 100  # grok time varies per run
    runs, expect = [], []
    for kind, t in zip(kinds, t_test, strict=True):
        if kind == 0:
            runs.append(grok_run(int(t)))
            expect.append("grok")
        elif kind == 1:
            runs.append(generalize_run())
            expect.append("generalize")
        elif kind == 2:
            runs.append(memorize_run())
            expect.append("memorize")
        elif kind == 3:
            runs.append(fail_run())
            expect.append("fail")
        else:
            runs.append(diverged_run(int(t) // 100))
            expect.append("diverged")
    df = _frame(runs)
    t0 = time.perf_counter()
    out_loss = classify_frame(df, LOSS)
    out_acc = classify_frame(df, ACC)
    elapsed = time.perf_counter() - t0
    assert list(out_loss["phase"]) == expect
    assert list(out_acc["phase"]) == expect
    for i in rng.choice(n, 200, replace=False):
        assert classify_row(LOSS, df.iloc[i]) == out_loss["phase"].iloc[i]
        assert classify_row(ACC, df.iloc[i]) == out_acc["phase"].iloc[i]
    assert elapsed < 20  # ~1 s expected; generous for slow CI machines


# ---------------------------------------------------------------------------------------------
# Building rules from [phases] tables and the command line
# ---------------------------------------------------------------------------------------------


def test_rule_from_options_valid():
    assert rule_from_options({}) == LossRule()
    assert rule_from_options({"rule": "loss", "ratio": 1e4}) == LossRule(ratio=1e4)
    assert rule_from_options({"ratio": 10_000}).ratio == 1e4  # TOML integer accepted
    assert rule_from_options({"floor": 0}) == LossRule(floor=0.0)
    r = rule_from_options({"rule": "accuracy", "threshold": 0.95, "delay": 500})
    assert r == AccuracyRule(threshold=0.95, delay=500)
    d = rule_from_options({"rule": "accuracy", "delay": 2000.0, "threshold": 1})
    assert d.delay == 2000 and isinstance(d.delay, int) and d.threshold == 1.0


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"rule": "entropy"}, "rule"),
        ({"rule": 3}, "rule"),
        ({"treshold": 0.9}, "treshold"),
        ({"threshold": 0.9}, "threshold"),  # not a key of the loss rule
        ({"rule": "accuracy", "ratio": 1e4}, "ratio"),  # not a key of the accuracy rule
        ({"ratio": "big"}, "ratio"),
        ({"ratio": True}, "ratio"),
        ({"ratio": 0}, "ratio"),
        ({"ratio": float("nan")}, "ratio"),
        ({"ratio": float("inf")}, "ratio"),
        ({"min_train": -1e-5}, "min_train"),
        ({"min_test": 0.0}, "min_test"),
        ({"floor": -1.0}, "floor"),
        ({"floor": 1e-3}, "floor"),  # above min_train: every run would fail
        ({"rule": "accuracy", "threshold": 0}, "threshold"),
        ({"rule": "accuracy", "threshold": 1.5}, "threshold"),
        ({"rule": "accuracy", "threshold": [0.9]}, "threshold"),
        ({"rule": "accuracy", "delay": 500.5}, "delay"),
        ({"rule": "accuracy", "delay": 0}, "delay"),
        ({"rule": "accuracy", "delay": -100}, "delay"),
        ({"rule": "accuracy", "delay": "1000"}, "delay"),
    ],
)
def test_rule_from_options_errors(options, key):
    with pytest.raises(SpecError) as info:
        rule_from_options(options, source="sweeps/x.toml")
    err = info.value
    assert err.source == "sweeps/x.toml"
    assert err.key == f"[phases] {key}"
    assert key in str(err) and "allowed" in err.message


def test_rule_from_cli():
    assert rule_from_cli("accuracy", {"delay": "500", "threshold": "0.95"}) == AccuracyRule(
        threshold=0.95, delay=500)
    assert rule_from_cli("loss", {"ratio": "1e4"}) == LossRule(ratio=1e4)
    assert rule_from_cli("loss", {}) == LossRule()
    with pytest.raises(SpecError) as info:
        rule_from_cli("accuracy", {"delay": "soon"})
    assert info.value.source == "command line" and info.value.key == "[phases] delay"
    with pytest.raises(SpecError, match="rule"):
        rule_from_cli("ratio", {})
