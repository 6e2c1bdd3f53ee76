"""The one-layer transformer of the grokking literature (Nanda et al. 2023, Power et al. 2022) as
the model ``transformer`` for the ``token_pairs`` tasks.

An example (a, b) is the three tokens ``a b =`` (``=`` is token p, so the vocabulary is p + 1);
token + learned position embeddings, ``n_layers`` blocks of causal multi-head attention and an
MLP on the residual stream (pre-LayerNorm when ``layernorm`` is on; off by default, as in the
reference), readout at the last (``=``) position through an untied (or tied) unembedding.

Initialisation follows ``neelnanda-io/Grokking`` (``transformers.py``) matrix by matrix: every
matrix ``torch.randn(...) / sqrt(d_model)`` -- W_E, W_pos, W_Q, W_K, W_V, W_O, the MLP's W_in
*and* W_out -- except the unembedding, ``/ sqrt(d_vocab)`` with d_vocab = p + 1; the MLP's two
biases start at zero and are the only biases; attention scores are scaled by 1/sqrt(d_head).
Matrices are stored for ``x @ W`` (the reference's transposes), per layer on a leading axis.

Reassociated where it pays (docs/benchmarks.md, "Performance notes the code relies on"): the
first layer's queries, keys and values are linear in the token and position embeddings, so they
are formed on the (p + 1)-row token table and the 3-row position table and gathered per example;
the last layer needs its query, attention output and MLP at the readout position only.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from grokjax.components import Model
from grokjax.models.activations import ACTIVATION, ACTIVATIONS
from grokjax.precision import full_precision
from grokjax.registry import register
from grokjax.settings import STATIC, Setting, positive

N_CTX = 3  # a, b, =
LN_EPS = 1e-5


def _normal(key: jax.Array, shape: tuple[int, ...], std: float, scale, dtype) -> jax.Array:
    # torch.randn(...) / sqrt(fan): a plain (untruncated) normal, times the per-run init scale
    return (jax.random.normal(key, shape, dtype) * (scale * std)).astype(dtype)


def n_logits(cfg: Any) -> int:
    return cfg.p + 1 if cfg.eq_logit else cfg.p


def init_transformer(key: jax.Array, cfg: Any, init_scale, dtype) -> dict:
    """Parameters: W_E (p+1) x D, W_pos 3 x D, per layer W_Q/W_K/W_V L x n_heads x D x d_head,
    W_O L x n_heads x d_head x D, W_in L x D x d_mlp, b_in L x d_mlp, W_out L x d_mlp x D,
    b_out L x D, LayerNorm gains/offsets when ``layernorm``, W_U D x n_logits unless tied."""
    p, d, h, e, m, n_l = cfg.p, cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp, cfg.n_layers
    k = iter(jax.random.split(key, 10))
    s_d = 1 / math.sqrt(d)
    params = {
        "W_E": _normal(next(k), (p + 1, d), s_d, init_scale, dtype),
        "W_pos": _normal(next(k), (N_CTX, d), s_d, init_scale, dtype),
        "W_Q": _normal(next(k), (n_l, h, d, e), s_d, init_scale, dtype),
        "W_K": _normal(next(k), (n_l, h, d, e), s_d, init_scale, dtype),
        "W_V": _normal(next(k), (n_l, h, d, e), s_d, init_scale, dtype),
        "W_O": _normal(next(k), (n_l, h, e, d), s_d, init_scale, dtype),
        "W_in": _normal(next(k), (n_l, d, m), s_d, init_scale, dtype),
        "b_in": jnp.zeros((n_l, m), dtype),
        "W_out": _normal(next(k), (n_l, m, d), s_d, init_scale, dtype),  # / sqrt(d_model)
        "b_out": jnp.zeros((n_l, d), dtype),
    }
    if cfg.unembed == "untied":
        params["W_U"] = _normal(next(k), (d, n_logits(cfg)), 1 / math.sqrt(p + 1), init_scale,
                                dtype)
    if cfg.layernorm:
        for name, shape in (("ln1", (n_l, d)), ("ln2", (n_l, d)), ("lnf", (d,))):
            params[f"{name}_w"] = jnp.ones(shape, dtype)
            params[f"{name}_b"] = jnp.zeros(shape, dtype)
    return params


def _layernorm(x, w, b):
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mu), axis=-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(var + LN_EPS) * w + b


def unembedding(params: dict, cfg: Any) -> jax.Array:
    """W_U (D x n_logits); tied: the token embedding's first n_logits rows, transposed."""
    if "W_U" in params:
        return params["W_U"]
    return params["W_E"][:n_logits(cfg)].T


def _tokens(cfg: Any, a_B: jax.Array, b_B: jax.Array) -> jax.Array:
    return jnp.stack([a_B, b_B, jnp.full_like(a_B, cfg.p)], axis=1)  # B x 3


def _first_qkv(params: dict, tok_BxS: jax.Array) -> tuple[jax.Array, ...]:
    """Layer 0's q, k, v (B x S x n_heads x d_head) from token and position tables."""
    out = []
    for name in ("W_Q", "W_K", "W_V"):
        w_HxDxE = params[name][0]
        tok_VxHxE = jnp.einsum("vd,hde->vhe", params["W_E"], w_HxDxE)
        pos_SxHxE = jnp.einsum("sd,hde->she", params["W_pos"], w_HxDxE)
        out.append(tok_VxHxE[tok_BxS] + pos_SxHxE[None])
    return tuple(out)


