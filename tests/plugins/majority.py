"""A test plugin: a new task (majority of n bits) and a new model (a linear classifier)."""

import jax
import jax.numpy as jnp

import grokjax
from grokjax.settings import positive


def make_data(cfg, data_seed):
    key = jax.random.key(data_seed)
    # per-row keys: row i does not depend on the padded length
    rows = lambda k, count: jax.vmap(  # noqa: E731
        lambda i: jax.random.bernoulli(jax.random.fold_in(k, i), 0.5, (cfg.n,)))(
        jnp.arange(count, dtype=jnp.uint32))
    k_train, k_test = jax.random.split(key)
    x_tr, x_te = rows(k_train, cfg.train_pad), rows(k_test, cfg.test_size)
    label = lambda x: (jnp.sum(x, axis=1) * 2 > cfg.n).astype(cfg.jnp_dtype)  # noqa: E731
    return {"x_train": x_tr.astype(cfg.jnp_dtype), "y_train": label(x_tr),
            "x_test": x_te.astype(cfg.jnp_dtype), "y_test": label(x_te)}


def train_batch(cfg, data, hp):
    return grokjax.Batch(data["x_train"], data["y_train"])


def eval_batches(cfg, data, hp):
    in_train = jnp.arange(cfg.train_pad) < hp.train_size
    test = jnp.ones(data["y_test"].shape, bool)
    return (grokjax.EvalBatch(data["x_train"], data["y_train"], in_train, jnp.zeros_like(in_train)),
            grokjax.EvalBatch(data["x_test"], data["y_test"], ~test, test))


def loss(cfg, z_B, y_B):
    return jax.nn.softplus((1 - 2 * y_B) * z_B), (z_B > 0) == (y_B > 0.5)


def resolve(cfg, fail):
    if cfg["n"] % 2 == 0:
        fail("n", f"n = {cfg['n']} must be odd (no ties)")


grokjax.register(grokjax.Task(
    name="majority", doc="label = whether most of n bits are 1",
    settings=(grokjax.Setting("n", int, 7, grokjax.STATIC, "bits", check=positive),
              grokjax.Setting("train_size", int, 64, grokjax.RUN, "training rows",
                              check=positive, array="int32"),
              grokjax.Setting("test_size", int, 128, grokjax.STATIC, "test rows",
                              check=positive)),
    make_data=make_data, train_batch=train_batch, eval_batches=eval_batches, loss=loss,
    resolve=resolve, default_model="linear", inputs="vectors",
    defaults={"steps": 200, "lr": 0.05, "weight_decay": 0.0}))

grokjax.register(grokjax.Model(
    name="linear", doc="z = x w + b",
    settings=(grokjax.Setting("bias", bool, True, grokjax.STATIC, "learn a bias"),),
    init=lambda key, cfg, scale, dtype: {
        "w": scale * jax.random.normal(key, (cfg.n,), dtype) / jnp.sqrt(cfg.n).astype(dtype),
        "b": jnp.zeros((), dtype)},
    apply=lambda params, cfg, x: x @ params["w"] + (params["b"] if cfg.bias else 0.0),
    inputs=("vectors",)))
