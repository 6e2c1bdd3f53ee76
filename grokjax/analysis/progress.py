"""Progress measures logged inside the compiled training loop, one fixed set of keys per task.

Every function here is jittable and vmappable over stacked params (``static`` is static).  The
modular measures cost one p x p by p x H matmul; for an even p (no real DFT basis) they are NaN
so that the curves of every run of a task have the same keys and shapes.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grokjax.analysis.fourier import (
    dft_basis,
    fourier_gini,
    frequency_norms,
    input_side_weights,
    key_frequencies,
    key_frequencies_by_norm,
    neuron_frequencies,
    top_k_share,
)
from grokjax.analysis.parity import relevant_weight_norms
from grokjax.precision import full_precision

# The explorable's per-neuron cutoff (for its un-normalised weights; see key_frequencies).
KEY_CUTOFF = 10.0
# Share of the non-constant squared input-side norm the norm-fraction key set must hold.
KEY_FRACTION = 0.9

PROGRESS_KEYS = {
    "modular": ("fourier_gini_in", "top4_share_in", "n_key_freqs", "n_key_freqs_norm"),
    "parity": ("relevant_norm", "distracting_norm"),
}


@full_precision
def progress_measures(params: dict, static: Any) -> dict[str, jax.Array]:
    """name -> scalar (in the run's dtype), keys ``PROGRESS_KEYS[static.task]``.

    modular: Gini of the per-frequency input-side norms (constant excluded), share of squared
    norm in the top 4 frequencies, number of key frequencies by the explorable's cutoff rule
    (cutoff ``KEY_CUTOFF`` on orthonormal-DFT coefficients) and by the norm-fraction rule.
    parity: L2 norm of W_in on the k relevant bits and on the n - k distracting bits.
    """
    dtype = static.jnp_dtype
    if static.task == "parity":
        rel, dis = relevant_weight_norms(params, static.k)
        return {"relevant_norm": rel.astype(dtype), "distracting_norm": dis.astype(dtype)}
    if static.p % 2 == 0:
        return {name: jnp.array(jnp.nan, dtype) for name in PROGRESS_KEYS["modular"]}
    f_PxP = dft_basis(static.p, jnp.promote_types(dtype, jnp.float32))
    w = input_side_weights(params, static)
    norms_K = frequency_norms(neuron_frequencies(w, f_PxP).norms_FxH[1:])
    out = {
        "fourier_gini_in": fourier_gini(norms_K),
        "top4_share_in": top_k_share(norms_K, 4),
        "n_key_freqs": jnp.sum(key_frequencies(w, f_PxP, KEY_CUTOFF)[0]),
        "n_key_freqs_norm": jnp.sum(key_frequencies_by_norm(w, f_PxP, KEY_FRACTION)),
    }
    return {name: v.astype(dtype) for name, v in out.items()}


@full_precision
def final_key_frequencies(params: dict, static: Any, rule: str = "norm",
                          cutoff: float = KEY_CUTOFF,
                          fraction: float = KEY_FRACTION) -> np.ndarray:
    """Host side: the input-side key frequencies (ascending ints in 1..K) of one run's params.

    ``rule`` = "norm" (default, scale-free, as ``n_key_freqs_norm``) or "cutoff" (the explorable's
    rule, as ``n_key_freqs``).  Empty for parity tasks and even p.
    """
    if rule not in ("norm", "cutoff"):
        raise ValueError(f"rule = {rule!r}; allowed: 'norm' or 'cutoff'")
    if static.task != "modular" or static.p % 2 == 0:
        return np.zeros(0, np.int64)
    f_PxP = dft_basis(static.p, jnp.promote_types(static.jnp_dtype, jnp.float32))
    w = input_side_weights(params, static)
    key_K = (key_frequencies_by_norm(w, f_PxP, fraction) if rule == "norm"
             else key_frequencies(w, f_PxP, cutoff)[0])
    return np.flatnonzero(np.asarray(key_K)).astype(np.int64) + 1
