"""Small-scale checks of reproduced claims (docs/reproduction.md); each runs in seconds."""

from pathlib import Path

import jax
import numpy as np

from grokjax import EngineOptions, run_sweep
from grokjax.spec import load_spec
from grokjax.store import load_results

ROOT = Path(__file__).resolve().parent.parent


def _quick(name: str, tmp_path: Path):
    """Run the ``[quick]`` variant of sweeps/NAME.toml (what ``sweep NAME --quick`` runs) in one
    worker and return its rows."""
    spec = load_spec(ROOT / "sweeps" / f"{name}.toml").quick()
    run_sweep(spec, tmp_path / name, options=EngineOptions(workers=1), quiet=True, report=False)
    return load_results(tmp_path / name)


def test_fixed_embedding_model_generalizes_without_grokking(tmp_path):
    """docs/experiments.md §2: the 5-neuron model on a fixed circular embedding reaches 100% test
    accuracy, with test accuracy rising together with train accuracy (no grokking delay).
    [quick]: the x^2 runs of sweeps/modadd_fixed_embed.toml, 2,000 steps, 2 seeds."""
    df = _quick("modadd_fixed_embed", tmp_path)
    assert len(df) == 2
    assert (df["final_test_acc"] == 1.0).all()
    assert (df["phase"] == "generalize").all()  # accuracy rule: train and test rise together
    assert (df["grok_delay"].astype(float).abs() <= 100).all()
    assert np.all(df["n_key_freqs_norm"].apply(lambda c: c[-1]) >= 1)


def test_parity_grid_quick_phases_move_with_weight_decay(tmp_path):
    """docs/experiments.md §3: too little weight decay memorizes, more generalizes, too much fails.
    [quick] of sweeps/parity_grid.toml: hidden 32, 1,000 sequences, 10,000 steps, 2 seeds."""
    df = _quick("parity_grid", tmp_path)
    by = {wd: g for wd, g in df.groupby("weight_decay")}
    assert (by[0.01]["phase"] == "memorize").all()
    assert (by[0.01]["final_test_acc"] < 0.9).all() and (by[0.01]["final_train_acc"] == 1).all()
    assert (by[0.1]["best_test_acc"] >= 0.99).any()  # generalizes (grok or directly)
    assert (by[0.1]["phase"].isin(["grok", "generalize"])).any()
    assert (by[1.0]["phase"] == "fail").all()  # the train loss never gets below 1e-5


def test_parity_l1_prunes_distractors_l2_leaves_small_weights(tmp_path):
    """docs/experiments.md §3: with L1 the featured model generalizes once the weights on the 27
    distracting bits are pruned; L2 generalizes too but leaves many small weights on them.
    [quick] of sweeps/parity_l1_vs_l2.toml: weight decay 0.1, 1 seed (all 30,000 steps:
    the pruning completes at ~20,000)."""
    from grokjax.checkpoints import load_params

    df = _quick("parity_l1_vs_l2", tmp_path)
    by = {r.reg: r for r in df.itertuples()}
    for r in by.values():
        assert r.final_test_acc >= 0.99 and r.train_acc_step_99 < r.test_acc_step_99
    w = {reg: np.abs(load_params(tmp_path / "parity_l1_vs_l2", r.run_id)["W_in"])
         for reg, r in by.items()}
    n_dist = {reg: int((w_[3:30] > 0.01 * w_.max()).sum()) for reg, w_ in w.items()}
    assert n_dist["l1"] == 0  # every distracting weight below 1% of the largest weight
    assert n_dist["l2"] >= 20  # L2: many small weights left on distracting bits
    assert by["l1"].distracting_norm[-1] < 0.1 * by["l2"].distracting_norm[-1]


def test_init_scale_larger_init_delays_generalization(tmp_path):
    """Omnigrok (docs/experiments.md §6): a larger initial weight norm turns direct generalization
    into grokking. [quick] of sweeps/init_scale.toml: init 0.25 vs 8, weight decay 1.0, 2 seeds,
    15,000 steps."""
    df = _quick("init_scale", tmp_path)
    delay = df.pivot_table(index="seed", columns="init_scale", values="grok_delay")
    assert (delay[8.0] > delay[0.25] + 2000).all(), delay
    assert (df[df.init_scale == 8.0]["phase"] == "grok").all()
    assert (df["best_test_acc"] >= 0.9).all()  # all generalize, the large init later


