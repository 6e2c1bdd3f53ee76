"""The hand-built ("20 parameter") solution of modular addition, docs/experiments.md §2, as the
model ``constructed``.

With the fixed circular embedding of frequency k (columns cos, sin of 2 pi i k / p) and N evenly
spaced neurons, theta = 2 pi / N:  W_in column i = (cos i theta, sin i theta),
W_out row i = (cos 2 i theta, sin 2 i theta).  With the x^2 activation the logits are
proportional to cos^2((a-b) w/2) cos((a+b-c) w), so argmax_c = (a+b) mod p exactly for N > 4;
with ReLU the construction is only approximately right.  As a model its init *is* the
construction (times ``init_scale``), so a sweep can evaluate it or train on from it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grokjax.components import Model
from grokjax.models.activations import ACTIVATION, ACTIVATIONS
from grokjax.models.modular_mlp import circular_embedding
from grokjax.precision import full_precision
from grokjax.registry import register
from grokjax.settings import STATIC, Setting, positive


def constructed_params(n_neurons: int, dtype=jnp.float32) -> dict:
    """Parameters {W_in: 2 x N, W_out: N x 2} for a model with ``fixed_embed = [k]``.

    The frequency k lives in the (fixed) embedding, so the same matrices serve every k.
    """
    theta_N = 2 * np.pi * np.arange(n_neurons) / n_neurons
    w_in_2xN = np.stack([np.cos(theta_N), np.sin(theta_N)])
    w_out_Nx2 = np.stack([np.cos(2 * theta_N), np.sin(2 * theta_N)], axis=1)
    return {"W_in": jnp.asarray(w_in_2xN, dtype), "W_out": jnp.asarray(w_out_Nx2, dtype)}


def _init(key: jax.Array, cfg: Any, init_scale, dtype) -> dict:
    return jax.tree.map(lambda w: w * init_scale, constructed_params(cfg.hidden, dtype))


@full_precision
def _collapsed(params: dict, cfg: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    e_Px2 = circular_embedding(cfg.p, [cfg.freq], params["W_in"].dtype)
    t_PxN = e_Px2 @ params["W_in"]
    return t_PxN, t_PxN, params["W_out"] @ e_Px2.T


@full_precision
def _apply(params: dict, cfg: Any, inputs) -> jax.Array:
    a_B, b_B = inputs
    t_PxN, _, o_NxP = _collapsed(params, cfg)
    return ACTIVATIONS[cfg.activation](t_PxN[a_B] + t_PxN[b_B]) @ o_NxP


def _resolve(cfg: dict, fail) -> None:
    if cfg["freq"] > (cfg["p"] - 1) // 2:
        fail("freq", f"frequency {cfg['freq']} exceeds (p-1)/2 = {(cfg['p'] - 1) // 2}")


MODEL = register(Model(
    name="constructed",
    doc="the hand-built solution: N evenly spaced neurons on a fixed circular embedding",
    settings=(Setting("hidden", int, 5, STATIC, "neurons N (exact with x^2 for N > 4)",
                      check=positive),
              ACTIVATION,
              Setting("freq", int, 1, STATIC, "frequency k of the fixed circular embedding",
                      check=positive)),
    init=_init, apply=_apply, inputs=("token_pairs",), resolve=_resolve,
    views={"collapsed": _collapsed},
    activation_width=lambda cfg: cfg.hidden + cfg.p,
    defaults={"activation": "square"},
))
