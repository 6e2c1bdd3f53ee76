"""Binds a task's data to its model and objective: data, init, training loss, evaluation.

Losses are computed stably (softplus / log-sum-exp), so a float32 loss can fall far below
float32 epsilon; how the phase rules floor them is decided in ``grokjax.phases``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from grokjax.models.modular_mlp import init_modular, modular_logits
from grokjax.models.parity_mlp import init_parity, parity_logit
from grokjax.static import Static
from grokjax.tasks.modular import ModularData, make_modular_data
from grokjax.tasks.parity import ParityData, make_parity_data


def make_data(static: Static, data_seed: jax.Array) -> ParityData | ModularData:
    if static.task == "parity":
        return make_parity_data(static.n, static.k, static.train_pad, static.test_size,
                                data_seed, static.jnp_dtype)
    return make_modular_data(static.p, static.op, static.symmetric, static.train_pad, data_seed)


def init_params(static: Static, key: jax.Array, init_scale: jax.Array) -> dict:
    dtype = static.jnp_dtype
    if static.task == "parity":
        return init_parity(key, static.n + 1, static.hidden, init_scale, dtype)
    return init_modular(key, static, init_scale, dtype)


def _bce(z_B: jax.Array, y_B: jax.Array) -> jax.Array:
    # -log sigmoid(+-z), stable; equals softmax CE of [z, 0] against a fixed 0 logit.
    return jax.nn.softplus((1 - 2 * y_B) * z_B)


def _ce(static: Static, logits_BxP: jax.Array, y_B: jax.Array) -> jax.Array:
    lse_B = jax.nn.logsumexp(logits_BxP, axis=-1)
    ce_B = lse_B - jnp.take_along_axis(logits_BxP, y_B[:, None], axis=-1)[:, 0]
    return ce_B / static.p if static.loss == "ce_class_mean" else ce_B


def _per_example(static: Static, params: dict, inputs) -> tuple[jax.Array, jax.Array]:
    """(loss_B, correct_B) for a batch of inputs of the task."""
    if static.task == "parity":
        x_BxD, y_B = inputs
        z_B = parity_logit(params, x_BxD, static.activation)
        return _bce(z_B, y_B), ((z_B > 0) == (y_B > 0.5))
    a_B, b_B, y_B = inputs
    logits_BxP = modular_logits(params, static, a_B, b_B)
    return _ce(static, logits_BxP, y_B), jnp.argmax(logits_BxP, axis=-1) == y_B


def train_loss(params: dict, static: Static, data, train_size: jax.Array) -> jax.Array:
    """Mean loss over the run's first ``train_size`` rows of the padded train set."""
    if static.task == "parity":
        inputs = (data.x_train_NxD, data.y_train_N)
    else:
        inputs = (data.a_train_N, data.b_train_N, data.y_train_N)
    loss_N, _ = _per_example(static, params, inputs)
    mask_N = jnp.arange(static.train_pad) < train_size
    return jnp.sum(jnp.where(mask_N, loss_N, 0)) / train_size.astype(loss_N.dtype)


def evaluate(params: dict, static: Static, data, train_size: jax.Array) -> dict[str, jax.Array]:
    """Train and test loss and accuracy of the current parameters."""
    dtype = static.jnp_dtype
    if static.task == "parity":
        l_tr, c_tr = _per_example(static, params, (data.x_train_NxD, data.y_train_N))
        mask = jnp.arange(static.train_pad) < train_size
        n_tr = train_size.astype(dtype)
        train_loss_ = jnp.sum(jnp.where(mask, l_tr, 0)) / n_tr
        train_acc = jnp.sum(jnp.where(mask, c_tr, 0)) / n_tr
        l_te, c_te = _per_example(static, params, (data.x_test_MxD, data.y_test_M))
        test_loss_, test_acc = jnp.mean(l_te), jnp.mean(c_te.astype(dtype))
    else:
        # One pass over every pair; the rank of a pair in the permutation says which split.
        loss_P, correct_P = _per_example(static, params, (data.a_P, data.b_P, data.y_P))
        is_train = data.rank_P < train_size
        n_tr = train_size.astype(dtype)
        n_te = (data.rank_P.shape[0] - train_size).astype(dtype)
        train_loss_ = jnp.sum(jnp.where(is_train, loss_P, 0)) / n_tr
        test_loss_ = jnp.sum(jnp.where(is_train, 0, loss_P)) / n_te
        train_acc = jnp.sum(jnp.where(is_train, correct_P, 0)) / n_tr
        test_acc = jnp.sum(jnp.where(is_train, 0, correct_P)) / n_te
    return {"train_loss": train_loss_, "test_loss": test_loss_,
            "train_acc": train_acc.astype(dtype), "test_acc": test_acc.astype(dtype)}
