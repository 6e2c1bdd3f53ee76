"""Fourier analysis of the modular-arithmetic MLP (docs/experiments.md §5): pure, jittable,
vmappable.

Conventions.  ``F`` is the orthonormal real DFT basis of ``dft_basis`` (p x p; row 0 constant,
rows 2k-1 / 2k the cos / sin of frequency k = 1 .. K, K = (p-1)/2).  A weight matrix is analysed
along its token axis: ``w_PxH`` is W_input (p x H) on the input side and W_output^T on the output
side.  Arrays indexed by frequency come in two sizes: ``_F`` = K + 1 entries (index 0 = the
constant) and ``_K`` = K entries (index i = frequency i + 1, the constant left out).

The input side of a model with separate W_input_a and W_input_b is analysed as both at once: a
coefficient's magnitude is the larger of the two sides' and a norm is the root-mean-square over
the two sides (so a shared W_in gives exactly the single-side numbers).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from grokjax.models.activations import ACTIVATIONS
from grokjax.precision import full_precision


def _check_odd(p: int) -> None:
    if p < 3 or p % 2 == 0:
        raise ValueError(f"the real DFT basis needs an odd modulus p >= 3, got p = {p}: for even"
                         " p the frequency p/2 has no sin row, so cos/sin pairs do not tile the"
                         " basis")


def n_frequencies(p: int) -> int:
    """K = (p-1)/2: the number of non-constant frequencies of an odd modulus."""
    _check_odd(p)
    return (p - 1) // 2


def dft_basis(p: int, dtype: Any = jnp.float32) -> jax.Array:
    """Orthonormal p x p real DFT matrix F_PxP (rows are basis vectors over the token axis).

    Row 0 = 1/sqrt(p); row 2k-1 = sqrt(2/p) cos(2 pi k x/p), row 2k = sqrt(2/p) sin(2 pi k x/p)
    for k = 1 .. (p-1)/2.  Built in float64 on the host (p is static), so under jit it is a
    constant.
    """
    k_max = n_frequencies(p)
    x = np.arange(p)
    rows = [np.full(p, 1 / np.sqrt(p))]
    for k in range(1, k_max + 1):
        rows += [np.cos(2 * np.pi * k * x / p), np.sin(2 * np.pi * k * x / p)]
    f_PxP = np.stack(rows)
    f_PxP[1:] *= np.sqrt(2 / p)
    return jnp.asarray(f_PxP, dtype)


def frequency_of_row(p: int) -> np.ndarray:
    """Frequency of each row of ``dft_basis(p)``: [0, 1, 1, 2, 2, ..., K, K]."""
    n_frequencies(p)
    return (np.arange(p) + 1) // 2


class NeuronFrequencies(NamedTuple):
    """Per-neuron Fourier summary of a p x H weight matrix (a pytree: jit/vmap friendly)."""

    freq_H: jax.Array  # int32 in 1..K: frequency holding the largest |coefficient| (not const)
    strength_H: jax.Array  # norm of the (cos, sin) pair of that frequency
    coef_KxH: jax.Array  # F @ w: all p coefficients (rows as in dft_basis), S x p x H if sided
    norms_FxH: jax.Array  # per-frequency norm: |const| at 0, sqrt(cos^2 + sin^2) at k
    peak_H: jax.Array  # the largest |coefficient| itself (what the cutoff rule compares)


@full_precision
def neuron_frequencies(w_PxH: jax.Array, f_PxP: jax.Array) -> NeuronFrequencies:
    """Each neuron's frequency and strength.  ``w_PxH`` may also be S x p x H (sides, see top).

    A neuron's frequency is the k whose cos or sin row holds its largest coefficient in absolute
    value (the constant row is never a frequency); its strength is the L2 norm of its (cos_k,
    sin_k) pair, i.e. ``norms_FxH[freq]``.
    """
    coef = jnp.einsum("kx,...xh->...kh", f_PxP, w_PxH.astype(f_PxP.dtype))
    sq = jnp.square(coef)
    if sq.ndim == 3:  # several sides of the same neurons
        sq_abs, sq = jnp.max(sq, axis=0), jnp.mean(sq, axis=0)
    else:
        sq_abs = sq
    norms_FxH = jnp.sqrt(jnp.concatenate([sq[:1], sq[1::2] + sq[2::2]], axis=0))
    row_H = jnp.argmax(sq_abs[1:], axis=0) + 1
    freq_H = ((row_H + 1) // 2).astype(jnp.int32)
    peak_H = jnp.sqrt(jnp.take_along_axis(sq_abs, row_H[None], axis=0)[0])
    strength_H = jnp.take_along_axis(norms_FxH, freq_H[None], axis=0)[0]
    return NeuronFrequencies(freq_H, strength_H, coef, norms_FxH, peak_H)


def frequency_norms(norms_FxH: jax.Array) -> jax.Array:
    """Total norm of each frequency over all neurons: sqrt(sum_h norms_FxH^2) -> norms_F."""
    return jnp.sqrt(jnp.sum(jnp.square(norms_FxH), axis=-1))


def key_frequencies(w_PxH: jax.Array, f_PxP: jax.Array,
                    cutoff: float = 10.0) -> tuple[jax.Array, jax.Array]:
    """The explorable's rule -> (key_K bool, counts_K int32) over frequencies 1..K.

    A neuron counts toward its frequency only if its largest |coefficient| (``peak_H``) is
    strictly greater than ``cutoff``; a frequency is key if at least one neuron counts.  The
    explorable's cutoff of 10 refers to its own (un-normalised) weights; with the orthonormal F
    here a coefficient is a plain projection, so the cutoff is scale-dependent -- see
    ``key_frequencies_by_norm`` for a scale-free rule.
    """
    nf = neuron_frequencies(w_PxH, f_PxP)
    k_max = (f_PxP.shape[0] - 1) // 2
    counts_K = jnp.zeros(k_max, jnp.int32).at[nf.freq_H - 1].add(
        (nf.peak_H > cutoff).astype(jnp.int32))
    return counts_K > 0, counts_K


def key_frequencies_by_norm(w_PxH: jax.Array, f_PxP: jax.Array,
                            fraction: float = 0.9) -> jax.Array:
    """key_K bool: the smallest set of frequencies 1..K holding ``fraction`` of the total
    non-constant squared norm (largest first).  Scale-free; empty for an all-zero matrix."""
    energy_K = jnp.square(frequency_norms(neuron_frequencies(w_PxH, f_PxP).norms_FxH[1:]))
    order = jnp.argsort(-energy_K)
    sorted_K = energy_K[order]
    before_K = jnp.cumsum(sorted_K) - sorted_K  # energy of the strictly larger ones
    take = before_K < fraction * jnp.sum(energy_K)
    return jnp.zeros(energy_K.shape, bool).at[order].set(take)


def fourier_gini(norms_F: jax.Array) -> jax.Array:
    """Gini coefficient of the (non-negative) per-frequency norms, sum |x_i - x_j| / (2 n sum x).

    0 for uniform norms; (n-1)/n for a single non-zero frequency (the maximum for n values).
    An all-zero vector counts as uniform (0).
    """
    x = jnp.sort(jnp.abs(norms_F))
    n = x.shape[-1]
    total = jnp.sum(x, axis=-1)
    rank = jnp.arange(1, n + 1, dtype=x.dtype)
    g = 2 * jnp.sum(rank * x, axis=-1) / (n * jnp.where(total > 0, total, 1)) - (n + 1) / n
    return jnp.where(total > 0, g, 0.0)


def top_k_share(norms_F: jax.Array, k: int = 4) -> jax.Array:
    """Share of the total squared norm held by the k largest entries (all-zero: k/n, uniform)."""
    sq = jnp.square(norms_F)
    n = sq.shape[-1]
    k = min(k, n)
    total = jnp.sum(sq, axis=-1)
    top = jnp.sum(jax.lax.top_k(sq, k)[0], axis=-1)
    return jnp.where(total > 0, top / jnp.where(total > 0, total, 1), k / n)


# ---------------------------------------------------------------------------------------------
# Whole-model helpers
# ---------------------------------------------------------------------------------------------


def analysis_dtype(params: dict) -> Any:
    """float32 at least (never analyse in a narrower type than the DFT needs)."""
    return jnp.promote_types(jnp.result_type(*jax.tree.leaves(params)), jnp.float32)


def collapsed_view(params: dict, static: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(W_input_a p x H, W_input_b p x H, W_output H x p) from the run's model's ``collapsed``
    view (``grokjax.components.Model.views``)."""
    view = static.components.model.views.get("collapsed")
    if view is None:
        raise ValueError(f"model {static.model!r} has no collapsed p x H view; the Fourier "
                         "analysis needs one")
    return view(params, static)


