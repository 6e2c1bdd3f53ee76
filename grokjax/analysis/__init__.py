"""Mechanistic analysis: Fourier structure of modular models, parity weight norms, progress,
and the host-side analysis of saved snapshots that the run explorer shows."""

from grokjax.analysis.fourier import (
    NeuronFrequencies,
    collapsed_view,
    dft_basis,
    fourier_gini,
    frequency_logits,
    frequency_norms,
    frequency_of_row,
    has_token_tables,
    input_side_weights,
    key_frequencies,
    key_frequencies_by_norm,
    n_frequencies,
    neuron_frequencies,
    output_side_weights,
    token_tables,
    top_k_share,
)
from grokjax.analysis.pairs import (
    CLEAN_SHARE,
    attention_grid,
    neuron_frequencies_2d,
    neuron_grid,
)
from grokjax.analysis.parity import bit_norms_D, relevant_weight_norms
from grokjax.analysis.progress import (
    KEY_CUTOFF,
    KEY_FRACTION,
    final_key_frequencies,
    progress_measures,
)
from grokjax.analysis.snapshots import largest_frequencies, modular_snapshot, parity_snapshot

__all__ = [
    "CLEAN_SHARE",
    "KEY_CUTOFF",
    "KEY_FRACTION",
    "NeuronFrequencies",
    "attention_grid",
    "bit_norms_D",
    "collapsed_view",
    "dft_basis",
    "final_key_frequencies",
    "fourier_gini",
    "frequency_logits",
    "frequency_norms",
    "frequency_of_row",
    "has_token_tables",
    "input_side_weights",
    "key_frequencies",
    "key_frequencies_by_norm",
    "largest_frequencies",
    "modular_snapshot",
    "n_frequencies",
    "neuron_frequencies",
    "neuron_frequencies_2d",
    "neuron_grid",
    "output_side_weights",
    "parity_snapshot",
    "progress_measures",
    "relevant_weight_norms",
    "token_tables",
    "top_k_share",
]
