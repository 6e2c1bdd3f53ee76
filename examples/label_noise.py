"""A grokjax plugin: modular addition with a fraction of the training labels corrupted.

Doshi et al. (2024, "To grok or not to grok") corrupt a fraction of the training labels and
sweep noise x data fraction x weight decay: noise moves runs between grokking and memorizing.
Here the noise fraction ``label_noise`` is a per-run number (traced, vmapped), so one compiled
program trains every noise level.  A corrupted label is always wrong: the true label plus a
random non-zero offset mod p.  Train metrics are on the labels the model is trained on (noisy);
test metrics on clean labels of the held-out pairs.

The task reuses the built-in ``modular`` task's data, loss and progress measures, and trains with
the built-in ``modular_mlp`` model: both take "token_pairs" inputs.  Used by
``examples/label_noise.toml`` through ``[sweep] plugins = ["label_noise.py"]``.
"""

import dataclasses

import jax
import jax.numpy as jnp
from flax import struct

import grokjax
from grokjax.tasks import modular


@struct.dataclass
class NoisyData:
    clean: modular.ModularData
    flip_N: jax.Array  # uniform in [0, 1) per training row: corrupted iff flip < label_noise
    wrong_N: jax.Array  # the label a corrupted row gets (never the true one)


def make_data(cfg, data_seed):
    clean = modular.TASK.make_data(cfg, data_seed)
    # One key per row index: row i is the same whatever the padded length is.
    key = jax.random.fold_in(jax.random.key(data_seed), 0x6E6F6973)  # "nois"
    keys_N = jax.vmap(lambda i: jax.random.fold_in(key, i))(
        jnp.arange(cfg.train_pad, dtype=jnp.uint32))
    flip_N = jax.vmap(lambda k: jax.random.uniform(jax.random.fold_in(k, 0)))(keys_N)
    offset_N = jax.vmap(lambda k: jax.random.randint(jax.random.fold_in(k, 1), (), 1, cfg.p))(
        keys_N)
    return NoisyData(clean, flip_N, (clean.y_train_N + offset_N) % cfg.p)


def noisy_labels(data, hp):
    return jnp.where(data.flip_N < hp.label_noise, data.wrong_N, data.clean.y_train_N)


def train_batch(cfg, data, hp):
    d = data.clean
    return grokjax.Batch((d.a_train_N, d.b_train_N), noisy_labels(data, hp))


def eval_batches(cfg, data, hp):
    d = data.clean
    in_train_N = jnp.arange(cfg.train_pad) < hp.train_size
    is_test_P = d.rank_P >= hp.train_size
    return (grokjax.EvalBatch((d.a_train_N, d.b_train_N), noisy_labels(data, hp), in_train_N,
                              jnp.zeros_like(in_train_N)),
            grokjax.EvalBatch((d.a_P, d.b_P), d.y_P, jnp.zeros_like(is_test_P), is_test_P))


grokjax.register(dataclasses.replace(
    modular.TASK,
    name="modular_label_noise",
    doc="modular arithmetic with a per-run fraction of the training labels corrupted",
    settings=(*modular.TASK.settings,
              grokjax.Setting("label_noise", float, 0.0, grokjax.RUN,
                              "fraction of training labels replaced by a wrong one",
                              check=lambda v: None if 0 <= v <= 1 else "must be in [0, 1]")),
    make_data=make_data, train_batch=train_batch, eval_batches=eval_batches,
))
