"""Sparse-parity progress measure (docs/experiments.md §5): weight on the k relevant bits vs the
rest.

W_in is (n+1) x H: rows 0..n-1 are the input bits (the label is the parity of the first k),
row n is the hidden bias (the constant-1 input), which belongs to neither group.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def bit_norms_D(params: dict) -> jax.Array:
    """L2 norm of each bit's W_in row, shape (n,): the bias row is left out."""
    return jnp.linalg.norm(params["W_in"][:-1], axis=-1)


def relevant_weight_norms(params: dict, k: int) -> tuple[jax.Array, jax.Array]:
    """(relevant_norm, distracting_norm): L2 (Frobenius) norm of W_in rows 0..k-1 and k..n-1.

    A generalizing network puts its weight on the relevant rows; at a random init the ratio is
    about sqrt(k / (n - k)).
    """
    w_in = params["W_in"][:-1]
    return jnp.linalg.norm(w_in[:k]), jnp.linalg.norm(w_in[k:])