TABLE_VIEWS = ("collapsed", "token_tables")


def has_token_tables(model: Any) -> bool:
    """Whether a model offers p-row token tables for the Fourier analysis: its ``collapsed``
    view, or a ``token_tables`` view (same shapes, e.g. a transformer's W_E and W_U, which do
    not compose into the logits as act(W_a[a] + W_b[b]) W_output)."""
    return any(v in model.views for v in TABLE_VIEWS)


def token_tables(params: dict, static: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(input table of a p x H, of b p x H, output table H x p): the ``collapsed`` view, else
    the ``token_tables`` view."""
    views = static.components.model.views
    for name in TABLE_VIEWS:
        if name in views:
            return views[name](params, static)
    raise ValueError(f"model {static.model!r} has no p x H token tables (a 'collapsed' or "
                     "'token_tables' view); the Fourier analysis needs one")


def input_side_weights(params: dict, static: Any) -> jax.Array:
    """W_input (p x H), or 2 x p x H when a and b have different tables."""
    t_a_PxH, t_b_PxH, _ = token_tables(params, static)
    # collapsed_view returns the same object when a and b share E and W_in (trace-time identity)
    return t_a_PxH if t_a_PxH is t_b_PxH else jnp.stack([t_a_PxH, t_b_PxH])


def output_side_weights(params: dict, static: Any) -> jax.Array:
    """W_output^T (p x H): output-side weights with the token axis first."""
    return token_tables(params, static)[2].T


@full_precision
def frequency_logits(params: dict, static: Any, a: jax.Array, b: jax.Array,
                     cutoff: float = 0.0) -> jax.Array:
    """Per-frequency logit contributions, shape (..., K+1, p) for pairs a, b of shape (...).

    Neurons are grouped by their input-side frequency; row k (1..K) is act(hidden) masked to
    group k times W_output.  Row 0 holds the neurons whose peak coefficient is <= ``cutoff``
    (unassigned; empty for the default 0), so the rows sum to the model's logits.
    """
    t_a_PxH, t_b_PxH, o_HxP = collapsed_view(params, static)
    f_PxP = dft_basis(static.p, analysis_dtype(params))
    nf = neuron_frequencies(input_side_weights(params, static), f_PxP)
    group_H = jnp.where(nf.peak_H > cutoff, nf.freq_H, 0)
    mask_FxH = group_H[None, :] == jnp.arange(n_frequencies(static.p) + 1)[:, None]
    h = ACTIVATIONS[static.activation](t_a_PxH[a] + t_b_PxH[b])
    return jnp.einsum("...h,fh,hc->...fc", h, mask_FxH.astype(h.dtype), o_HxP)