def test_reverse_grokking_test_loss_rises_after_generalizing(tmp_path):
    """docs/experiments.md §6, no weight decay, embed 5, 10 neurons: after test loss reaches its
    minimum it rises again while the training set stays fitted (the model drifts toward memorizing).
    [quick] of sweeps/reverse_grokking.toml: lr 3e-3, 2 seeds (the full 20,000 steps).  The loss
    rise is the claim checked: the accuracy sag it brings is a few points at most and not in
    every run on every host (one x86 host's float32 run ended at its best test accuracy)."""
    df = _quick("reverse_grokking", tmp_path)
    for r in df.itertuples():
        test_loss = np.asarray(r.test_loss)
        assert test_loss[-1] > 1.3 * test_loss.min(), test_loss.min()
        assert r.final_train_acc >= 0.98 and r.best_test_acc >= 0.75


def test_fully_collapsed_model_stays_far_below_factored(tmp_path):
    """docs/experiments.md §1: training W_input and W_output directly (both sides collapsed) does
    not generalize; the factored model does. [quick] of sweeps/modadd_architecture.toml:
    p = 31, tied, L2 weight decay 1.0, lr 3e-3, 8,000 steps, 1 seed."""
    df = _quick("modadd_architecture", tmp_path)
    acc = {(r.input_side, r.output_side): r.best_test_acc for r in df.itertuples()}
    assert acc[("factored", "factored")] >= 0.99
    assert acc[("collapsed", "collapsed")] < 0.5, acc


def test_main_model_memorizes_then_groks_in_float32_and_float64(tmp_path):
    """docs/experiments.md §1: the tied factored model fits its training set within a few hundred
    steps while test accuracy stays near chance, and reaches 90% test accuracy thousands of steps
    later. Quick variant of sweeps/modadd_main.toml (both dtypes): p = 43 on the a <= b pairs,
    60% for training, embed 64, 20,000 steps, 1 seed."""
    df = _quick("modadd_main", tmp_path)
    assert sorted(df["dtype"]) == ["float32", "float64"]
    assert not jax.config.read("jax_enable_x64")  # run_sweep restored the caller's setting
    for r in df.itertuples():
        fit = r.train_acc_step_90
        assert fit <= 1000
        assert np.asarray(r.test_acc)[np.asarray(r.step) == fit][0] < 0.1  # memorized
        assert r.test_acc_step_90 - fit >= 1000 and r.phase == "grok"


def test_transformer_fits_first_then_generalizes_with_a_sparse_embedding(tmp_path):
    """docs/experiments.md §7 (Nanda et al.): the one-layer transformer fits its training pairs
    first, reaches 90% test accuracy hundreds of steps later, and its embedding concentrates on a
    few frequencies.  [quick] of sweeps/transformer_cpu.toml: p = 31, d_model 32, 60% train,
    2,000 full-batch steps, 1 seed (measured: train >= 0.9 at step 300, test at 1,100; by
    the accuracy rule's 10^3-step delay this is "generalize", not "grok")."""
    df = _quick("transformer_cpu", tmp_path)
    r = df.iloc[0]
    assert r.final_train_acc == 1.0 and r.final_test_acc >= 0.95
    assert r.test_acc_step_90 - r.train_acc_step_90 >= 500
    steps = np.asarray(r.step)
    at_fit = int(np.flatnonzero(steps == r.train_acc_step_90)[0])
    # When it fits, test accuracy is at most the mirror plateau: ~60% of the test pairs (b, a)
    # have their mirror (a, b) in a 60% training set, and a + b = b + a is learnt first
    # (docs/reproduction.md); measured 0.59 at the fit step, 0.99 at the end.
    assert np.asarray(r.test_acc)[at_fit] < 0.7
    top4 = np.asarray(r.top4_share_in)
    assert top4[-1] > 2 * top4[0] and top4[-1] > 0.7
