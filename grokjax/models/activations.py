"""Hidden-layer activations by name, and the ``activation`` setting the models share."""

import jax
import jax.numpy as jnp

from grokjax.settings import STATIC, Setting

ACTIVATIONS = {
    "relu": jax.nn.relu,
    # x^2 makes the constructed modular solution exact (docs/experiments.md §2)
    "square": jnp.square,
    "gelu": jax.nn.gelu,
    "tanh": jnp.tanh,
    "linear": lambda x: x,
}

ACTIVATION = Setting("activation", str, "relu", STATIC, "hidden activation",
                     choices=tuple(ACTIVATIONS))
