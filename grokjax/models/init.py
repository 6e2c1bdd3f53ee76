"""Initialisers shared by the models: dm-haiku's defaults, which the explorable's notebooks use
(docs/experiments.md §1), and grokjax's earlier rescaled rule.

* ``variance_scaling`` -- haiku's ``VarianceScaling(scale, "fan_in", "truncated_normal")``: a
  normal truncated to +-2 std, rescaled so the std is exactly sqrt(scale / fan_in).
* ``haiku_linear`` -- ``hk.Linear``'s default ``TruncatedNormal(1 / sqrt(fan_in))``: the same cut
  at +-2 std but *not* rescaled, so the actual std is ~0.88 / sqrt(fan_in).
* ``rescaled_linear`` -- a truncated normal whose actual std is exactly 1 / sqrt(fan_in).
"""

import jax
import jax.numpy as jnp

# std of a standard normal truncated to [-2, 2]; dividing by it makes the truncated std exact.
TRUNC_STD = 0.87962566103423978


def truncated_normal(key: jax.Array, shape: tuple[int, ...], std, dtype) -> jax.Array:
    """A normal truncated to [-2 std, 2 std] whose actual std is ``std``."""
    # the per-run scale is in the run's dtype; the tensor keeps the dtype asked for
    return (jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)
            * (std / TRUNC_STD)).astype(dtype)


def rescaled_linear(key: jax.Array, fan_in: int, shape, scale, dtype) -> jax.Array:
    """Truncated normal with actual std 1/sqrt(fan_in), times the per-run init scale."""
    return truncated_normal(key, shape, scale / jnp.sqrt(fan_in).astype(dtype), dtype)


def haiku_linear(key: jax.Array, fan_in: int, shape, scale, dtype) -> jax.Array:
    """``hk.Linear``'s default: ``TruncatedNormal(stddev=1/sqrt(fan_in))``, cut at +-2 stddev and
    not rescaled (actual std TRUNC_STD / sqrt(fan_in)), times the per-run init scale."""
    std = scale / jnp.sqrt(fan_in).astype(dtype)
    return (jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype) * std).astype(dtype)


def variance_scaling(key: jax.Array, fan_in: int, shape, scale, dtype) -> jax.Array:
    """haiku's ``VarianceScaling(2.0)``: std exactly sqrt(2/fan_in), times the init scale."""
    return truncated_normal(key, shape, scale * jnp.sqrt(2.0 / fan_in).astype(dtype), dtype)


def embed_init(key: jax.Array, p: int, shape, scale, dtype) -> jax.Array:
    """Variance scaling for an embedding over p tokens: std sqrt(2/p), times the init scale."""
    return variance_scaling(key, p, shape, scale, dtype)
