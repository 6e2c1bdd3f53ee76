"""Built-in gradient filters (``grad_filter``): optax transformations applied to the loss
gradient before the optimizer and its penalty, their numbers traced per run.

- ``grokfast_ema`` (Lee et al. 2024, ``ironjr/grokfast`` ``gradfilter_ema``): h starts at the
  first gradient, then h <- alpha h + (1 - alpha) g and g <- g + lambda h.
- ``grokfast_ma`` (``gradfilter_ma``, warmup on): a ring buffer of the last ``grokfast_window``
  gradients; g <- g + lambda mean(buffer) once the buffer is full, g unchanged before.
- ``orthograd`` (Prieto et al. 2025, ``orthograd.py``): per tensor, g_perp = g - (w.g / w.w) w
  rescaled to |g|.  It acts on the raw gradient: the penalty (weight decay) comes after it, as
  in their wrapper, which filters ``p.grad`` before the base optimizer's own step.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from grokjax.components import GradFilter
from grokjax.registry import register
from grokjax.settings import RUN, STATIC, Setting, nonneg, positive, unit_open

ALPHA = Setting("grokfast_alpha", float, 0.98, RUN,
                "Grokfast EMA decay (the code's default 0.98; its README uses 0.99)",
                check=unit_open)
LAMBDA = Setting("grokfast_lambda", float, 2.0, RUN,
                 "Grokfast amplification lambda (EMA code default 2.0; MA's 5.0)", check=nonneg)
WINDOW = Setting("grokfast_window", int, 100, STATIC,
                 "Grokfast MA window: gradients averaged (a buffer of that many copies)",
                 check=positive)
# orthograd.py divides by (w.w + 1e-30) and (|g_perp| + 1e-30): an all-zero tensor passes g on
TINY = 1e-30


class EmaState(NamedTuple):
    h: Any  # the filtered gradient, one per parameter
    count: jax.Array  # int32, updates seen (h is the first gradient at count 0)


def grokfast_ema(alpha: jax.Array, lamb: jax.Array) -> optax.GradientTransformation:
    """g <- g + lamb h, h <- alpha h + (1 - alpha) g with h = the first g."""

    def init(params):
        return EmaState(jax.tree.map(jnp.zeros_like, params), jnp.zeros((), jnp.int32))

    def update(g, state, params=None):
        first = state.count == 0
        h = jax.tree.map(lambda h, g: jnp.where(first, g, alpha * h + (1 - alpha) * g)
                         .astype(g.dtype), state.h, g)
        out = jax.tree.map(lambda g, h: (g + lamb * h).astype(g.dtype), g, h)
        return out, EmaState(h, state.count + 1)

    return optax.GradientTransformation(init, update)


class MaState(NamedTuple):
    buffer: Any  # window x shape per parameter: the last `window` gradients (a ring)
    count: jax.Array  # int32, gradients pushed


def grokfast_ma(window: int, lamb: jax.Array) -> optax.GradientTransformation:
    """g <- g + lamb mean(last ``window`` gradients) once ``window`` have been seen."""

    def init(params):
        return MaState(jax.tree.map(lambda w: jnp.zeros((window, *w.shape), w.dtype), params),
                       jnp.zeros((), jnp.int32))

    def update(g, state, params=None):
        slot = state.count % window
        buf = jax.tree.map(lambda b, g: b.at[slot].set(g), state.buffer, g)
        full = state.count + 1 >= window
        out = jax.tree.map(lambda g, b: jnp.where(full, g + lamb * jnp.mean(b, axis=0), g)
                           .astype(g.dtype), g, buf)
        return out, MaState(buf, state.count + 1)

    return optax.GradientTransformation(init, update)


def orthogonal(g: jax.Array, w: jax.Array) -> jax.Array:
    """g minus its component along w, rescaled to the norm of g (one tensor, flattened)."""
    proj = jnp.sum(w * g) / (jnp.sum(w * w) + TINY)
    g_perp = g - proj * w
    return g_perp * (jnp.linalg.norm(g) / (jnp.linalg.norm(g_perp) + TINY))


def orthograd() -> optax.GradientTransformation:
    def update(g, state, params):
        return jax.tree.map(lambda g, w: orthogonal(g, w).astype(g.dtype), g, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


register(GradFilter("none", "the gradient as it is", (), lambda cfg, hp: None))
register(GradFilter(
    "grokfast_ema", "Grokfast EMA: g + lambda h, h <- alpha h + (1 - alpha) g from h = g_0",
    (ALPHA, LAMBDA), lambda cfg, hp: grokfast_ema(hp.grokfast_alpha, hp.grokfast_lambda)))
register(GradFilter(
    "grokfast_ma", "Grokfast MA: g + lambda mean(last window g) once the window is full",
    (WINDOW, LAMBDA), lambda cfg, hp: grokfast_ma(cfg.grokfast_window, hp.grokfast_lambda)))
register(GradFilter(
    "orthograd", "orthogonal gradient: drop g's component along w per tensor, keep |g|", (),
    lambda cfg, hp: orthograd()))
