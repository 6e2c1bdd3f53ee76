"""Host-side analysis of one saved parameter snapshot (numpy), as the run explorer shows it.

``modular_snapshot``: the collapsed weights, their DFT and each neuron's frequency and angle;
``largest_frequencies``: key frequencies from the per-frequency norms, for runs whose stored
results hold none; ``parity_snapshot``: the first-layer weights and their per-bit norms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from grokjax.analysis.fourier import (
    dft_basis,
    frequency_norms,
    input_side_weights,
    neuron_frequencies,
    token_tables,
)
from grokjax.analysis.parity import bit_norms_D
from grokjax.analysis.progress import KEY_FRACTION


def modular_snapshot(params: Mapping[str, np.ndarray], static: Any) -> dict[str, Any]:
    """Token tables (the collapsed weights, or a model's ``token_tables``), their DFT and the
    neurons' frequencies at one snapshot (numpy).

    Always ``wa``, ``wb`` (None when a and b share the table), ``wo`` (W_output^T), all p x H,
    and ``dft``.  For odd p >= 3 (``dft`` True) also the DFT coefficients ``ca``, ``cb``, ``co``
    (p x H), each neuron's input-side frequency ``freq`` (and output-side ``freq_out``), its
    angle in the (cos, sin) plane of that frequency, peak coefficient, the per-frequency norms
    ``norm_in`` / ``norm_out`` (index 0 = constant) and ``order``: neurons grouped by frequency,
    then by angle.
    """
    params = {k: np.asarray(v) for k, v in params.items()}
    ta, tb, o = token_tables(params, static)
    two = ta is not tb
    ta, tb, o = (np.asarray(x, np.float64) for x in (ta, tb, o))
    out: dict[str, Any] = {"wa": ta, "wb": tb if two else None, "wo": o.T}  # all p x H
    p, h = ta.shape
    if p % 2 == 0 or p < 3:  # the real DFT basis needs odd p
        out.update(dft=False, freq=np.zeros(h, int), order=np.arange(h))
        return out
    f_PxP = np.asarray(dft_basis(p), np.float64)
    w_in = np.asarray(input_side_weights(params, static), np.float64)
    nf = neuron_frequencies(w_in, f_PxP)
    nf_out = neuron_frequencies(o.T, f_PxP)
    freq = np.asarray(nf.freq_H).astype(int)
    ca = f_PxP @ ta
    cos_, sin_ = ca[2 * freq - 1, np.arange(h)], ca[2 * freq, np.arange(h)]
    angle = np.arctan2(sin_, cos_)
    order = np.lexsort((angle, freq))  # grouped by frequency, then by angle
    out.update(
        dft=True, ca=ca, cb=f_PxP @ tb if two else None, co=f_PxP @ o.T,
        freq=freq, freq_out=np.asarray(nf_out.freq_H).astype(int), angle=angle, order=order,
        peak=np.asarray(nf.peak_H), norm_in=np.asarray(frequency_norms(nf.norms_FxH)),
        norm_out=np.asarray(frequency_norms(nf_out.norms_FxH)))
    return out


def largest_frequencies(norms_F: np.ndarray, fraction: float = KEY_FRACTION,
                        most: int = 4) -> list[int]:
    """The largest frequencies (ascending ints in 1..K) holding ``fraction`` of the squared
    non-constant norm, at most ``most`` of them; ``norms_F`` is indexed by frequency (0 =
    constant), e.g. a snapshot's ``norm_in``."""
    energy = np.asarray(norms_F)[1:] ** 2
    order = np.argsort(-energy)
    take = np.cumsum(energy[order]) - energy[order] < fraction * energy.sum()
    return sorted(int(k) + 1 for k in order[take][:most])


def parity_snapshot(params: Mapping[str, np.ndarray], static: Any) -> dict[str, np.ndarray]:
    """A sparse-parity snapshot: ``win`` ((n+1) x H, the model's ``input_weights`` view),
    ``wout`` (H; zeros for a model without a ``w_out`` vector) and ``bits``, the L2 norm of
    each input bit's W_in row (n; the bias row left out)."""
    view = static.components.model.views["input_weights"]
    w_in = np.asarray(view(params, static), np.float64)
    w_out = params.get("w_out")
    w_out = np.zeros(w_in.shape[1]) if w_out is None or np.ndim(w_out) != 1 else w_out
    return {"win": w_in, "wout": np.asarray(w_out, np.float64),
            "bits": np.asarray(bit_norms_D({"W_in": w_in}))}


__all__ = ["largest_frequencies", "modular_snapshot", "parity_snapshot"]
