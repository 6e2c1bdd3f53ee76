"""Grouped cross-validation: no seed (and no data seed) in both a training and a test fold.

Runs are linked when they share a ``seed`` or a ``data_seed`` (the same init or the same data
split); a group is a connected set of linked runs, and whole groups go to one fold.  With a
held-out setting (``--hold-out weight_decay``) a test fold is one value of the setting crossed
with one group fold, and its training fold is every run with *another* value *and* another
group fold: the model never saw the test runs' seeds nor their setting.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from grokjax.predict.models import Predictor
from grokjax.store import ResultsError

N_FOLDS = 5
N_REPEATS = 5  # the folds are drawn this many times (seeds FOLD_SEED, FOLD_SEED + 1, ...)
FOLD_SEED = 0  # the permutation of groups into folds (fixed: the folds are part of the method)


def seed_groups(df: pd.DataFrame) -> np.ndarray:
    """Group id of every run: connected components of shared seed / data_seed values."""
    if "seed" not in df.columns:
        raise ResultsError("the rows have no seed column to group the folds by")
    keys = [("s", df["seed"].tolist())]
    if "data_seed" in df.columns:
        keys.append(("d", df["data_seed"].tolist()))
    parent: dict = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for r in range(len(df)):
        nodes = [(tag, vals[r]) for tag, vals in keys if not pd.isna(vals[r])]
        if not nodes:
            raise ResultsError(f"run {r} has no seed; cannot group it")
        for other in nodes[1:]:
            parent[find(other)] = find(nodes[0])
    roots = [find(("s", s)) if not pd.isna(s) else find(("d", d))
             for s, d in zip(df["seed"], keys[-1][1], strict=True)]
    _, group = np.unique([repr(x) for x in roots], return_inverse=True)
    return group.astype(np.int64)


def group_folds(group_R: np.ndarray, n_folds: int = N_FOLDS,
                label_R: np.ndarray | None = None, seed: int = FOLD_SEED) -> np.ndarray:
    """Fold of every run: its group's.  Groups are shuffled (``seed``) and, with ``label_R``
    (NaN: a run to ignore), sorted by their share of positives (stably: ties keep the shuffle),
    then dealt to the folds in snake order (0..k-1, k-1..0, ...): every fold gets groups of every
    positive share, so every test fold holds both classes (AUROC counts the pairs that one fold's
    model ranked, grokjax.predict.metrics) and every training fold about the same base rate."""
    groups, inverse = np.unique(group_R, return_inverse=True)
    if len(groups) < 2:
        raise ResultsError(f"grouped cross-validation needs runs of at least 2 independent "
                           f"seeds (runs sharing a seed or a data_seed are one group); these "
                           f"runs form {len(groups)}")
    k = min(n_folds, len(groups))
    order = np.random.default_rng(seed).permutation(len(groups))
    if label_R is not None:
        lab = np.asarray(label_R, np.float64)  # NaN: a run that is not scored
        ok = np.isfinite(lab)
        pos = np.bincount(inverse[ok], weights=lab[ok], minlength=len(groups))
        share = pos / np.maximum(np.bincount(inverse[ok], minlength=len(groups)), 1)
        order = order[np.argsort(share[order], kind="stable")]
    lap, seat = np.divmod(np.arange(len(groups)), k)
    fold_of_group = np.empty(len(groups), np.int64)
    fold_of_group[order] = np.where(lap % 2 == 0, seat, k - 1 - seat)
    return fold_of_group[inverse]


class Split(NamedTuple):
    train_R: np.ndarray  # bool
    test_R: np.ndarray  # bool


def split_ids(folds: list[Split], n: int) -> np.ndarray:
    """Index of the split whose test fold holds each run (-1: none)."""
    out = np.full(n, -1, np.int64)
    for k, s in enumerate(folds):
        out[s.test_R] = k
    return out


def splits(group_R: np.ndarray, n_folds: int = N_FOLDS, cell_R: np.ndarray | None = None,
           label_R: np.ndarray | None = None, seed: int = FOLD_SEED) -> list[Split]:
    """Every (train, test) split; each run is in exactly one test fold.  ``label_R``:
    stratify the group folds by it (``group_folds``)."""
    fold_R = group_folds(group_R, n_folds, label_R, seed)
    out = []
    cells = [None] if cell_R is None else list(np.unique(cell_R))
    for c in cells:
        for f in np.unique(fold_R):
            test = fold_R == f
            train = fold_R != f
            if c is not None:
                test, train = test & (cell_R == c), train & (cell_R != c)
            if test.any():
                out.append(Split(train, test))
    return out


def cells_of(df: pd.DataFrame, setting: str) -> np.ndarray:
    """Integer code of each run's value of ``setting`` (for ``--hold-out``)."""
    if setting not in df.columns:
        raise ResultsError(f"--hold-out {setting!r}: no such column")
    values = df[setting].astype(str).to_numpy()
    uniq, code = np.unique(values, return_inverse=True)
    if len(uniq) < 2:
        raise ResultsError(f"--hold-out {setting!r}: the runs have only one value "
                           f"({uniq[0] if len(uniq) else 'none'}); nothing to hold out")
    return code.astype(np.int64)


def out_of_fold(x_RxF: np.ndarray, y_R: np.ndarray, mask_R: np.ndarray, folds: list[Split],
                fit) -> np.ndarray:
    """Out-of-fold probabilities of the scored runs (``mask_R``; NaN elsewhere): each from the
    model ``fit(x, y) -> Predictor`` trained on its split's scored training runs."""
    prob = np.full(len(y_R), np.nan)
    for s in folds:
        tr, te = s.train_R & mask_R, s.test_R & mask_R
        if not te.any():
            continue
        if not tr.any():
            raise ResultsError("a test fold has no training runs left (too few seeds or "
                               "settings for this split); use fewer held-out settings")
        model: Predictor = fit(x_RxF[tr], y_R[tr])
        prob[te] = model(x_RxF[te])
    return prob
