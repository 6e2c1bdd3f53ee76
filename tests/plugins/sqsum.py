"""A test plugin as a new user writes one: a task (a^2 + b^2) mod p that reuses the modular
task's data with its own labels, and a model (an MLP with LayerNorm) with no analysis views."""

import dataclasses

import jax
import jax.numpy as jnp

import grokjax
from grokjax.settings import positive
from grokjax.tasks import modular


def make_data(cfg, data_seed):
    data = modular.TASK.make_data(cfg, data_seed)
    y = lambda a, b: (a * a + b * b) % cfg.p  # noqa: E731
    return data.replace(y_P=y(data.a_P, data.b_P), y_train_N=y(data.a_train_N, data.b_train_N))


grokjax.register(dataclasses.replace(
    modular.TASK, name="sqsum", doc="(a^2 + b^2) mod p on the modular task's pairs",
    make_data=make_data, default_model="ln_mlp", progress_keys=lambda cfg: (),
    progress=None, run_columns=None))


def init(key, cfg, scale, dtype):
    k_e, k_h, k_o = jax.random.split(key, 3)
    d = cfg.hidden
    return {"embed": scale * jax.random.normal(k_e, (cfg.p, d), dtype) / jnp.sqrt(d),
            "w_h": scale * jax.random.normal(k_h, (2 * d, d), dtype) / jnp.sqrt(2 * d),
            "w_o": scale * jax.random.normal(k_o, (d, cfg.p), dtype) / jnp.sqrt(d)}


def apply(params, cfg, inputs):
    a_B, b_B = inputs
    x_BxD = jnp.concatenate([params["embed"][a_B], params["embed"][b_B]], axis=-1)
    h_BxD = jax.nn.relu(x_BxD @ params["w_h"])
    if cfg.layernorm:
        mu, var = h_BxD.mean(-1, keepdims=True), h_BxD.var(-1, keepdims=True)
        h_BxD = (h_BxD - mu) / jnp.sqrt(var + 1e-5)
    return h_BxD @ params["w_o"]


grokjax.register(grokjax.Model(
    name="ln_mlp", doc="embed a and b, concatenate, ReLU layer, optional LayerNorm, unembed",
    settings=(grokjax.Setting("hidden", int, 64, grokjax.STATIC, "hidden width",
                              check=positive),
              grokjax.Setting("layernorm", bool, True, grokjax.STATIC, "LayerNorm the hidden "
                              "layer")),
    init=init, apply=apply, inputs=("token_pairs",)))
