"""Built-in tasks (each registered by name): ``parity`` and ``modular``.  Data generators are
pure and take a (traced) data seed, so data can differ per run under vmap."""

from grokjax.tasks.modular import ModularData, make_modular_data, modular_labels, pairs
from grokjax.tasks.parity import ParityData, make_parity_data, parity_labels

__all__ = [
    "ModularData",
    "ParityData",
    "make_modular_data",
    "make_parity_data",
    "modular_labels",
    "pairs",
    "parity_labels",
]
