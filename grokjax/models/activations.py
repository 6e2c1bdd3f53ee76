"""Hidden-layer activations by name, and the ``activation`` setting the models share."""

import jax
import jax.numpy as jnp

from grokjax.settings import STATIC, Setting

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "square": jnp.square,  # x^2: makes the constructed modular solution exact (science.md 2)
    "gelu": jax.nn.gelu,
    "tanh": jnp.tanh,
    "linear": lambda x: x,
}

ACTIVATION = Setting("activation", str, "relu", STATIC, "hidden activation",
                     choices=tuple(ACTIVATIONS))
