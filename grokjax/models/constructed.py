"""The hand-built ("20 parameter") solution of modular addition, science.md 2.

With the fixed circular embedding of frequency k (columns cos, sin of 2 pi i k / p) and N evenly
spaced neurons, theta = 2 pi / N:  W_in column i = (cos i theta, sin i theta),
W_out row i = (cos 2 i theta, sin 2 i theta).  With the x^2 activation the logits are
proportional to cos^2((a-b) w/2) cos((a+b-c) w), so argmax_c = (a+b) mod p exactly for N > 4;
with ReLU the construction is only approximately right.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def constructed_params(n_neurons: int, dtype=jnp.float32) -> dict:
    """Parameters {W_in: 2 x N, W_out: N x 2} for a model with ``fixed_embed = [k]``.

    The frequency k lives in the (fixed) embedding, so the same matrices serve every k.
    """
    theta_N = 2 * np.pi * np.arange(n_neurons) / n_neurons
    w_in_2xN = np.stack([np.cos(theta_N), np.sin(theta_N)])
    w_out_Nx2 = np.stack([np.cos(2 * theta_N), np.sin(2 * theta_N)], axis=1)
    return {"W_in": jnp.asarray(w_in_2xN, dtype), "W_out": jnp.asarray(w_out_Nx2, dtype)}
