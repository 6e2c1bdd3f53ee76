"""Sparse parity: n random bits, label = parity of the first k, plus a constant-1 bias input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class ParityData:
    x_train_NxD: jax.Array  # N = padded train size, D = n + 1 (last column is the constant 1)
    y_train_N: jax.Array  # 0/1 labels in the float dtype
    x_test_MxD: jax.Array
    y_test_M: jax.Array


def parity_labels(bits_BxN: jax.Array, k: int) -> jax.Array:
    """Parity (0/1) of the first k bits of each row."""
    return jnp.sum(bits_BxN[:, :k].astype(jnp.int32), axis=1) % 2


def _rows(key: jax.Array, count: int, n: int) -> jax.Array:
    # One key per row (fold_in of the row index): row i is the same whatever `count` is, so a
    # run padded to a longer train set sees exactly the sequences it would see alone.
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(count, dtype=jnp.uint32))
    return jax.vmap(lambda kk: jax.random.bernoulli(kk, 0.5, (n,)))(keys)


def make_parity_data(n: int, k: int, n_train: int, test_size: int, data_seed: jax.Array,
                     dtype=jnp.float32) -> ParityData:
    """Train set of ``n_train`` sequences (the first ``train_size`` are used) and a test set.

    Train and test rows come from independent keys, so a run's test set does not depend on the
    padding of its train set.
    """
    k_train, k_test = jax.random.split(jax.random.key(data_seed))
    out = []
    for key, count in ((k_train, n_train), (k_test, test_size)):
        bits_BxN = _rows(key, count, n)
        x_BxD = jnp.concatenate([bits_BxN, jnp.ones((count, 1), bool)], axis=1).astype(dtype)
        out += [x_BxD, parity_labels(bits_BxN, k).astype(dtype)]
    return ParityData(*out)
