"""Pure init/apply for the built-in models (each registered by name): ``mlp`` (sparse parity),
``modular_mlp`` (the modular family, fixed-embedding variant included) and ``constructed``."""

from grokjax.models.activations import ACTIVATIONS
from grokjax.models.constructed import constructed_params
from grokjax.models.modular_mlp import (
    circular_embedding,
    collapsed_view,
    init_modular,
    modular_logits,
)
from grokjax.models.parity_mlp import init_parity, parity_logit

__all__ = [
    "ACTIVATIONS",
    "circular_embedding",
    "collapsed_view",
    "constructed_params",
    "init_modular",
    "init_parity",
    "modular_logits",
    "parity_logit",
]
