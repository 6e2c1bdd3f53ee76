"""Host-side analysis over the whole p x p grid of pairs, from a model's ``attention`` and
``neurons`` views (``grokjax.components.Model.views``): the attention pattern of the readout
position, and each MLP neuron's frequency in the 2D Fourier basis (Nanda et al. 2023, sec. 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np

from grokjax.analysis.fourier import dft_basis, frequency_of_row

# A neuron counts as "on" its frequency when that frequency explains this share of its
# non-constant variance over the grid (Nanda et al. call such neurons well explained).
CLEAN_SHARE = 0.5


def _grid(p: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    return jnp.asarray(a.ravel(), jnp.int32), jnp.asarray(b.ravel(), jnp.int32)


def attention_grid(params: Mapping[str, Any], static: Any) -> np.ndarray:
    """n_heads x p x p x S: the readout position's attention to each position, for every pair
    (a, b) (rows a, columns b)."""
    p = static.p
    a, b = _grid(p)
    att_BxHxS = np.asarray(static.components.model.views["attention"](params, static, a, b))
    return att_BxHxS.reshape(p, p, *att_BxHxS.shape[1:]).transpose(2, 0, 1, 3)


def neuron_frequencies_2d(acts_PxPxM: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(freq_M, share_M): each neuron's frequency k (1..K) in the 2D real DFT of its activation
    over the grid, and the share of its non-constant squared coefficients on the terms made of
    frequency k alone (cos/sin k·a, cos/sin k·b and their products).  Needs odd p."""
    p = acts_PxPxM.shape[0]
    f_PxP = np.asarray(dft_basis(p), np.float64)
    coef = np.einsum("ia,abm,jb->ijm", f_PxP, acts_PxPxM.astype(np.float64), f_PxP)
    sq = np.square(coef)
    sq[0, 0] = 0  # the constant
    row_f = frequency_of_row(p)
    k_max = (p - 1) // 2
    # energy of frequency k: rows and columns of frequency 0 or k, not both 0
    energy_KxM = np.stack([
        sq[np.isin(row_f, (0, k))][:, np.isin(row_f, (0, k))].sum(axis=(0, 1))
        for k in range(1, k_max + 1)])
    total_M = sq.sum(axis=(0, 1))
    best = np.argmax(energy_KxM, axis=0)
    share = energy_KxM[best, np.arange(best.size)] / np.where(total_M > 0, total_M, 1)
    return best + 1, share


def neuron_grid(params: Mapping[str, Any], static: Any) -> np.ndarray:
    """p x p x M: the model's ``neurons`` view over every pair."""
    p = static.p
    a, b = _grid(p)
    acts = np.asarray(static.components.model.views["neurons"](params, static, a, b))
    return acts.reshape(p, p, -1)


__all__ = ["CLEAN_SHARE", "attention_grid", "neuron_frequencies_2d", "neuron_grid"]
