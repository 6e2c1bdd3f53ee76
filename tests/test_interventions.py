"""Interventions (Grokfast, orthograd, StableMax, Muon) and the stability telemetry: exact math
on hand cases, against optax, vmapped == alone, segmented == uninterrupted, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from grokjax import SpecError, group_runs, parse_spec, train_chunk
from grokjax.filters import grokfast_ema, grokfast_ma, orthograd
from grokjax.normalisers import log_stablemax, softmax_collapsed, stablemax_s
from grokjax.registry import describe_settings
from grokjax.spec import resolve
from grokjax.static import HParams, Static
from grokjax.train import init_state, make_data, metric_names, train, train_loss, train_step


def _cfg(task, **kw):
    cfg = resolve(task, kw)
    cfg["run_id"] = str(sorted(kw.items()))
    return cfg


def _alone(cfg, **static_kw):
    static = Static.from_config(cfg).replace(**static_kw)
    res = jax.jit(train, static_argnums=0)(static, HParams.from_config(cfg, static.dtype))
    return {k: np.asarray(v) for k, v in res.curves.items()}


def _run(tx, grads, params):
    state, outs = tx.init(params), []
    for g in grads:
        out, state = tx.update(g, state, params)
        outs.append(np.asarray(out))
    return outs


def test_grokfast_ema_over_three_hand_written_gradients():
    """h starts at g1; h <- a h + (1 - a) g; output g + lambda h (alpha 0.5, lambda 2)."""
    g1, g2, g3 = (jnp.array([1.0, -2.0]), jnp.array([3.0, 0.0]), jnp.array([-1.0, 4.0]))
    outs = _run(grokfast_ema(jnp.float32(0.5), jnp.float32(2.0)), [g1, g2, g3], jnp.zeros(2))
    h1 = np.array([1.0, -2.0])  # the first gradient
    h2 = 0.5 * h1 + 0.5 * np.array([3.0, 0.0])  # [2, -1]
    h3 = 0.5 * h2 + 0.5 * np.array([-1.0, 4.0])  # [0.5, 1.5]
    np.testing.assert_array_equal(outs[0], [1 + 2 * 1, -2 + 2 * -2])
    np.testing.assert_array_equal(outs[1], np.array([3.0, 0.0]) + 2 * h2)
    np.testing.assert_array_equal(outs[2], np.array([-1.0, 4.0]) + 2 * h3)


def test_grokfast_ma_waits_for_a_full_window_then_averages_a_ring():
    """Window 2, lambda 3: g unchanged until two gradients are in, then g + 3 mean(last 2)."""
    gs = [jnp.array([1.0]), jnp.array([3.0]), jnp.array([7.0]), jnp.array([-1.0])]
    outs = _run(grokfast_ma(2, jnp.float32(3.0)), gs, jnp.zeros(1))
    np.testing.assert_array_equal(np.concatenate(outs),
                                  [1.0, 3 + 3 * 2.0, 7 + 3 * 5.0, -1 + 3 * 3.0])


def test_orthograd_is_orthogonal_to_w_with_the_norm_of_g():
    kw, kg = jax.random.split(jax.random.key(0))
    w = {"A": jax.random.normal(kw, (5, 3)), "b": jnp.array([1.0, 2.0, 2.0])}
    g = {"A": jax.random.normal(kg, (5, 3)), "b": jnp.array([1.0, 0.0, 0.0])}
    (out,) = [o for o, _ in [orthograd().update(g, optax.EmptyState(), w)]]
    for k in w:
        wk, gk, ok = (np.asarray(x[k], np.float64).ravel() for x in (w, g, out))
        assert abs(ok @ wk) < 1e-5 * np.linalg.norm(wk) * np.linalg.norm(gk)
        np.testing.assert_allclose(np.linalg.norm(ok), np.linalg.norm(gk), rtol=1e-6)
        perp = gk - (wk @ gk) / (wk @ wk) * wk
        np.testing.assert_allclose(ok, perp * np.linalg.norm(gk) / np.linalg.norm(perp),
                                   rtol=1e-5, atol=1e-7)
    # b: g = e1, w = (1, 2, 2): g_perp = e1 - w/9 = (8, -2, -2)/9, norm sqrt(72)/9
    np.testing.assert_allclose(out["b"], np.array([8.0, -2, -2]) / np.sqrt(72), rtol=1e-6)


def test_stablemax_values_and_its_cross_entropy_equal_the_hand_formula():
    x = jnp.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(stablemax_s(x), [1 / 4, 1 / 2, 1, 1.5, 3], rtol=1e-7)
    s = np.array([1 / 4, 1 / 2, 1, 1.5, 3])
    np.testing.assert_allclose(log_stablemax(x[None])[0], np.log(s / s.sum()), rtol=1e-6)
    cfg = _cfg("modular", p=5, hidden=4, embed=3, normaliser="stablemax")
    static = Static.from_config(cfg)
    logits = jnp.array([[-3.0, -1.0, 0.0, 0.5, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    loss, correct = static.components.task.loss(static, logits, jnp.array([4, 1]))
    np.testing.assert_allclose(loss, [-np.log(3 / s.sum()), -np.log(1 / 5)], rtol=1e-6)
    np.testing.assert_array_equal(correct, [True, False])


def test_softmax_normaliser_gives_the_same_floats_as_logsumexp_minus_the_target():
    static = Static.from_config(_cfg("modular", p=7, hidden=4, embed=3))
    logits = jax.random.normal(jax.random.key(3), (9, 7)) * 30
    y = jnp.arange(9) % 7
    loss, _ = static.components.task.loss(static, logits, y)
    ref = jax.nn.logsumexp(logits, axis=-1) - logits[jnp.arange(9), y]
    np.testing.assert_array_equal(loss, ref)


def test_softmax_collapse_is_an_exact_sum_of_one():
    logits = jnp.array([[0.0, -200.0, -120.0], [0.0, -1.0, -5.0], [50.0, 30.0, 0.0]])
    np.testing.assert_array_equal(softmax_collapsed(logits), [True, False, True])


def test_muon_equals_optax_contrib_muon_alone():
    """With the L2 penalty, grokjax's muon == optax.contrib.muon(lr, weight_decay = wd on the
    matrices, adam_weight_decay = wd on the vector) over two steps of real gradients."""
    cfg = _cfg("parity", n=8, k=2, hidden=5, train_size=40, test_size=10, steps=10,
               log_every=5, optimizer="muon", lr=0.02, weight_decay=0.3, muon_beta=0.9,
               beta1=0.8, beta2=0.95, eps=1e-6)
    static = Static.from_config(cfg)
    hp = HParams.from_config(cfg, static.dtype)
    data = make_data(static, hp.data_seed)
    state = init_state(static, hp, data)
    ref = optax.contrib.muon(0.02, beta=0.9, eps=1e-6, weight_decay=0.3, adam_b1=0.8,
                             adam_b2=0.95, adam_weight_decay=0.3)
    params, ref_state = state.params, ref.init(state.params)
    assert state.params["W_in"].ndim == 2 and state.params["w_out"].ndim == 1
    for _ in range(2):
        grads = jax.grad(train_loss)(params, static, data, hp)
        updates, ref_state = ref.update(grads, ref_state, params)
        params = optax.apply_updates(params, updates)
        state = train_step(static, hp, data, state)
    for name in params:
        np.testing.assert_allclose(state.params[name], params[name], rtol=2e-5, atol=1e-7)


def test_telemetry_values_of_a_hand_checked_state_and_off_changes_nothing_else():
    cfg = _cfg("modular", p=7, hidden=4, embed=3, steps=20, log_every=10, seed=1)
    on, off = _alone(cfg, progress=False), _alone(cfg, progress=False, telemetry=False)
    assert set(on) - set(off) == {"zero_loss_frac", "softmax_collapse_frac", "grad_cos",
                                  "norm_E", "norm_W_in", "norm_W_out"}
    for k in off:
        np.testing.assert_array_equal(on[k], off[k])
    static = Static.from_config(cfg)
    hp = HParams.from_config(cfg, static.dtype)
    data = make_data(static, hp.data_seed)
    p0 = init_state(static, hp, data).params
    g = jax.grad(train_loss)(p0, static, data, hp)
    flat = lambda t: np.concatenate([np.asarray(x, np.float64).ravel()  # noqa: E731
                                     for x in jax.tree.leaves(t)])
    cos = flat(g) @ flat(p0) / np.linalg.norm(flat(g)) / np.linalg.norm(flat(p0))
    np.testing.assert_allclose(on["grad_cos"][0], cos, rtol=1e-4)
    np.testing.assert_allclose(on["norm_W_in"][0], np.linalg.norm(p0["W_in"]), rtol=1e-6)
    assert on["zero_loss_frac"][0] == 0 and on["softmax_collapse_frac"][0] == 0


def test_parity_has_no_softmax_collapse_curve_but_the_generic_telemetry():
    static = Static.from_config(_cfg("parity", n=6, k=2, hidden=4, train_size=20,
                                     test_size=10, steps=10, log_every=5))
    names = metric_names(static)
    assert "grad_cos" in names and "norm_W_in" in names and "norm_w_out" in names
    assert "softmax_collapse_frac" not in names


PARITY = dict(n=8, k=2, hidden=6, train_size=40, test_size=20, steps=80, log_every=20)
MODULAR = dict(p=7, hidden=4, embed=5, steps=80, log_every=20)
# name -> (task, base settings, three runs' own settings, telemetry on)
INTERVENTIONS = {
    "grokfast_ema": ("parity", PARITY, [dict(grad_filter="grokfast_ema", grokfast_alpha=a,
                                             grokfast_lambda=lam)
                                        for a, lam in ((0.98, 2.0), (0.9, 5.0), (0.5, 0.0))],
                     True),
    "grokfast_ma": ("parity", PARITY, [dict(grad_filter="grokfast_ma", grokfast_window=3,
                                            grokfast_lambda=lam) for lam in (5.0, 1.0, 0.0)],
                    False),
    "orthograd": ("parity", PARITY, [dict(grad_filter="orthograd", eps=e)
                                     for e in (1e-8, 1e-30, 1e-6)], False),
    "muon": ("parity", PARITY, [dict(optimizer="muon", muon_beta=b, lr=lr) for b, lr in
                                ((0.95, 1e-2), (0.8, 3e-3), (0.5, 1e-3))], False),
    "stablemax": ("modular", MODULAR, [dict(normaliser="stablemax")] * 3, True),
}


@pytest.mark.parametrize("name", list(INTERVENTIONS))
def test_intervention_in_a_vmapped_chunk_of_segments_equals_the_run_alone(name):
    """Three runs (seeds, weight decays and the intervention's own numbers differ) trained as
    one vmapped chunk in four segments (the filter state crosses the host loop, as when a sweep
    resumes between segments) equal each run trained alone in one uninterrupted program."""
    task, base, runs, tele = INTERVENTIONS[name]
    configs = [_cfg(task, **base, **kw, seed=i, data_seed=0, weight_decay=0.1 * (i + 1))
               for i, kw in enumerate(runs)]
    for static, members in group_runs(configs, bucket_train_size=False).items():
        static = static.replace(progress=False, telemetry=tele)  # compile less
        res = train_chunk(static, members, segment_steps=20)
        assert not res.diverged.any()
        for i, cfg in enumerate(members):
            alone = _alone(cfg, progress=False, telemetry=tele)
            assert set(alone) == set(res.curves)
            for k in alone:
                np.testing.assert_allclose(res.curves[k][i], alone[k], rtol=2e-4, atol=1e-6,
                                           err_msg=f"{k} of {name} run {i}")


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_orthograd_acts_on_the_raw_gradient_before_the_penalty(optimizer):
    """sgd: w - lr (g_perp + wd w); adam (penalty in the gradient): the first Adam step of
    g_perp + wd w, i.e. -lr sign(g_perp + wd w) -- the weight decay is not projected away."""
    cfg = _cfg("modular", p=7, hidden=4, embed=3, optimizer=optimizer, grad_filter="orthograd",
               lr=0.1, weight_decay=0.2)
    static = Static.from_config(cfg)
    hp = HParams.from_config(cfg, static.dtype)
    data = make_data(static, hp.data_seed)
    s0 = init_state(static, hp, data)
    grads = jax.grad(train_loss)(s0.params, static, data, hp)
    s1 = train_step(static, hp, data, s0)
    for name, w in s0.params.items():
        w, g = np.asarray(w, np.float64), np.asarray(grads[name], np.float64)
        perp = g - (w.ravel() @ g.ravel()) / (w.ravel() @ w.ravel()) * w
        d = perp * np.linalg.norm(g) / np.linalg.norm(perp) + 0.2 * w
        step = d if optimizer == "sgd" else d / (np.abs(d) + 1e-8)
        np.testing.assert_allclose(s1.params[name], w - 0.1 * step, rtol=2e-4, atol=1e-6)


def test_filter_off_keeps_the_optimizer_state_unchanged():
    """grad_filter none adds nothing: the state is AdamW's own (old checkpoints stay valid)."""
    cfg = _cfg("modular", p=7, hidden=4, embed=3)
    static = Static.from_config(cfg)
    hp = HParams.from_config(cfg, static.dtype)
    s = init_state(static, hp, make_data(static, hp.data_seed))
    ref = optax.chain(optax.scale_by_adam(), optax.add_decayed_weights(1.0),
                      optax.scale_by_learning_rate(1e-3)).init(s.params)
    assert jax.tree.structure(s.opt_state) == jax.tree.structure(ref)


@pytest.mark.parametrize("key, value, allowed", [
    ("grad_filter", "grokfast", "'none', 'grokfast_ema'"),
    ("normaliser", "sparsemax", "'softmax', 'stablemax'"),
    ("grokfast_alpha", 1.5, "in [0, 1)"),
    ("optimizer", "lion", "'muon'"),
])
def test_bad_intervention_settings_name_the_key_and_the_allowed_values(key, value, allowed):
    fixed = {"task": "modular", "grad_filter": "grokfast_ema", key: value}
    with pytest.raises(SpecError) as e:
        parse_spec({"fixed": fixed}, source="x.toml")
    msg = str(e.value)
    assert "x.toml" in msg and key in msg and allowed in msg and "\n" not in msg


def test_settings_lists_the_interventions():
    text = describe_settings("modular")
    for word in ("grad_filter", "grokfast_alpha", "grokfast_window", "muon_beta",
                 "normaliser", "stablemax", "orthograd"):
        assert word in text


def test_f64_normalisers_keep_a_loss_that_float32_rounds_to_zero():
    """logits (0, -20): CE = log(1 + e^-20) = 2.06e-9. In float32 the softmax's sum rounds to
    1 and the loss is exactly 0 (collapse); computed in float64 it survives the cast back."""
    before = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    try:
        logits = jnp.array([[0.0, -20.0]], jnp.float32)
        y = jnp.array([0])
        out = {}
        for name in ("softmax", "softmax_f64", "stablemax", "stablemax_f64"):
            static = Static.from_config(_cfg("modular", p=2, hidden=2, embed=2,
                                             normaliser=name))
            out[name] = np.asarray(static.components.task.loss(static, logits, y)[0])
            assert out[name].dtype == np.float32
        assert out["softmax"][0] == 0
        np.testing.assert_allclose(out["softmax_f64"][0], np.log1p(np.exp(-20.0)), rtol=1e-6)
        np.testing.assert_allclose(out["stablemax_f64"][0], np.log(1 + 1 / 21), rtol=1e-6)
        np.testing.assert_allclose(out["stablemax"][0], np.log(1 + 1 / 21), rtol=1e-5)
    finally:
        jax.config.update("jax_enable_x64", before)
