"""Importing this module registers the built-in components (tasks, models, optimizers,
penalties, gradient filters, normalisers) -- through the same ``grokjax.registry.register`` a
user's plugin file calls."""

from grokjax import filters, normalisers, optim  # noqa: F401
from grokjax.models import constructed, modular_mlp, parity_mlp, transformer  # noqa: F401
from grokjax.tasks import modular, parity  # noqa: F401
