"""Modular arithmetic (a op b) mod p on all pairs (or the a <= b half), with a random split."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

OPS = {
    "add": lambda a, b, p: (a + b) % p,
    "sub": lambda a, b, p: (a - b) % p,
    "mul": lambda a, b, p: (a * b) % p,
}


@struct.dataclass
class ModularData:
    a_P: jax.Array  # every pair (P = p*p, or p*(p+1)/2 when symmetric)
    b_P: jax.Array
    y_P: jax.Array
    rank_P: jax.Array  # position of each pair in the random permutation: train iff rank < n
    a_train_N: jax.Array  # the first N pairs of the permutation (N = padded train size)
    b_train_N: jax.Array
    y_train_N: jax.Array


def pairs(p: int, symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    """All ordered pairs (a, b), or those with a <= b, in row-major order."""
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    a, b = a.ravel(), b.ravel()
    if symmetric:
        keep = a <= b
        a, b = a[keep], b[keep]
    return a.astype(np.int32), b.astype(np.int32)


def modular_labels(a, b, p: int, op: str):
    return OPS[op](a, b, p)


def make_modular_data(p: int, op: str, symmetric: bool, n_train: int, data_seed: jax.Array
                      ) -> ModularData:
    """All pairs with labels and a random permutation; the first ``train_size`` are training."""
    a_np, b_np = pairs(p, symmetric)
    a_P, b_P = jnp.asarray(a_np), jnp.asarray(b_np)
    y_P = modular_labels(a_P, b_P, p, op)
    perm_P = jax.random.permutation(jax.random.key(data_seed), a_P.shape[0])
    rank_P = jnp.zeros_like(perm_P).at[perm_P].set(jnp.arange(perm_P.shape[0], dtype=perm_P.dtype))
    idx_N = perm_P[:n_train]
    return ModularData(a_P, b_P, y_P, rank_P.astype(jnp.int32), a_P[idx_N], b_P[idx_N], y_P[idx_N])
