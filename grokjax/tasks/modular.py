"""Modular arithmetic (a op b) mod p on all pairs (or the a <= b half), with a random split.

Registered as the task ``modular`` (docs/experiments.md §1-2); its default model is ``modular_mlp``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from grokjax.analysis import fourier
from grokjax.analysis.progress import KEY_CUTOFF, KEY_FRACTION
from grokjax.components import Batch, EvalBatch, Task
from grokjax.normalisers import NORMALISER, cross_entropy, softmax_collapsed
from grokjax.registry import register
from grokjax.settings import RUN, STATIC, Setting, unit_frac

OPS = {
    "add": lambda a, b, p: (a + b) % p,
    "sub": lambda a, b, p: (a - b) % p,
    "mul": lambda a, b, p: (a * b) % p,
}


@struct.dataclass
class ModularData:
    a_P: jax.Array  # every pair (P = p*p, or p*(p+1)/2 when symmetric)
    b_P: jax.Array
    y_P: jax.Array
    rank_P: jax.Array  # position of each pair in the random permutation: train iff rank < n
    a_train_N: jax.Array  # the first N pairs of the permutation (N = padded train size)
    b_train_N: jax.Array
    y_train_N: jax.Array


def pairs(p: int, symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    """All ordered pairs (a, b), or those with a <= b, in row-major order."""
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    a, b = a.ravel(), b.ravel()
    if symmetric:
        keep = a <= b
        a, b = a[keep], b[keep]
    return a.astype(np.int32), b.astype(np.int32)


def n_pairs(p: int, symmetric: bool) -> int:
    return p * (p + 1) // 2 if symmetric else p * p


def modular_labels(a, b, p: int, op: str):
    return OPS[op](a, b, p)


def make_modular_data(p: int, op: str, symmetric: bool, n_train: int, data_seed: jax.Array
                      ) -> ModularData:
    """All pairs with labels and a random permutation; the first ``train_size`` are training."""
    a_np, b_np = pairs(p, symmetric)
    a_P, b_P = jnp.asarray(a_np), jnp.asarray(b_np)
    y_P = modular_labels(a_P, b_P, p, op)
    perm_P = jax.random.permutation(jax.random.key(data_seed), a_P.shape[0])
    rank_P = jnp.zeros_like(perm_P).at[perm_P].set(jnp.arange(perm_P.shape[0], dtype=perm_P.dtype))
    idx_N = perm_P[:n_train]
    return ModularData(a_P, b_P, y_P, rank_P.astype(jnp.int32), a_P[idx_N], b_P[idx_N], y_P[idx_N])


def _make_data(cfg: Any, data_seed: jax.Array) -> ModularData:
    return make_modular_data(cfg.p, cfg.op, cfg.symmetric, cfg.train_pad, data_seed)


def _train_batch(cfg: Any, data: ModularData, hp: Any) -> Batch:
    return Batch((data.a_train_N, data.b_train_N), data.y_train_N)


def _eval_batches(cfg: Any, data: ModularData, hp: Any) -> tuple[EvalBatch, ...]:
    # One pass over every pair; the rank of a pair in the permutation says which split.
    is_train_P = data.rank_P < hp.train_size
    return (EvalBatch((data.a_P, data.b_P), data.y_P, is_train_P, ~is_train_P),)


def _loss(cfg: Any, logits_BxP: jax.Array, y_B: jax.Array) -> tuple[jax.Array, jax.Array]:
    ce_B = cross_entropy(cfg, logits_BxP, y_B)
    if cfg.loss == "ce_class_mean":
        ce_B = ce_B / cfg.p
    return ce_B, jnp.argmax(logits_BxP, axis=-1) == y_B


def _resolve(cfg: dict, fail) -> None:
    if cfg["symmetric"] and cfg["op"] == "sub":
        fail("symmetric", "symmetric pairs (a <= b) need a commutative op; allowed with "
             "op = 'add' or 'mul'")
    total = n_pairs(cfg["p"], cfg["symmetric"])
    n_train = round(cfg["train_frac"] * total)
    if not 1 <= n_train <= total - 1:
        fail("train_frac", f"train_frac = {cfg['train_frac']} gives {n_train} of {total} pairs "
             "for training; both the train and the test split need at least one pair")
    cfg["train_size"] = n_train


PROGRESS = ("fourier_gini_in", "top4_share_in", "n_key_freqs", "n_key_freqs_norm")


def _has_view(cfg: Any) -> bool:
    return fourier.has_token_tables(cfg.components.model)


def _progress_keys(cfg: Any) -> tuple[str, ...]:
    return PROGRESS if _has_view(cfg) else ()


def _progress(cfg: Any, params: Any) -> dict[str, jax.Array]:
    """Gini of the per-frequency input-side norms (constant excluded), share of squared norm
    in the top 4 frequencies, the number of key frequencies by the explorable's cutoff rule
    (``KEY_CUTOFF`` on orthonormal-DFT coefficients) and by the norm-fraction rule.  NaN for an
    even p (no real DFT basis), so every run of the task logs the same curves."""
    dtype = cfg.jnp_dtype
    if cfg.p % 2 == 0:
        return {name: jnp.array(jnp.nan, dtype) for name in PROGRESS}
    f_PxP = fourier.dft_basis(cfg.p, jnp.promote_types(dtype, jnp.float32))
    w = fourier.input_side_weights(params, cfg)
    norms_K = fourier.frequency_norms(fourier.neuron_frequencies(w, f_PxP).norms_FxH[1:])
    out = {
        "fourier_gini_in": fourier.fourier_gini(norms_K),
        "top4_share_in": fourier.top_k_share(norms_K, 4),
        "n_key_freqs": jnp.sum(fourier.key_frequencies(w, f_PxP, KEY_CUTOFF)[0]),
        "n_key_freqs_norm": jnp.sum(fourier.key_frequencies_by_norm(w, f_PxP, KEY_FRACTION)),
    }
    return {name: v.astype(dtype) for name, v in out.items()}


@functools.cache
def _key_mask_program(cfg: Any):
    f_PxP = fourier.dft_basis(cfg.p, cfg.jnp_dtype)

    def gj_key_freqs(params):  # gj_: counted with the engine's programs
        return fourier.key_frequencies_by_norm(fourier.input_side_weights(params, cfg), f_PxP,
                                               KEY_FRACTION)

    return jax.jit(jax.vmap(gj_key_freqs))


def _run_columns(cfg: Any, params_R: Any, n: int) -> dict[str, list]:
    """``key_freqs``: each run's final input-side key frequencies (the scale-free norm-fraction
    rule); empty for an even p or a model without token tables (``fourier.has_token_tables``)."""
    if cfg.p % 2 == 0 or not _has_view(cfg):
        return {"key_freqs": [np.zeros(0, np.int64)] * n}
    mask_RxK = np.asarray(_key_mask_program(cfg)(params_R))[:n]
    return {"key_freqs": [np.flatnonzero(m).astype(np.int64) + 1 for m in mask_RxK]}


TASK = register(Task(
    name="modular",
    doc="modular arithmetic (a op b) mod p on all pairs or the a <= b half, a random split",
    settings=(
        Setting("p", int, 67, STATIC,
                "modulus: any integer >= 2 (need not be prime: (a op b) mod p is defined for "
                "every p); the Fourier progress measures and analysis need an odd p (NaN / "
                "skipped for an even p)",
                check=lambda v: None if v >= 2 else "must be >= 2"),
        Setting("op", str, "add", STATIC, "operation (a op b) mod p",
                choices=("add", "sub", "mul")),
        Setting("symmetric", bool, False, STATIC,
                "only pairs with a <= b (commutative ops only)"),
        Setting("train_frac", float, 0.4, RUN, "fraction of pairs used for training",
                check=unit_frac),
        Setting("loss", str, "ce", STATIC,
                "ce: cross-entropy averaged over examples; ce_class_mean: also averaged over"
                " the p classes (the notebooks' CE/p)", choices=("ce", "ce_class_mean")),
        NORMALISER,
    ),
    make_data=_make_data, train_batch=_train_batch, eval_batches=_eval_batches, loss=_loss,
    resolve=_resolve, default_model="modular_mlp", inputs="token_pairs", defaults={"steps": 50_000},
    progress_keys=_progress_keys, progress=_progress, run_columns=_run_columns,
    stability_keys=lambda cfg: ("softmax_collapse",),
    stability=lambda cfg, logits_BxP, y_B: {"softmax_collapse": softmax_collapsed(logits_BxP)},
))
