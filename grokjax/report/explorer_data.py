"""The data of a run's explorer page: its weights at every snapshot (base64 float32, from
``grokjax.analysis``), its key frequencies, and its logged curves and progress measures."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.tree_util import keystr, tree_flatten_with_path

from grokjax.analysis import (
    CLEAN_SHARE,
    attention_grid,
    largest_frequencies,
    neuron_frequencies_2d,
    neuron_grid,
    parity_snapshot,
)
from grokjax.report.results import is_null
from grokjax.static import HParams
from grokjax.train import make_data

MAX_STAR_PANELS = 8
PROGRESS_LABELS = {
    "l2_norm": "L2 weight norm", "l1_norm": "L1 weight norm",
    "fourier_gini_in": "Fourier Gini (input side)", "top4_share_in": "top-4 frequency share",
    "n_key_freqs": "key frequencies (cutoff rule)",
    "n_key_freqs_norm": "key frequencies (norm rule)",
    "relevant_norm": "W_in norm: relevant vs distracting bits",
}


def b64_f32(a: np.ndarray) -> str:
    """An array as base64 little-endian float32 (how the page receives its weights)."""
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def rounded(a: Any, digits: int = 5) -> list:
    """Values to ``digits`` significant digits (a lighter page), None for NaN and inf."""
    out = []
    for v in np.asarray(a, dtype=float).ravel():
        out.append(float(f"{v:.{digits}g}") if math.isfinite(v) else None)
    return out


def stored_key_freqs(row: Mapping[str, Any]) -> list[int]:
    """The key frequencies stored in the run's row ([] if none)."""
    keys = row.get("key_freqs")
    return [] if is_null(keys) else [int(k) for k in keys]


