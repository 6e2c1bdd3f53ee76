"""Mechanistic analysis: DFT basis, neuron frequencies, key frequencies, per-frequency logits,
Fourier sparsity, parity weight norms and the progress measures logged during training."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grokjax.analysis import (
    bit_norms_D,
    dft_basis,
    final_key_frequencies,
    fourier_gini,
    frequency_logits,
    frequency_norms,
    frequency_of_row,
    input_side_weights,
    key_frequencies,
    key_frequencies_by_norm,
    neuron_frequencies,
    output_side_weights,
    progress_measures,
    relevant_weight_norms,
    top_k_share,
)
from grokjax.models import constructed_params, init_modular, init_parity, modular_logits
from grokjax.spec import resolve
from grokjax.static import Static
from grokjax.tasks import pairs
from grokjax.tasks.modular import PROGRESS as MODULAR_PROGRESS
from grokjax.tasks.parity import PROGRESS as PARITY_PROGRESS

P = 67


def _static(task="modular", **kw):
    return Static.from_config(resolve(task, kw))


def _constructed(k, n_neurons=7, activation="square", p=P):
    st = _static(p=p, hidden=n_neurons, fixed_embed=[k], activation=activation)
    return constructed_params(n_neurons), st


def _two_frequency(k1, k2, n_neurons=7):
    """Two constructed solutions side by side: neurons 0..N-1 see only k1, N..2N-1 only k2."""
    c = constructed_params(n_neurons)
    z_in, z_out = jnp.zeros_like(c["W_in"]), jnp.zeros_like(c["W_out"])
    params = {"W_in": jnp.block([[c["W_in"], z_in], [z_in, c["W_in"]]]),
              "W_out": jnp.block([[c["W_out"], z_out], [z_out, c["W_out"]]])}
    st = _static(p=P, hidden=2 * n_neurons, fixed_embed=[k1, k2], activation="square")
    return params, st


def _per_pair_corr(x_BxP, y_BxP):
    x = x_BxP - x_BxP.mean(-1, keepdims=True)
    y = y_BxP - y_BxP.mean(-1, keepdims=True)
    return np.sum(x * y, -1) / np.sqrt(np.sum(x * x, -1) * np.sum(y * y, -1))


# ---------------------------------------------------------------------------------------------
# DFT basis
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [3, 5, 67])
def test_dft_basis_orthonormal(p):
    f = np.asarray(dft_basis(p), np.float64)
    assert f.shape == (p, p)
    np.testing.assert_allclose(f @ f.T, np.eye(p), atol=1e-5)
    np.testing.assert_allclose(f.T @ f, np.eye(p), atol=1e-5)
    x = np.arange(p)
    np.testing.assert_allclose(f[0], 1 / np.sqrt(p), rtol=1e-6)
    for k in range(1, (p - 1) // 2 + 1):  # row 2k-1 is cos k, row 2k is sin k
        np.testing.assert_allclose(f[2 * k - 1], np.sqrt(2 / p) * np.cos(2 * np.pi * k * x / p),
                                   atol=1e-6)
        np.testing.assert_allclose(f[2 * k], np.sqrt(2 / p) * np.sin(2 * np.pi * k * x / p),
                                   atol=1e-6)


def test_frequency_of_row():
    np.testing.assert_array_equal(frequency_of_row(3), [0, 1, 1])
    np.testing.assert_array_equal(frequency_of_row(5), [0, 1, 1, 2, 2])
    r = frequency_of_row(67)
    assert r.shape == (67,) and r.max() == 33 and np.all(np.bincount(r)[1:] == 2)


@pytest.mark.parametrize("p", [2, 4, 10, 66, 1])
def test_dft_basis_rejects_even_p(p):
    with pytest.raises(ValueError, match="odd modulus"):
        dft_basis(p)
    with pytest.raises(ValueError, match="odd modulus"):
        frequency_of_row(p)


# ---------------------------------------------------------------------------------------------
# Neuron frequencies and key frequencies on hand-built models
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 5, 17, 33])
def test_constructed_model_has_exactly_its_frequency(k):
    params, st = _constructed(k)
    f = dft_basis(P)
    for w in (input_side_weights(params, st), output_side_weights(params, st)):
        assert w.shape == (P, 7)
        nf = neuron_frequencies(w, f)
        np.testing.assert_array_equal(nf.freq_H, k)
        np.testing.assert_allclose(nf.strength_H, 1.0, rtol=1e-5)  # (cos, sin) pair of norm 1
        assert np.all(np.asarray(nf.peak_H) >= 1 / np.sqrt(2) - 1e-6)
        norms = np.asarray(nf.norms_FxH)
        assert norms.shape == (34, 7)
        assert np.abs(np.delete(norms, k, axis=0)).max() < 1e-5  # nothing at other frequencies
        mask, counts = key_frequencies(w, f, cutoff=0.5)
        np.testing.assert_array_equal(np.flatnonzero(mask), [k - 1])
        assert counts[k - 1] == 7 and int(counts.sum()) == 7
        np.testing.assert_array_equal(np.flatnonzero(key_frequencies_by_norm(w, f)), [k - 1])


def test_cutoff_counts_a_neuron_only_above_the_cutoff():
    params, st = _constructed(5)
    f = dft_basis(P)
    mask, counts = key_frequencies(input_side_weights(params, st), f, cutoff=10.0)
    assert not mask.any() and int(counts.sum()) == 0  # peaks are <= 1 on these weights
    big = {**params, "W_in": 20.0 * params["W_in"]}  # peaks >= 20/sqrt(2) > 10
    mask, counts = key_frequencies(input_side_weights(big, st), f, cutoff=10.0)
    np.testing.assert_array_equal(np.flatnonzero(mask), [4])
    assert int(counts[4]) == 7
    # a cutoff between the smallest and the largest peak counts only the neurons above it
    nf = neuron_frequencies(input_side_weights(big, st), f)
    cut = float(np.median(nf.peak_H))
    _, counts = key_frequencies(input_side_weights(big, st), f, cutoff=cut)
    assert int(counts[4]) == int(np.sum(np.asarray(nf.peak_H) > cut)) < 7


def test_two_frequency_model_key_sets():
    params, st = _two_frequency(3, 11)
    f = dft_basis(P)
    w = input_side_weights(params, st)
    nf = neuron_frequencies(w, f)
    np.testing.assert_array_equal(nf.freq_H, [3] * 7 + [11] * 7)
    mask, counts = key_frequencies(w, f, cutoff=0.5)
    np.testing.assert_array_equal(np.flatnonzero(mask) + 1, [3, 11])
    assert counts[2] == 7 and counts[10] == 7
    np.testing.assert_array_equal(np.flatnonzero(key_frequencies_by_norm(w, f, 0.9)) + 1, [3, 11])
    assert int(key_frequencies_by_norm(w, f, 0.4).sum()) == 1  # half the norm each
    mask_out, _ = key_frequencies(output_side_weights(params, st), f, cutoff=0.5)
    np.testing.assert_array_equal(np.flatnonzero(mask_out) + 1, [3, 11])
    norms_k = frequency_norms(nf.norms_FxH[1:])
    np.testing.assert_allclose(fourier_gini(norms_k), 31 / 33, atol=1e-5)  # 2 equal of 33
    np.testing.assert_allclose(top_k_share(norms_k, 4), 1.0, atol=1e-6)
    np.testing.assert_allclose(top_k_share(norms_k, 1), 0.5, atol=1e-5)


def test_two_sided_input_matches_single_side_when_shared():
    params, st = _constructed(7)
    f = dft_basis(P)
    w = input_side_weights(params, st)
    one, two = neuron_frequencies(w, f), neuron_frequencies(jnp.stack([w, w]), f)
    np.testing.assert_array_equal(one.freq_H, two.freq_H)
    np.testing.assert_allclose(one.norms_FxH, two.norms_FxH, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(one.peak_H, two.peak_H, rtol=1e-6)
    # a second side with a different frequency adds its norm at half weight (RMS over sides)
    w2 = input_side_weights(*_constructed(9))
    mixed = neuron_frequencies(jnp.stack([w, w2]), f)
    np.testing.assert_allclose(mixed.norms_FxH[7], np.sqrt(0.5), rtol=1e-5)
    np.testing.assert_allclose(mixed.norms_FxH[9], np.sqrt(0.5), rtol=1e-5)


def test_key_frequencies_vmap_over_weights():
    ws = jax.random.normal(jax.random.key(0), (5, 11, 8))
    f = dft_basis(11)
    masks, counts = jax.jit(jax.vmap(lambda w: key_frequencies(w, f, 0.5)))(ws)
    assert masks.shape == (5, 5) and counts.shape == (5, 5)
    assert np.all(np.asarray(counts).sum(-1) <= 8)
    one = jax.jit(lambda w: key_frequencies(w, f, 0.5)[1])
    for i in range(5):
        np.testing.assert_array_equal(counts[i], one(ws[i]))
    norm_masks = jax.vmap(lambda w: key_frequencies_by_norm(w, f, 0.9))(ws)
    assert norm_masks.shape == (5, 5) and np.all(np.asarray(norm_masks).sum(-1) >= 1)


def test_norm_fraction_rule_is_smallest_set():
    """Energies 50, 30, 15, 5 (out of 100) on frequencies 1..4 of p = 9 (fractions chosen off
    the exact boundaries, which float32 rounding may put on either side)."""
    f = np.asarray(dft_basis(9), np.float64)
    energy = {1: 50.0, 2: 30.0, 3: 15.0, 4: 5.0}
    coef = np.zeros(9)
    for k, e in energy.items():
        coef[2 * k - 1] = np.sqrt(e)  # cos row of frequency k
    coef[0] = 100.0  # the constant is not a frequency
    w = jnp.asarray((f.T @ coef)[:, None], jnp.float32)
    fj = dft_basis(9)
    for frac, want in [(0.49, [1]), (0.51, [1, 2]), (0.79, [1, 2]), (0.81, [1, 2, 3]),
                       (0.96, [1, 2, 3, 4])]:
        got = np.flatnonzero(key_frequencies_by_norm(w, fj, frac)) + 1
        np.testing.assert_array_equal(got, want, err_msg=f"fraction {frac}")
    assert not key_frequencies_by_norm(jnp.zeros((9, 3)), fj).any()


# ---------------------------------------------------------------------------------------------
# Per-frequency logits
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 4, 29])
def test_frequency_logits_single_frequency(k):
    params, st = _constructed(k)
    a, b = pairs(P, symmetric=False)
    lg = np.asarray(frequency_logits(params, st, jnp.asarray(a), jnp.asarray(b)), np.float64)
    assert lg.shape == (P * P, 34, P)
    full = np.asarray(modular_logits(params, st, jnp.asarray(a), jnp.asarray(b)), np.float64)
    np.testing.assert_allclose(lg.sum(1), full, rtol=1e-5, atol=1e-7)  # groups partition
    assert np.abs(np.delete(lg, k, axis=1)).max() == 0.0  # every other group is empty
    w = 2 * np.pi * k / P
    wave = np.cos(((a + b)[:, None] - np.arange(P)) * w)
    assert _per_pair_corr(lg[:, k], wave).min() > 0.999  # each pair: prop. to cos((a+b-c) w)
    # and the exact closed form of docs/experiments.md §2 across pairs, with one fitted scale
    form = np.cos((a - b)[:, None] * w / 2) ** 2 * wave
    scale = np.sum(lg[:, k] * form) / np.sum(form * form)
    assert np.linalg.norm(lg[:, k] - scale * form) / np.linalg.norm(lg[:, k]) < 1e-5


def test_frequency_logits_two_groups():
    params, st = _two_frequency(3, 11)
    a, b = (x[::7] for x in pairs(P, symmetric=False))
    lg = np.asarray(frequency_logits(params, st, jnp.asarray(a), jnp.asarray(b)), np.float64)
    full = np.asarray(modular_logits(params, st, jnp.asarray(a), jnp.asarray(b)), np.float64)
    np.testing.assert_allclose(lg.sum(1), full, rtol=1e-5, atol=1e-6)
    assert np.abs(np.delete(lg, [3, 11], axis=1)).max() == 0.0
    for k in (3, 11):
        wave = np.cos(((a + b)[:, None] - np.arange(P)) * 2 * np.pi * k / P)
        assert _per_pair_corr(lg[:, k], wave).min() > 0.999
    # a single pair gives K+1 x p; a cutoff above every peak sends all neurons to row 0
    one = frequency_logits(params, st, jnp.int32(2), jnp.int32(5))
    assert one.shape == (34, P)
    none = np.asarray(frequency_logits(params, st, jnp.int32(2), jnp.int32(5), cutoff=2.0))
    np.testing.assert_allclose(none[0], np.asarray(one).sum(0), rtol=1e-5, atol=1e-6)
    assert np.abs(none[1:]).max() == 0.0


def test_frequency_logits_jit_vmap():
    st = _static(p=11, hidden=6, embed=5, tie="untied", shared_win=False)
    params = init_modular(jax.random.key(3), st, 1.0, jnp.float32)
    fn = jax.jit(jax.vmap(lambda a, b: frequency_logits(params, st, a, b)))
    a, b = (jnp.asarray(x) for x in pairs(11, symmetric=False))
    lg = fn(a, b)
    assert lg.shape == (121, 6, 11)
    np.testing.assert_allclose(lg.sum(1), modular_logits(params, st, a, b), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Fourier sparsity
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 5, 33])
def test_gini_extremes(n):
    one_hot = jnp.zeros(n).at[n // 2].set(3.0)
    assert float(fourier_gini(one_hot)) == pytest.approx((n - 1) / n, abs=1e-6)
    assert float(fourier_gini(jnp.full(n, 0.7))) == pytest.approx(0.0, abs=1e-6)
    assert float(fourier_gini(jnp.zeros(n))) == 0.0


def test_gini_exact_and_scale_free():
    x = jnp.array([3.0, 1.0, 2.0])  # sum |xi - xj| = 8 over ordered pairs; 2 n sum = 36
    assert float(fourier_gini(x)) == pytest.approx(8 / 36, abs=1e-6)
    assert float(fourier_gini(5 * x)) == pytest.approx(8 / 36, abs=1e-6)
    r = jax.random.uniform(jax.random.key(1), (4, 20))
    g = jax.jit(jax.vmap(fourier_gini))(r)
    brute = [np.abs(v[:, None] - v[None]).sum() / (2 * 20 * v.sum()) for v in np.asarray(r)]
    np.testing.assert_allclose(g, brute, rtol=1e-5)


def test_top_k_share():
    x = jnp.array([3.0, 0.0, 4.0, 0.0])
    assert float(top_k_share(x, 1)) == pytest.approx(16 / 25)
    assert float(top_k_share(x, 2)) == pytest.approx(1.0)
    assert float(top_k_share(x, 10)) == pytest.approx(1.0)
    assert float(top_k_share(jnp.ones(8), 4)) == pytest.approx(0.5)
    assert float(top_k_share(jnp.zeros(8), 4)) == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------------
# Parity
# ---------------------------------------------------------------------------------------------


def test_parity_norms_separate_generalizing_from_random():
    n, k, h = 30, 3, 64
    key_rel, key_dis = jax.random.split(jax.random.key(0))
    w_in = jnp.concatenate([jax.random.normal(key_rel, (k, h)),
                            1e-4 * jax.random.normal(key_dis, (n - k, h)),
                            jnp.full((1, h), 1e6)])  # a huge bias row must not count
    built = {"W_in": w_in, "w_out": jnp.ones(h)}
    rel, dis = relevant_weight_norms(built, k)
    assert float(rel) / float(dis) > 1e3
    rand = init_parity(jax.random.key(1), n + 1, h, 1.0, jnp.float32)
    rel_r, dis_r = relevant_weight_norms(rand, k)
    assert float(rel_r) / float(dis_r) == pytest.approx(np.sqrt(k / (n - k)), rel=0.15)
    bits = bit_norms_D(built)
    assert bits.shape == (n,)
    np.testing.assert_allclose(np.sqrt(np.sum(np.square(bits[:k]))), rel, rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.sum(np.square(bits[k:]))), dis, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Progress measures
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [{}, {"tie": "untied", "shared_win": False},
                                     {"input_side": "collapsed", "output_side": "collapsed"}])
def test_progress_measures_jit_vmap_modular(variant):
    st = _static(p=11, hidden=8, embed=6, **variant)
    stacked = jax.vmap(lambda key: init_modular(key, st, 1.0, jnp.float32))(
        jax.random.split(jax.random.key(0), 3))
    out = jax.jit(jax.vmap(lambda pr: progress_measures(pr, st)))(stacked)
    assert set(out) == set(MODULAR_PROGRESS)  # jit returns dicts key-sorted
    for v in out.values():
        assert v.shape == (3,) and v.dtype == jnp.float32 and np.all(np.isfinite(v))
    assert np.all((out["fourier_gini_in"] >= 0) & (out["fourier_gini_in"] < 0.8))
    assert np.all((out["top4_share_in"] > 0.8 - 1e-6) & (out["top4_share_in"] <= 1 + 1e-6))
    assert np.all((out["n_key_freqs_norm"] >= 1) & (out["n_key_freqs_norm"] <= 5))
    single = jax.jit(lambda pr: progress_measures(pr, st))(jax.tree.map(lambda x: x[1], stacked))
    for name, v in single.items():
        np.testing.assert_allclose(v, out[name][1], rtol=1e-5)


def test_progress_measures_even_p_is_nan():
    st = _static(p=10, hidden=8, embed=6)
    stacked = jax.vmap(lambda key: init_modular(key, st, 1.0, jnp.float32))(
        jax.random.split(jax.random.key(0), 2))
    out = jax.jit(jax.vmap(lambda pr: progress_measures(pr, st)))(stacked)
    assert set(out) == set(MODULAR_PROGRESS)  # jit returns dicts key-sorted
    assert all(v.shape == (2,) and np.all(np.isnan(v)) for v in out.values())
    assert final_key_frequencies(jax.tree.map(lambda x: x[0], stacked), st).size == 0


def test_progress_measures_parity():
    st = _static("parity", n=12, k=3, hidden=16, train_size=100)
    stacked = jax.vmap(lambda key: init_parity(key, 13, 16, 1.0, jnp.float32))(
        jax.random.split(jax.random.key(0), 4))
    out = jax.jit(jax.vmap(lambda pr: progress_measures(pr, st)))(stacked)
    assert set(out) == set(PARITY_PROGRESS)  # jit returns dicts key-sorted
    rel, dis = relevant_weight_norms(jax.tree.map(lambda x: x[2], stacked), 3)
    np.testing.assert_allclose(out["relevant_norm"][2], rel, rtol=1e-6)
    np.testing.assert_allclose(out["distracting_norm"][2], dis, rtol=1e-6)
    assert final_key_frequencies(jax.tree.map(lambda x: x[0], stacked), st).size == 0


def test_progress_measures_on_constructed_model():
    params, st = _constructed(5)
    m = jax.jit(lambda pr: progress_measures(pr, st))(params)
    assert float(m["fourier_gini_in"]) == pytest.approx(32 / 33, abs=1e-5)  # one of 33
    assert float(m["top4_share_in"]) == pytest.approx(1.0, abs=1e-6)
    assert float(m["n_key_freqs_norm"]) == 1.0
    assert float(m["n_key_freqs"]) == 0.0  # peaks <= 1: below the explorable's cutoff of 10
    big = {**params, "W_in": 20.0 * params["W_in"]}
    assert float(progress_measures(big, st)["n_key_freqs"]) == 1.0
    np.testing.assert_array_equal(final_key_frequencies(params, st), [5])
    assert final_key_frequencies(params, st, rule="cutoff").size == 0
    np.testing.assert_array_equal(final_key_frequencies(big, st, rule="cutoff"), [5])
    two, st2 = _two_frequency(3, 11)
    np.testing.assert_array_equal(final_key_frequencies(two, st2), [3, 11])
    assert final_key_frequencies(two, st2).dtype == np.int64
    with pytest.raises(ValueError, match="rule"):
        final_key_frequencies(params, st, rule="bogus")