def _forward(params: dict, cfg: Any, a_B: jax.Array, b_B: jax.Array):
    """(logits B x n_logits, attention B x n_heads x 3 of the readout query, MLP activations
    B x d_mlp of the last layer at the readout position)."""
    tok_BxS = _tokens(cfg, a_B, b_B)
    x_BxSxD = params["W_E"][tok_BxS] + params["W_pos"][None]
    act = ACTIVATIONS[cfg.activation]
    n_l = cfg.n_layers
    causal_SxS = jnp.tril(jnp.ones((N_CTX, N_CTX), bool))
    for layer in range(n_l):
        last = layer == n_l - 1
        if cfg.layernorm:
            h_BxSxD = _layernorm(x_BxSxD, params["ln1_w"][layer], params["ln1_b"][layer])
        if layer == 0 and not cfg.layernorm:
            q, k, v = _first_qkv(params, tok_BxS)
        else:
            src = h_BxSxD if cfg.layernorm else x_BxSxD
            q, k, v = (jnp.einsum("bsd,hde->bshe", src, params[n][layer])
                       for n in ("W_Q", "W_K", "W_V"))
        if last:  # only the readout position's query is needed
            q, x_BxSxD, mask_QxS = q[:, -1:], x_BxSxD[:, -1:], causal_SxS[-1:]
        else:
            mask_QxS = causal_SxS
        scores_BxHxQxS = jnp.einsum("bqhe,bshe->bhqs", q, k) / math.sqrt(cfg.d_head)
        scores_BxHxQxS = jnp.where(mask_QxS, scores_BxHxQxS, -jnp.inf)
        attn_BxHxQxS = jax.nn.softmax(scores_BxHxQxS, axis=-1)
        z_BxQxHxE = jnp.einsum("bhqs,bshe->bqhe", attn_BxHxQxS, v)
        x_BxSxD = x_BxSxD + jnp.einsum("bqhe,hed->bqd", z_BxQxHxE, params["W_O"][layer])
        h2 = (_layernorm(x_BxSxD, params["ln2_w"][layer], params["ln2_b"][layer])
              if cfg.layernorm else x_BxSxD)
        post_BxSxM = act(h2 @ params["W_in"][layer] + params["b_in"][layer])
        x_BxSxD = x_BxSxD + post_BxSxM @ params["W_out"][layer] + params["b_out"][layer]
    x_BxD = x_BxSxD[:, -1]
    if cfg.layernorm:
        x_BxD = _layernorm(x_BxD, params["lnf_w"], params["lnf_b"])
    return x_BxD @ unembedding(params, cfg), attn_BxHxQxS[:, :, -1], post_BxSxM[:, -1]


@full_precision
def transformer_logits(params: dict, cfg: Any, a_B: jax.Array, b_B: jax.Array) -> jax.Array:
    """Logits B x n_logits for the pairs (a_B, b_B), read at the ``=`` position."""
    return _forward(params, cfg, a_B, b_B)[0]


@full_precision
def attention_view(params: dict, cfg: Any, a_B: jax.Array, b_B: jax.Array) -> jax.Array:
    """B x n_heads x 3: the last layer's attention from the ``=`` position to a, b and =."""
    return _forward(params, cfg, a_B, b_B)[1]


@full_precision
def neuron_view(params: dict, cfg: Any, a_B: jax.Array, b_B: jax.Array) -> jax.Array:
    """B x d_mlp: the last layer's MLP activations at the ``=`` position."""
    return _forward(params, cfg, a_B, b_B)[2]


def token_tables(params: dict, cfg: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(W_E's p number rows p x D, the same array for b, W_U's p number columns D x p): the
    tables the Fourier analysis reads along the token axis (``Model.views["token_tables"]``)."""
    e_PxD = params["W_E"][:cfg.p]
    return e_PxD, e_PxD, unembedding(params, cfg)[:, :cfg.p]


def activation_width(cfg: Any) -> int:
    """Per example: the residual stream and q, k, v at three positions, the MLP, the logits."""
    return N_CTX * (cfg.d_model + 3 * cfg.n_heads * cfg.d_head) + cfg.d_mlp + cfg.p + 1


MODEL = register(Model(
    name="transformer",
    doc="one-layer (n_layers) transformer on the tokens 'a b =' (Nanda et al. 2023)",
    settings=(
        Setting("d_model", int, 128, STATIC, "residual-stream width", check=positive),
        Setting("n_heads", int, 4, STATIC, "attention heads per layer", check=positive),
        Setting("d_head", int, 32, STATIC, "width of one head", check=positive),
        Setting("d_mlp", int, 512, STATIC, "MLP hidden width", check=positive),
        Setting("n_layers", int, 1, STATIC, "transformer blocks", check=positive),
        ACTIVATION,
        Setting("layernorm", bool, False, STATIC,
                "pre-LayerNorm before attention, MLP and unembedding (the reference has none)"),
        Setting("unembed", str, "untied", STATIC,
                "untied: a separate W_U (D x p); tied: W_U = W_E^T (number rows)",
                choices=("untied", "tied")),
        Setting("eq_logit", bool, False, STATIC,
                "also output a logit for the '=' token (p + 1 logits, as the reference's "
                "Unembed(d_vocab)); never the right answer"),
    ),
    init=init_transformer,
    apply=lambda params, cfg, inputs: transformer_logits(params, cfg, *inputs),
    inputs=("token_pairs",),
    views={"token_tables": token_tables, "attention": attention_view, "neurons": neuron_view},
    activation_width=activation_width,
    defaults={"lr": 1e-3, "weight_decay": 1.0, "beta1": 0.9, "beta2": 0.98, "train_frac": 0.3,
              "p": 113, "warmup_steps": 10},
))
