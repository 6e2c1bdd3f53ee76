"""Initialisers shared by the models (the notebooks' choices, science.md 1)."""

import jax
import jax.numpy as jnp

# std of a standard normal truncated to [-2, 2]; dividing by it makes the truncated std exact.
_TRUNC_STD = 0.87962566103423978


def truncated_normal(key: jax.Array, shape: tuple[int, ...], std, dtype) -> jax.Array:
    return jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype) * (std / _TRUNC_STD)


def linear_init(key, fan_in: int, shape, scale, dtype):
    """Truncated normal with std 1/sqrt(fan_in), times the per-run init scale."""
    return truncated_normal(key, shape, scale / jnp.sqrt(fan_in).astype(dtype), dtype)


def embed_init(key, p: int, shape, scale, dtype):
    """Variance scaling for an embedding over p tokens: std sqrt(2/p), times the init scale."""
    return truncated_normal(key, shape, scale * jnp.sqrt(2.0 / p).astype(dtype), dtype)
