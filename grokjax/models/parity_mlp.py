"""The sparse-parity model ``mlp``: logit = act(x W_in) . w_out, one output logit, no biases.

The constant-1 input column of x makes the last row of W_in the hidden bias
(docs/experiments.md §3).
"""

from __future__ import annotations

import jax

from grokjax.components import Model
from grokjax.models.activations import ACTIVATION, ACTIVATIONS
from grokjax.models.init import rescaled_linear
from grokjax.precision import full_precision
from grokjax.registry import register
from grokjax.settings import STATIC, Setting, positive


def init_parity(key: jax.Array, d_in: int, hidden: int, init_scale, dtype) -> dict:
    k_in, k_out = jax.random.split(key)
    return {
        "W_in": rescaled_linear(k_in, d_in, (d_in, hidden), init_scale, dtype),
        "w_out": rescaled_linear(k_out, hidden, (hidden,), init_scale, dtype),
    }


@full_precision
def parity_logit(params: dict, x_BxD: jax.Array, activation: str = "relu") -> jax.Array:
    h_BxH = ACTIVATIONS[activation](x_BxD @ params["W_in"])
    return h_BxH @ params["w_out"]


MODEL = register(Model(
    name="mlp",
    doc="one hidden layer on the n bits and a constant 1 (the hidden bias), one output logit",
    settings=(Setting("hidden", int, 64, STATIC, "hidden neurons", check=positive),
              ACTIVATION),
    init=lambda key, cfg, init_scale, dtype: init_parity(key, cfg.n + 1, cfg.hidden,
                                                         init_scale, dtype),
    apply=lambda params, cfg, x_BxD: parity_logit(params, x_BxD, cfg.activation),
    inputs=("bits",),
    views={"input_weights": lambda params, cfg: params["W_in"]},
    activation_width=lambda cfg: cfg.hidden,
))
