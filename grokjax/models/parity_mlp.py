"""The sparse-parity model: logit = act(x W_in) . w_out, a single output logit, no biases.

The constant-1 input column of x makes the last row of W_in the hidden bias (science.md 3).
"""

from __future__ import annotations

import jax

from grokjax.models.activations import ACTIVATIONS
from grokjax.models.init import linear_init
from grokjax.precision import full_precision


def init_parity(key: jax.Array, d_in: int, hidden: int, init_scale, dtype) -> dict:
    k_in, k_out = jax.random.split(key)
    return {
        "W_in": linear_init(k_in, d_in, (d_in, hidden), init_scale, dtype),
        "w_out": linear_init(k_out, hidden, (hidden,), init_scale, dtype),
    }


@full_precision
def parity_logit(params: dict, x_BxD: jax.Array, activation: str = "relu") -> jax.Array:
    h_BxH = ACTIVATIONS[activation](x_BxD @ params["W_in"])
    return h_BxH @ params["w_out"]