def key_freqs(row: Mapping[str, Any], last: Mapping[str, Any], p: int) -> list[int]:
    """The run's key frequencies (stored), else the largest of the last snapshot's norms; at
    most ``MAX_STAR_PANELS`` (the largest at the last snapshot)."""
    keys = [k for k in stored_key_freqs(row) if 1 <= k <= (p - 1) // 2]
    if not keys and last.get("dft"):
        keys = largest_frequencies(last["norm_in"])
    if len(keys) > MAX_STAR_PANELS:
        norms = np.asarray(last.get("norm_in", np.zeros(p)))
        keys = sorted(sorted(keys, key=lambda k: -norms[k] if k < len(norms) else 0)
                      [:MAX_STAR_PANELS])
    return keys


def modular_payload(row: Mapping[str, Any], static: Any, snaps: list[dict[str, Any]],
                    steps: Sequence[int], fourier: bool, waves: bool = True) -> dict[str, Any]:
    """The token tables of every snapshot (``modular_snapshot``s), with their DFT data when
    ``fourier``; ``waves``: the tables are the collapsed model (the page draws logit waves)."""
    last = snaps[-1]
    p, h = last["wa"].shape
    payload: dict[str, Any] = {
        "p": p, "H": h, "K": (p - 1) // 2 if fourier else 0,
        "act": static.activation, "two": last["wb"] is not None, "dft": fourier,
        "waves": bool(waves and fourier),
        "key": key_freqs(row, last, p) if fourier else [], "snaps": []}
    keys = payload["key"]
    for step, s in zip(steps, snaps, strict=True):
        if fourier:  # key frequency groups first (in the order of ``keys``), then the others
            rank = np.array([keys.index(f) if f in keys else len(keys) + f for f in s["freq"]])
            s = {**s, "order": np.lexsort((s["angle"], rank))}
        d: dict[str, Any] = {"step": int(step), "wa": b64_f32(s["wa"]), "wo": b64_f32(s["wo"]),
                             "wb": b64_f32(s["wb"]) if s["wb"] is not None else None}
        if fourier:
            d.update(ca=b64_f32(s["ca"]), co=b64_f32(s["co"]),
                     cb=b64_f32(s["cb"]) if s["cb"] is not None else None,
                     freq=s["freq"].tolist(),
                     order=s["order"].tolist(), angle=rounded(s["angle"], 4),
                     norm_in=rounded(s["norm_in"]), norm_out=rounded(s["norm_out"]))
        payload["snaps"].append(d)
    return payload


def pairs_payload(static: Any, snaps: list[Mapping[str, np.ndarray]], steps: Sequence[int],
                  attention: bool, neurons: bool) -> dict[str, Any]:
    """Per snapshot: ``att`` (p x n_heads·p, base64: the readout position's attention to token
    a for every pair, one p x p block per head) and the MLP neurons' 2D-Fourier frequencies
    ``nfreq`` and explained shares ``nshare`` (``grokjax.analysis.pairs``)."""
    p = static.p
    out: dict[str, Any] = {"p": p, "K": (p - 1) // 2, "heads": 0, "M": 0,
                           "clean": CLEAN_SHARE, "snaps": []}
    for step, params in zip(steps, snaps, strict=True):
        d: dict[str, Any] = {"step": int(step)}
        if attention:
            att = attention_grid(params, static)[..., 0]  # heads x p x p: weight on token a
            out["heads"] = int(att.shape[0])
            d["att"] = b64_f32(att.transpose(1, 0, 2).reshape(p, -1))
        if neurons:
            freq, share = neuron_frequencies_2d(neuron_grid(params, static))
            out["M"] = int(freq.size)
            d.update(nfreq=freq.tolist(), nshare=rounded(share, 3))
        out["snaps"].append(d)
    return out


def parity_payload(static: Any, snaps: list[Mapping[str, np.ndarray]], steps: Sequence[int]
                   ) -> dict[str, Any]:
    """W_in, w_out and the per-bit norms of every snapshot."""
    out: dict[str, Any] = {"n": static.n, "k": static.k, "act": static.activation, "snaps": []}
    for step, params in zip(steps, snaps, strict=True):
        s = parity_snapshot(params, static)
        out["H"] = int(s["win"].shape[1])
        out["snaps"].append({"step": int(step), "win": b64_f32(s["win"]),
                             "wout": b64_f32(s["wout"]), "bits": rounded(s["bits"])})
    return out


MAX_LEAF_CELLS = 1 << 16  # a larger parameter is drawn as its first rows (the page says so)


def leaf_table(a: np.ndarray) -> np.ndarray:
    """A parameter as a 2D table: a matrix as is, a vector as one row, a scalar as 1 x 1, a
    higher-rank array as (first axis) x (the rest), cut to its first rows past
    ``MAX_LEAF_CELLS``."""
    a = np.asarray(a, np.float32)
    t = a.reshape(1, -1) if a.ndim < 2 else a.reshape(a.shape[0], -1)
    return t[:max(1, MAX_LEAF_CELLS // t.shape[1])]


def params_payload(snaps: list[Mapping[str, Any]], steps: Sequence[int]) -> dict[str, Any]:
    """Every parameter of every snapshot as a heatmap table (for a model without analysis
    views, or beside panels that do not show its weights): names, shapes, base64 tables."""
    def flat(params):
        return [(keystr(k), np.asarray(v)) for k, v in tree_flatten_with_path(params)[0]]

    first = flat(snaps[-1])
    leaves = []
    for i, (name, v) in enumerate(first):
        t = leaf_table(v)
        leaves.append({"key": f"g{i}", "name": name or "params", "shape": list(v.shape),
                       "rows": int(t.shape[0]), "cols": int(t.shape[1]),
                       "cut": bool(t.size < max(v.size, 1))})
    out: dict[str, Any] = {"leaves": leaves, "snaps": []}
    for step, params in zip(steps, snaps, strict=True):
        d: dict[str, Any] = {"step": int(step)}
        for leaf, (_, v) in zip(leaves, flat(params), strict=True):
            d[leaf["key"]] = b64_f32(leaf_table(v))
        out["snaps"].append(d)
    return out


def pair_labels(static: Any, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The label and split of every pair (a, b) from the task's own data (its eval batches),
    for the logit-waves panel: ``y`` (p*p, -1 where the data has no such pair) and ``split``
    (0 absent, 1 train, 2 test, 3 absent but its mirror (b, a) is there: a task on the
    a <= b half, whose label the page shows).  None if the batches are not token pairs."""
    hp = HParams.from_config(config, static.dtype)
    task = static.components.task
    data = make_data(static, jnp.asarray(hp.data_seed))
    p = int(static.p)
    y_PP = np.full((p, p), -1, np.int64)
    split_PP = np.zeros((p, p), np.int8)
    for b in task.eval_batches(static, data, hp):
        if not (isinstance(b.inputs, tuple) and len(b.inputs) == 2):
            return None
        a_B, b_B = (np.asarray(x).astype(np.int64) for x in b.inputs)
        y_B = np.asarray(b.targets)
        if y_B.shape != a_B.shape or not np.issubdtype(y_B.dtype, np.integer):
            return None
        use_B = np.asarray(b.train_mask) | np.asarray(b.test_mask)
        y_PP[a_B[use_B], b_B[use_B]] = y_B[use_B]
        split_PP[a_B[use_B], b_B[use_B]] = np.where(np.asarray(b.train_mask)[use_B], 1, 2)
    mirror = (split_PP == 0) & (split_PP.T != 0)
    y_PP = np.where(mirror, y_PP.T, y_PP)
    split_PP = np.where(mirror, 3, split_PP)
    return {"y": y_PP.ravel().tolist(), "split": split_PP.ravel().tolist()}


def curves_payload(row: Mapping[str, Any], floor: float) -> dict[str, Any]:
    """The row's logged curves and progress measures (losses floored at ``floor``)."""
    step = row.get("step")
    if is_null(step) or len(step) == 0:
        return {"step": []}
    out: dict[str, Any] = {"step": [int(s) for s in step], "floor": floor}
    for col in ("train_loss", "test_loss", "train_acc", "test_acc", *PROGRESS_LABELS,
                "distracting_norm"):
        v = row.get(col)
        if v is None or (not isinstance(v, (np.ndarray, list)) and is_null(v)):
            continue
        a = np.asarray(v, dtype=float)
        if not np.isfinite(a).any():
            continue
        if col.endswith("_loss"):
            a = np.where(np.isfinite(a), np.maximum(a, floor), np.nan)
        out[col] = rounded(a)
    return out


__all__ = ["MAX_LEAF_CELLS", "MAX_STAR_PANELS", "PROGRESS_LABELS", "b64_f32", "curves_payload",
           "key_freqs", "leaf_table", "modular_payload", "pair_labels", "pairs_payload",
           "params_payload", "parity_payload", "rounded", "stored_key_freqs"]
