"""Hidden-layer activations by name."""

import jax
import jax.numpy as jnp

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "square": jnp.square,  # x^2: makes the constructed modular solution exact (science.md 2)
    "gelu": jax.nn.gelu,
    "tanh": jnp.tanh,
    "linear": lambda x: x,
}
