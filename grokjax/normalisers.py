"""Built-in normalisers (a softmax task's ``normaliser`` setting) and the softmax-collapse
diagnostic of Prieto et al. (ICLR 2025, ``utils.py``).

StableMax replaces exp by s(x) = x + 1 for x >= 0 and 1 / (1 - x) for x < 0, and
log p = log(s(x) / sum s(x)).  Their code adds 1e-30 to 1 - x, which never changes a float32 or
float64 value (1 - x >= 1 there), and casts the logits to float64; here StableMax runs in the
model's dtype (``stablemax``), or in float64 inside a float32 model (``stablemax_f64``, needs
jax_enable_x64, which the sweep engine turns on).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from grokjax.components import Normaliser
from grokjax.registry import get, names, register
from grokjax.settings import STATIC, Setting

# A softmax task declares this setting and calls ``cross_entropy``
NORMALISER = Setting("normaliser", str, "softmax", STATIC,
                     "how logits become probabilities in the loss: softmax, stablemax "
                     "(Prieto et al. 2025), or either computed in float64 (_f64)",
                     choices=lambda: names("normaliser"), id_at_default=False)


def stablemax_s(x: jax.Array) -> jax.Array:
    """s(x): x + 1 for x >= 0, 1 / (1 - x) below (continuous, with slope 1 at 0)."""
    return jnp.where(x >= 0, x + 1, 1 / (1 - jnp.minimum(x, 0)))


def log_stablemax(logits_BxC: jax.Array) -> jax.Array:
    s_BxC = stablemax_s(logits_BxC)
    return jnp.log(s_BxC / jnp.sum(s_BxC, axis=-1, keepdims=True))


def log_softmax(logits_BxC: jax.Array) -> jax.Array:
    # x - logsumexp(x): the same floats as the CE lse - x_y this task always computed
    return logits_BxC - jax.nn.logsumexp(logits_BxC, axis=-1, keepdims=True)


def cross_entropy(cfg, logits_BxC: jax.Array, y_B: jax.Array) -> jax.Array:
    """Per-example -log p_y under the run's ``normaliser``."""
    logp_BxC = get("normaliser", cfg.normaliser).log_probs(logits_BxC)
    return -jnp.take_along_axis(logp_BxC, y_B[:, None], axis=-1)[:, 0]


def _in_float64(f):
    def g(logits_BxC: jax.Array) -> jax.Array:
        return f(logits_BxC.astype(jnp.float64)).astype(logits_BxC.dtype)
    return g


def softmax_collapsed(logits_BxC: jax.Array) -> jax.Array:
    """Per example: the float sum of exp(logit - max) is exactly 1 in the logits' dtype, so
    every other class's probability was absorbed (the gradient of the correct class is 0)."""
    z_BxC = logits_BxC - jnp.max(logits_BxC, axis=-1, keepdims=True)
    return jnp.sum(jnp.exp(z_BxC), axis=-1) == 1


register(Normaliser("softmax", "softmax: log p = x - logsumexp(x)", log_softmax))
register(Normaliser("stablemax", "StableMax (Prieto et al. 2025) in the model's dtype",
                    log_stablemax))
register(Normaliser("stablemax_f64", "StableMax computed in float64 (their code's cast)",
                    _in_float64(log_stablemax)))
register(Normaliser("softmax_f64", "softmax computed in float64 inside a float32 model",
                    _in_float64(log_softmax)))
