"""Sparse parity: n random bits, label = parity of the first k, plus a constant-1 bias input.

Registered as the task ``parity`` (docs/experiments.md §3); its default model is ``mlp``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from grokjax.components import Batch, EvalBatch, Task
from grokjax.registry import register
from grokjax.settings import RUN, STATIC, Setting, positive


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


def bce(z_B: jax.Array, y_B: jax.Array) -> jax.Array:
    """-log sigmoid(+-z), stable; equals softmax CE of [z, 0] against a fixed 0 logit."""
    return jax.nn.softplus((1 - 2 * y_B) * z_B)


def _make_data(cfg: Any, data_seed: jax.Array) -> ParityData:
    return make_parity_data(cfg.n, cfg.k, cfg.train_pad, cfg.test_size, data_seed,
                            cfg.jnp_dtype)


def _train_batch(cfg: Any, data: ParityData, hp: Any) -> Batch:
    return Batch(data.x_train_NxD, data.y_train_N)


def _eval_batches(cfg: Any, data: ParityData, hp: Any) -> tuple[EvalBatch, ...]:
    in_train_N = jnp.arange(cfg.train_pad) < hp.train_size
    test_M = jnp.ones(data.y_test_M.shape, bool)
    return (EvalBatch(data.x_train_NxD, data.y_train_N, in_train_N, jnp.zeros_like(in_train_N)),
            EvalBatch(data.x_test_MxD, data.y_test_M, jnp.zeros_like(test_M), test_M))


def _loss(cfg: Any, z_B: jax.Array, y_B: jax.Array) -> tuple[jax.Array, jax.Array]:
    return bce(z_B, y_B), (z_B > 0) == (y_B > 0.5)


def _resolve(cfg: dict, fail) -> None:
    if cfg["k"] > cfg["n"]:
        fail("k", f"k = {cfg['k']} exceeds n = {cfg['n']}; allowed: 1 <= k <= n")
    if cfg["train_size"] > 2 ** cfg["n"]:
        fail("train_size", f"train_size = {cfg['train_size']} is larger than the data: only "
             f"2**n = {2 ** cfg['n']} distinct sequences exist")


PROGRESS = ("relevant_norm", "distracting_norm")


def _progress_keys(cfg: Any) -> tuple[str, ...]:
    return PROGRESS if "input_weights" in cfg.components.model.views else ()


def _progress(cfg: Any, params: Any) -> dict[str, jax.Array]:
    """L2 norm of the first-layer weights on the k relevant bits and on the n - k others."""
    w_DxH = cfg.components.model.views["input_weights"](params, cfg)[:cfg.n]  # no bias row
    dtype = cfg.jnp_dtype
    return {"relevant_norm": jnp.linalg.norm(w_DxH[:cfg.k]).astype(dtype),
            "distracting_norm": jnp.linalg.norm(w_DxH[cfg.k:]).astype(dtype)}


TASK = register(Task(
    name="parity",
    doc="sparse parity: the label is the parity of the first k of n random bits",
    settings=(
        Setting("n", int, 30, STATIC, "bits per sequence", check=positive),
        Setting("k", int, 3, STATIC, "the label is the parity of the first k bits",
                check=positive),
        Setting("train_size", int, 1000, RUN, "training sequences (a fixed batch)",
                check=positive, array="int32"),
        Setting("test_size", int, 5000, STATIC, "held-out test sequences", check=positive),
    ),
    make_data=_make_data, train_batch=_train_batch, eval_batches=_eval_batches, loss=_loss,
    resolve=_resolve, default_model="mlp", inputs="bits",
    defaults={"steps": 20_000, "lr": 3e-3, "weight_decay": 0.1, "beta1": 0.99},
    progress_keys=_progress_keys, progress=_progress,
))
