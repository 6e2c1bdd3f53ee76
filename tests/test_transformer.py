"""The transformer model: an independent numpy oracle in the reference's layout
(neelnanda-io/Grokking transformers.py), init statistics, shapes, the warm-up, vmapped == alone,
and a golden-number tiny run."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grokjax import group_runs, train_chunk
from grokjax.analysis import final_key_frequencies, progress_measures
from grokjax.models.transformer import attention_view, init_transformer, transformer_logits
from grokjax.spec import resolve
from grokjax.static import HParams, Static
from grokjax.train import METRICS, init_state, make_data, train, train_step

TINY = dict(model="transformer", p=11, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=40,
            log_every=20)


def _cfg(**kw):
    cfg = resolve("modular", {**TINY, **kw})
    cfg["run_id"] = str(sorted(kw.items()))
    return cfg


def _static(**kw):
    return Static.from_config(_cfg(**kw))


def _np(params):
    return {k: np.asarray(v, np.float64) for k, v in params.items()}


def _ln(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def reference_logits(params, cfg, a, b):
    """The reference's forward pass, in its own layout (W_E d x vocab, W_K heads x d_head x d,
    MLP W_in d_mlp x d ...): every position through every layer, the causal mask as
    tril(scores) - 1e10 (1 - mask), logits read at the last position.  LayerNorm (not in the
    reference's forward) as grokjax's pre-LN."""
    P = _np(params)
    relu = lambda x: np.maximum(x, 0)  # noqa: E731
    tokens = np.stack([a, b, np.full_like(a, cfg.p)], 1)
    w_e = P["W_E"].T  # d x vocab, as the reference stores it
    x = np.einsum("dbp->bpd", w_e[:, tokens]) + P["W_pos"][None]
    mask = np.tril(np.ones((3, 3)))
    for layer in range(cfg.n_layers):
        h = _ln(x, P["ln1_w"][layer], P["ln1_b"][layer]) if cfg.layernorm else x
        w_k, w_q, w_v = (P[n][layer].transpose(0, 2, 1) for n in ("W_K", "W_Q", "W_V"))
        k = np.einsum("ihd,bpd->biph", w_k, h)
        q = np.einsum("ihd,bpd->biph", w_q, h)
        v = np.einsum("ihd,bpd->biph", w_v, h)
        pre = np.einsum("biph,biqh->biqp", k, q)
        masked = np.tril(pre) - 1e10 * (1 - mask)
        s = masked / np.sqrt(cfg.d_head)
        attn = np.exp(s - s.max(-1, keepdims=True))
        attn /= attn.sum(-1, keepdims=True)
        z = np.einsum("biph,biqp->biqh", v, attn)
        z_flat = z.transpose(0, 2, 1, 3).reshape(z.shape[0], 3, -1)  # b q (i h)
        w_o = P["W_O"][layer].reshape(-1, cfg.d_model).T  # d x (heads d_head)
        x = x + np.einsum("df,bqf->bqd", w_o, z_flat)
        h = _ln(x, P["ln2_w"][layer], P["ln2_b"][layer]) if cfg.layernorm else x
        pre_m = np.einsum("md,bpd->bpm", P["W_in"][layer].T, h) + P["b_in"][layer]
        x = x + np.einsum("dm,bpm->bpd", P["W_out"][layer].T, relu(pre_m)) + P["b_out"][layer]
    if cfg.layernorm:
        x = _ln(x, P["lnf_w"], P["lnf_b"])
    w_u = P["W_U"] if "W_U" in P else P["W_E"][:cfg.p + cfg.eq_logit].T
    return (x @ w_u)[:, -1]


@pytest.mark.parametrize("kw", [{}, {"n_layers": 2}, {"layernorm": True, "n_layers": 2},
                                {"unembed": "tied", "eq_logit": True}])
def test_logits_equal_the_reference_forward_pass(kw):
    static = _static(**kw)
    params = init_transformer(jax.random.key(3), static, jnp.float32(1.0), jnp.float32)
    # perturb the zero biases and unit gains so they are exercised too
    params = {k: v + 0.1 * jax.random.normal(jax.random.key(i), v.shape)
              for i, (k, v) in enumerate(sorted(params.items()))}
    a, b = np.meshgrid(np.arange(11), np.arange(11), indexing="ij")
    a, b = a.ravel().astype(np.int32), b.ravel().astype(np.int32)
    got = np.asarray(transformer_logits(params, static, jnp.asarray(a), jnp.asarray(b)))
    want = reference_logits(params, static, a, b)
    assert got.shape == (121, 11 + static.eq_logit)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)
    attn = np.asarray(attention_view(params, static, jnp.asarray(a), jnp.asarray(b)))
    assert attn.shape == (121, 2, 3)
    np.testing.assert_allclose(attn.sum(-1), 1, rtol=1e-5)


def test_init_statistics_match_the_reference():
    """Nanda's configuration: every matrix randn / sqrt(d_model) except W_U (/ sqrt(p + 1));
    the MLP biases zero; no other parameters."""
    static = Static.from_config(resolve("modular", {"model": "transformer"}))
    assert (static.p, static.d_model, static.n_heads, static.d_head, static.d_mlp) == \
        (113, 128, 4, 32, 512)
    params = init_transformer(jax.random.key(0), static, jnp.float32(1.0), jnp.float32)
    shapes = {k: v.shape for k, v in params.items()}
    assert shapes == {"W_E": (114, 128), "W_pos": (3, 128), "W_Q": (1, 4, 128, 32),
                      "W_K": (1, 4, 128, 32), "W_V": (1, 4, 128, 32), "W_O": (1, 4, 32, 128),
                      "W_in": (1, 128, 512), "b_in": (1, 512), "W_out": (1, 512, 128),
                      "b_out": (1, 128), "W_U": (128, 113)}
    for name, w in params.items():
        w = np.asarray(w, np.float64)
        if name.startswith("b_"):
            assert not w.any()
            continue
        want = 1 / np.sqrt(114) if name == "W_U" else 1 / np.sqrt(128)
        # the sample std of n normal draws is within a few / sqrt(2n) of the true std
        assert abs(w.std() / want - 1) < 4 / np.sqrt(2 * w.size) + 0.02 * (w.size < 1000), name
        assert abs(w.mean()) < 4 * want / np.sqrt(w.size), name
        kurt = ((w - w.mean()) ** 4).mean() / w.var() ** 2
        assert abs(kurt - 3) < 0.5 if w.size > 1000 else True, name  # normal, not truncated


def test_resolved_defaults_are_nandas():
    cfg = resolve("modular", {"model": "transformer"})
    assert (cfg["lr"], cfg["weight_decay"], cfg["beta1"], cfg["beta2"]) == (1e-3, 1.0, 0.9, 0.98)
    assert (cfg["train_frac"], cfg["warmup_steps"], cfg["batch_size"]) == (0.3, 10, 0)
    assert cfg["activation"] == "relu" and not cfg["layernorm"] and cfg["unembed"] == "untied"
    assert cfg["train_size"] == round(0.3 * 113 ** 2)


def test_warmup_scales_each_update_linearly():
    """SGD, warm-up 4: update t is -lr min(t / 4, 1) (grad + wd w); update 0 changes nothing."""
    cfg = _cfg(optimizer="sgd", lr=0.1, weight_decay=0.2, warmup_steps=4)
    static = Static.from_config(cfg)
    hp = HParams.from_config(cfg, static.dtype)
    data = make_data(static, hp.data_seed)
    state = init_state(static, hp, data)
    from grokjax.train import train_loss
    grad = jax.jit(jax.grad(train_loss), static_argnums=1)
    step = jax.jit(train_step, static_argnums=0)
    for t in range(6):
        grads = grad(state.params, static, data, hp)
        new = step(static, hp, data, state)
        for name, w in state.params.items():
            w = np.asarray(w)
            want = w - 0.1 * min(t / 4, 1) * (np.asarray(grads[name]) + 0.2 * w)
            np.testing.assert_allclose(new.params[name], want, rtol=1e-5, atol=1e-7)
        if t == 0:
            for name in state.params:
                np.testing.assert_array_equal(new.params[name], state.params[name])
        state = new


def _alone(cfg):
    static = Static.from_config(cfg)
    res = jax.jit(train, static_argnums=0)(static, HParams.from_config(cfg, static.dtype))
    return {k: np.asarray(v) for k, v in res.curves.items()}


def test_vmapped_transformer_runs_equal_each_run_alone():
    configs = [_cfg(seed=s, train_frac=f, weight_decay=wd, lr=lr)
               for s, f, wd, lr in ((0, 0.3, 1.0, 1e-3), (1, 0.6, 0.1, 3e-3))]
    (static, members), = group_runs(configs, bucket_train_size=False).items()
    res = train_chunk(static, members, segment_steps=static.steps // 2)
    for i, cfg in enumerate(members):
        alone = _alone(cfg)
        for k in METRICS:
            np.testing.assert_allclose(res.curves[k][i], alone[k], rtol=2e-4, atol=1e-6,
                                       err_msg=f"{k} of run {cfg['run_id']}")


def test_progress_measures_read_the_embedding():
    """The modular task's Fourier measures run on the transformer's W_E (token_tables view):
    an embedding built from frequencies 2 and 5 only has exactly those key frequencies."""
    static = _static()
    params = init_transformer(jax.random.key(0), static, jnp.float32(1.0), jnp.float32)
    x = np.arange(11)[:, None]
    cols = [f(2 * np.pi * k * x / 11) for k in (2, 5) for f in (np.cos, np.sin)]
    e = np.concatenate(cols * 4, axis=1)  # 11 x 16
    params["W_E"] = params["W_E"].at[:11].set(jnp.asarray(e, jnp.float32))
    assert list(final_key_frequencies(params, static)) == [2, 5]
    m = progress_measures(params, static)
    assert float(m["n_key_freqs_norm"]) == 2
    np.testing.assert_allclose(float(m["top4_share_in"]), 1.0, rtol=1e-5)


def test_golden_numbers_of_a_tiny_run():
    """Pins the whole assembly (init, data, forward, warm-up, AdamW) on one tiny config."""
    c = _alone(_cfg(seed=7))
    got = [c["train_loss"][0], c["train_loss"][-1], c["test_loss"][-1], c["l2_norm"][-1]]
    np.testing.assert_allclose(got, GOLDEN, rtol=1e-4)


GOLDEN = [2.482612, 2.151057, 2.675941, 12.501281]  # measured 2026-12-02, CPU float32


def test_neuron_frequencies_2d_on_hand_made_neurons():
    """cos(2 pi k (a + b) / p) lives on frequency k alone (share 1); cos(k a) + cos(j b) splits
    its variance evenly between k and j."""
    from grokjax.analysis import neuron_frequencies_2d

    p = 13
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    w = 2 * np.pi / p
    acts = np.stack([np.cos(w * 3 * (a + b)), np.sin(w * 5 * a) * np.cos(w * 5 * b) + 2,
                     np.cos(w * 2 * a) + 0.5 * np.cos(w * 4 * b)], axis=-1)
    freq, share = neuron_frequencies_2d(acts)
    assert freq.tolist() == [3, 5, 2]
    np.testing.assert_allclose(share, [1, 1, 0.8], rtol=1e-9)


@pytest.mark.parametrize("key,value,message", [
    ("n_heads", 0, "must be > 0"), ("unembed", "shared", "allowed: one of 'untied', 'tied'"),
    ("batch_size", -1, "must be >= 0"), ("warmup_steps", -2, "must be >= 0")])
def test_bad_transformer_settings_are_one_line_errors(key, value, message):
    from grokjax.errors import SpecError
    from grokjax.spec import parse_spec

    spec = {"sweep": {"name": "bad"}, "fixed": {**TINY, "task": "modular", key: value}}
    with pytest.raises(SpecError) as e:
        parse_spec(spec, source="bad.toml")
    text = str(e.value)
    assert "bad.toml" in text and key in text and message in text and "\n" not in text
