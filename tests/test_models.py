"""The model family: exact outputs on hand-built weights, the constructed solution, variants."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grokjax.models import (
    ACTIVATIONS,
    circular_embedding,
    collapsed_view,
    constructed_params,
    init_modular,
    modular_logits,
    parity_logit,
)
from grokjax.spec import resolve
from grokjax.static import Static
from grokjax.tasks import pairs


def _static(**kw):
    return Static.from_config(resolve("modular", kw))


def test_parity_logit_hand_built():
    # 2 bits + bias; neuron 0 = relu(x0 - x1), neuron 1 = relu(x1 - x0), neuron 2 = relu(1)
    w_in = jnp.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    w_out = jnp.array([2.0, 2.0, -1.0])
    x = jnp.array([[0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]], jnp.float32)
    z = parity_logit({"W_in": w_in, "w_out": w_out}, x)
    np.testing.assert_array_equal(np.asarray(z), [-1.0, 1.0, 1.0, -1.0])  # XOR, exactly
    z_sq = parity_logit({"W_in": w_in, "w_out": w_out}, x, "square")
    np.testing.assert_array_equal(np.asarray(z_sq), [-1.0, 3.0, 3.0, -1.0])


def test_circular_embedding_unit_columns():
    e = np.asarray(circular_embedding(67, [1, 5]))
    assert e.shape == (67, 4)
    np.testing.assert_allclose(np.linalg.norm(e, axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(e[:, 0] * np.sqrt(67 / 2), np.cos(2 * np.pi * np.arange(67) / 67),
                               atol=1e-6)


@pytest.mark.parametrize("n_neurons", [5, 6, 7, 8, 9])
def test_constructed_square_solution_is_exact(n_neurons):
    """docs/experiments.md §2: x^2 activation, N > 4 evenly spaced neurons -> 100% on all p^2
    pairs."""
    p = 67
    st = _static(p=p, hidden=n_neurons, fixed_embed=[1], activation="square")
    a, b = pairs(p, symmetric=False)
    logits = modular_logits(constructed_params(n_neurons), st, jnp.asarray(a), jnp.asarray(b))
    pred = np.asarray(jnp.argmax(logits, -1))
    np.testing.assert_array_equal(pred, (a + b) % p)


def test_constructed_square_matches_closed_form():
    """logits_c is proportional to cos^2((a-b) w/2) cos((a+b-c) w), here for frequency k = 3."""
    p, n = 67, 7
    st = _static(p=p, hidden=n, fixed_embed=[3], activation="square")
    a, b = pairs(p, symmetric=False)
    lg = np.asarray(modular_logits(constructed_params(n), st, jnp.asarray(a), jnp.asarray(b)),
                    np.float64)
    assert _closed_form_residual(lg, a, b, p, k=3) < 1e-5
    assert _closed_form_residual(lg, a, b, p, k=1) > 0.5  # and not some other frequency's wave


def _closed_form_residual(logits, a, b, p, k=1):
    """Relative distance of logits from the best multiple of cos^2((a-b)w/2) cos((a+b-c)w)."""
    w = 2 * np.pi * k / p
    f = np.cos((a - b)[:, None] * w / 2) ** 2 * np.cos(((a + b)[:, None] - np.arange(p)) * w)
    scale = np.sum(logits * f) / np.sum(f * f)
    return np.linalg.norm(logits - scale * f) / np.linalg.norm(logits)


def test_constructed_relu_is_only_approximate():
    """With ReLU the construction is only approximately right; odd N is more accurate."""
    p = 67
    a, b = pairs(p, symmetric=False)
    acc, resid = {}, {}
    for n in range(3, 11):
        for act in ("relu", "square"):
            st = _static(p=p, hidden=n, fixed_embed=[1], activation=act)
            lg = np.asarray(modular_logits(constructed_params(n), st, jnp.asarray(a),
                                           jnp.asarray(b)), np.float64)
            acc[n, act] = float(np.mean(lg.argmax(-1) == (a + b) % p))
            resid[n, act] = _closed_form_residual(lg, a, b, p)
    for n in range(5, 11):
        assert acc[n, "square"] == 1.0 and resid[n, "square"] < 1e-5
        assert resid[n, "relu"] > 0.05  # ReLU logits are not the cosine wave
    assert all(acc[n, "relu"] == 1.0 for n in (5, 7, 9))  # odd N: argmax still right
    assert all(acc[n, "relu"] < 1.0 for n in (4, 6, 8))  # even N: wrong on some pairs
    assert acc[3, "relu"] < 0.1 and acc[4, "square"] < 1.0  # N > 4 is needed


VARIANTS = list(itertools.product(("factored", "collapsed"), ("factored", "collapsed"),
                                  ("tied", "input_tied", "untied"), (True, False)))


@pytest.mark.parametrize("inp,out,tie,shared", VARIANTS)
def test_reassociated_forward_equals_naive(inp, out, tie, shared):
    """(E W_in)[a] equals E[a] W_in and h (W_out U^T) equals (h W_out) U^T, for every variant."""
    st = _static(p=11, hidden=6, embed=5, input_side=inp, output_side=out, tie=tie,
                 shared_win=shared)
    params = init_modular(jax.random.key(0), st, 1.0, jnp.float32)
    a, b = (jnp.asarray(x) for x in pairs(11, symmetric=False))
    e_a = params.get("E", params.get("E_a"))
    e_b = params.get("E", params.get("E_b"))
    with jax.default_matmul_precision("highest"):  # the reference in full float32 on GPUs too
        if inp == "factored":
            h = e_a[a] @ params.get("W_in", params.get("W_in_a")) + \
                e_b[b] @ params.get("W_in", params.get("W_in_b"))
        else:
            h = e_a[a] + e_b[b]
        h = jax.nn.relu(h)
        if out == "factored":
            naive = (h @ params["W_out"]) @ params.get("U", e_a).T
        else:
            naive = h @ params["W_output"]
    np.testing.assert_allclose(modular_logits(params, st, a, b), naive, rtol=1e-5, atol=1e-5)
    # parameter set of the variant
    names = set(params)
    assert ("E" in names) == (tie in ("tied", "input_tied"))
    assert ("U" in names) == (out == "factored" and tie != "tied")
    assert ("W_output" in names) == (out == "collapsed")
    assert ("W_in" in names) == (inp == "factored" and shared)
    w_a, w_b, o = collapsed_view(params, st)
    assert w_a.shape == (11, 6) and w_b.shape == (11, 6) and o.shape == (6, 11)


@pytest.mark.parametrize("init,linear_std", [("haiku", 0.8796), ("rescaled", 1.0)])
def test_init_statistics_and_scale(init, linear_std):
    """haiku: linear layers TruncatedNormal(1/sqrt(fan_in)) not rescaled (std 0.88/sqrt(fan_in),
    cut at 2/sqrt(fan_in)); rescaled: std exactly 1/sqrt(fan_in).  Embeddings: sqrt(2/p)."""
    st = _static(p=67, hidden=24, embed=500, init=init)
    params = init_modular(jax.random.key(1), st, 1.0, jnp.float32)
    assert abs(float(params["E"].std()) - np.sqrt(2 / 67)) < 0.01
    assert abs(float(params["W_in"].std()) - linear_std / np.sqrt(500)) < 0.003
    assert abs(float(params["W_out"].std()) - linear_std / np.sqrt(24)) < 0.02
    cut = 2 * linear_std / 0.8796 / np.sqrt(500)
    assert float(jnp.abs(params["W_in"]).max()) <= cut * (1 + 1e-5)
    big = init_modular(jax.random.key(1), st, 3.0, jnp.float32)
    np.testing.assert_allclose(big["W_in"], 3.0 * params["W_in"], rtol=1e-6)


def test_fixed_embedding_is_not_a_parameter():
    st = _static(p=67, hidden=5, fixed_embed=[1])
    params = init_modular(jax.random.key(0), st, 1.0, jnp.float32)
    assert set(params) == {"W_in", "W_out"}
    assert params["W_in"].shape == (2, 5) and params["W_out"].shape == (5, 2)


def test_activations_by_name():
    x = jnp.array([-2.0, 0.5])
    np.testing.assert_allclose(ACTIVATIONS["square"](x), [4.0, 0.25])
    np.testing.assert_allclose(ACTIVATIONS["relu"](x), [0.0, 0.5])
