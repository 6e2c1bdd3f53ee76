"""Key-frequency rules shared by the modular task's progress measures, its rows and the explorer.

The progress measures themselves belong to the tasks (``Task.progress``; the modular task's in
``grokjax.tasks.modular``); ``progress_measures`` evaluates a run's task's measures.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grokjax.analysis.fourier import (
    dft_basis,
    has_token_tables,
    input_side_weights,
    key_frequencies,
    key_frequencies_by_norm,
)
from grokjax.precision import full_precision

# The explorable's per-neuron cutoff (for its un-normalised weights; see key_frequencies).
KEY_CUTOFF = 10.0
# Share of the non-constant squared input-side norm the norm-fraction key set must hold.
KEY_FRACTION = 0.9


@full_precision
def progress_measures(params: dict, static: Any) -> dict[str, jax.Array]:
    """name -> scalar: the progress measures the run's task logs (``Task.progress``)."""
    task = static.components.task
    if task.progress is None or not task.progress_keys(static):
        return {}
    return task.progress(static, params)


@full_precision
def final_key_frequencies(params: dict, static: Any, rule: str = "norm",
                          cutoff: float = KEY_CUTOFF,
                          fraction: float = KEY_FRACTION) -> np.ndarray:
    """Host side: the input-side key frequencies (ascending ints in 1..K) of one run's params.

    ``rule`` = "norm" (default, scale-free, as ``n_key_freqs_norm``) or "cutoff" (the explorable's
    rule, as ``n_key_freqs``).  Empty for a model without p-row token tables and for even p.
    """
    if rule not in ("norm", "cutoff"):
        raise ValueError(f"rule = {rule!r}; allowed: 'norm' or 'cutoff'")
    p = static.get("p")
    if p is None or p % 2 == 0 or not has_token_tables(static.components.model):
        return np.zeros(0, np.int64)
    f_PxP = dft_basis(p, jnp.promote_types(static.jnp_dtype, jnp.float32))
    w = input_side_weights(params, static)
    key_K = (key_frequencies_by_norm(w, f_PxP, fraction) if rule == "norm"
             else key_frequencies(w, f_PxP, cutoff)[0])
    return np.flatnonzero(np.asarray(key_K)).astype(np.int64) + 1
