"""Scoring early prediction across a whole sweep: features at a cut, repeated grouped
cross-validation, out-of-fold probabilities of every predictor, and their scores.

Predictors, all scored on the same runs, folds and bootstrap resamples:

- ``logistic`` and ``stumps`` (grokjax.predict.models) on every usable feature;
- ``cell rate``: the target's rate in the run's hyperparameter cell among the training runs
  (the settings baseline: what knowing the grid point alone gives; only when settings vary);
- ``constant``: the training runs' base rate (AUROC exactly 0.5: a constant ties every pair);
- every single feature alone, as a one-feature logistic regression fitted in the same folds
  (its direction is learnt on the training runs, never on the scored ones).

Every probability is out of fold: a run is predicted by a model that never saw its seed (nor,
with ``hold_out``, its value of that setting).  The folds are drawn ``N_REPEATS`` times; a
run's reported probability is the mean of its out-of-fold probabilities over the repeats, and
AUROC counts the pairs one model ranked (grokjax.predict.metrics).  A feature that is not
finite for some scored run is dropped from every model (``Prediction.dropped``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from grokjax.predict import cv, features, metrics, models, targets
from grokjax.store import ResultsError

MIN_SCORED = 8  # scored runs needed (and 2 of each class)
THRESHOLD = 0.5  # a run is flagged when its probability reaches this
N_BOOT = 1000
BOOT_SEED = 0


class Score(NamedTuple):
    """One predictor's out-of-fold probabilities and their scores."""

    name: str
    kind: str  # "model" | "baseline" | "feature"
    auroc: metrics.Interval
    auroc_cell: metrics.Interval | None  # pairs within a hyperparameter cell (None: no cells)
    brier: float  # of the mean out-of-fold probability
    ece: float  # expected calibration error over 5 equal-width bins
    flagged: int  # scored runs with mean probability >= THRESHOLD
    lead_median: float  # median (event step - cut step) of the flagged positives; NaN if none
    prob_RxN: np.ndarray  # repeats x scored runs
    prob_R: np.ndarray  # every run: mean over repeats; NaN where a run is not scored


@dataclass(frozen=True)
class Prediction:
    """The outcome of ``evaluate``: who was scored, on what, and every predictor's score."""

    at: float
    target: str
    hold_out: str | None
    n_runs: int
    excluded: dict[str, int]
    feature_names: tuple[str, ...]
    dropped: tuple[str, ...]
    n_groups: int  # independent seed groups among the scored runs
    n_folds: int
    n_repeats: int
    threshold: float | None  # step_to_90's early/late split
    run_id_R: np.ndarray
    scored_R: np.ndarray
    y_R: np.ndarray
    cut_step_R: np.ndarray
    event_step_R: np.ndarray
    scores: tuple[Score, ...]
    pairs: metrics.Pairs = field(repr=False)
    cell_pairs: metrics.Pairs | None = field(repr=False)
    weight_BxN: np.ndarray = field(repr=False)  # bootstrap weights of the scored runs
    source: str = ""

    @property
    def pair_counts(self) -> tuple[float, float | None, int]:
        """(pairs one model ranked, of them within a cell, per repeat; all positive-negative
        pairs)."""
        per = float(self.pairs.mask_RxPxQ.sum() / self.n_repeats)
        cell = (float(self.cell_pairs.mask_RxPxQ.sum() / self.n_repeats)
                if self.cell_pairs is not None else None)
        return per, cell, len(self.pairs.pos_P) * len(self.pairs.neg_Q)

    @property
    def has_cells(self) -> bool:
        return any(s.auroc_cell is not None for s in self.scores)

    @property
    def n_scored(self) -> int:
        return int(self.scored_R.sum())

    @property
    def n_positive(self) -> int:
        return int(self.y_R[self.scored_R].sum())

    @property
    def lead_all_median(self) -> float:
        """Median lead of every scored positive: the warning a perfect predictor would give."""
        m = self.scored_R & self.y_R & np.isfinite(self.event_step_R)
        return float(np.median(self.event_step_R[m] - self.cut_step_R[m])) if m.any() else \
            float("nan")

    def score(self, name: str) -> Score:
        for s in self.scores:
            if s.name == name:
                return s
        raise KeyError(f"no predictor {name!r}; have: {', '.join(s.name for s in self.scores)}")

    def compare(self, a: str, b: str) -> metrics.Interval:
        """AUROC(a) - AUROC(b) with its paired cluster-bootstrap interval."""
        return metrics.auroc_difference(self.score(a).prob_RxN, self.score(b).prob_RxN,
                                        self.pairs, self.weight_BxN)

    def table(self) -> pd.DataFrame:
        """One row per predictor: models, baselines, then single features by AUROC."""
        rows = []
        for s in self.scores:
            row = {"predictor": s.name, "kind": s.kind, "auroc": s.auroc.value,
                   "auroc_low": s.auroc.low, "auroc_high": s.auroc.high}
            if s.auroc_cell is not None:
                row.update(auroc_cell=s.auroc_cell.value, auroc_cell_low=s.auroc_cell.low,
                           auroc_cell_high=s.auroc_cell.high)
            row.update(brier=s.brier, ece=s.ece, flagged=s.flagged, lead_median=s.lead_median)
            rows.append(row)
        return pd.DataFrame(rows)

    def probabilities(self, name: str = "logistic") -> pd.DataFrame:
        """run_id -> mean out-of-fold probability of the target (NaN: not scored)."""
        return pd.DataFrame({"run_id": self.run_id_R, "prob": self.score(name).prob_R})


def _univariate(j: int):
    def fit(x_NxF: np.ndarray, y_N: np.ndarray) -> models.Predictor:
        inner = models.fit_logistic(x_NxF[:, [j]], y_N)
        return lambda x: inner(x[:, [j]])
    return fit


def _constant(x_NxF: np.ndarray, y_N: np.ndarray) -> models.Predictor:
    return models.constant(float(np.mean(y_N)))


def cell_codes(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    """Integer code of each run's hyperparameter cell (its values of ``columns``, seeds
    excluded); None when there is one cell only."""
    cols = [c for c in columns if c in df.columns and c not in ("seed", "data_seed")]
    if not cols:
        return None
    key = df[cols].astype(str).agg("|".join, axis=1).to_numpy()
    uniq, code = np.unique(key, return_inverse=True)
    return code.astype(np.int64) if len(uniq) > 1 else None


class _Scoring(NamedTuple):
    scored_R: np.ndarray
    y_N: np.ndarray  # labels of the scored runs
    lead_N: np.ndarray
    pairs: metrics.Pairs
    cell_pairs: metrics.Pairs | None
    weight_BxN: np.ndarray


def _score(name: str, kind: str, prob_RxN: np.ndarray, sc: _Scoring, *,
           intervals: bool = True) -> Score:
    half = metrics.Interval(0.5, 0.5, 0.5, len(sc.weight_BxN))
    constant = kind == "baseline" and name == "constant"

    def auc(pairs: metrics.Pairs) -> metrics.Interval:
        if constant and pairs.mask_RxPxQ.any():  # a constant ties every pair
            return half
        if intervals:
            return metrics.auroc_interval(prob_RxN, pairs, sc.weight_BxN)
        return metrics.Interval(float(metrics.pair_auroc(prob_RxN, pairs)[0]), float("nan"),
                                float("nan"), 0)

    prob = prob_RxN.mean(axis=0)
    y = sc.y_N
    flag = prob >= THRESHOLD
    hit = flag & y & np.isfinite(sc.lead_N)
    prob_R = np.full(len(sc.scored_R), np.nan)
    prob_R[sc.scored_R] = prob
    return Score(name, kind, auc(sc.pairs), auc(sc.cell_pairs) if sc.cell_pairs else None,
                 metrics.brier(prob, y),
                 metrics.expected_calibration_error(metrics.reliability(prob, y)),
                 int(flag.sum()), float(np.median(sc.lead_N[hit])) if hit.any() else float("nan"),
                 prob_RxN, prob_R)


def evaluate(df: pd.DataFrame, at: float, target: str = "grok_by_end", *,
             cell_columns: Sequence[str] = (), hold_out: str | None = None,
             n_folds: int = cv.N_FOLDS, n_repeats: int = cv.N_REPEATS, n_boot: int = N_BOOT,
             source: str = "") -> Prediction:
    """Score every predictor on the runs of ``df`` (one row per run, as ``load_results``) from
    their curves up to the fraction ``at`` of their steps.  ``cell_columns``: the settings that
    vary across the sweep (the cell-rate baseline, the within-cell AUROC); ``hold_out``: a
    setting whose values are held out too (each test fold is one value, trained on the
    others)."""
    where = source or "the rows"
    if target not in targets.TARGETS:
        raise ResultsError(f"--target {target!r}: unknown; allowed: {', '.join(targets.TARGETS)}")
    df = df.reset_index(drop=True)
    table = features.extract(df, at)
    tgt = targets.make_target(df, target, table.cut_step_R)
    scored = tgt.mask_R.copy()
    finite_F = np.all(np.isfinite(table.x_RxF[scored]), axis=0)
    names = tuple(n for n, ok in zip(table.names, finite_F, strict=True) if ok)
    dropped = tuple(n for n, ok in zip(table.names, finite_F, strict=True) if not ok)
    if not names:
        raise ResultsError(f"{where}: --at {at}: no feature is finite for every scored run")
    x_RxF = np.where(np.isfinite(table.x_RxF), table.x_RxF, 0.0)[:, finite_F]
    y = tgt.y_R & scored
    n_pos, n_neg = int(y[scored].sum()), int((~y[scored]).sum())
    excl = ", ".join(f"{v} {k}" for k, v in tgt.excluded.items() if v)
    if scored.sum() < MIN_SCORED or min(n_pos, n_neg) < 2:
        raise ResultsError(
            f"{where}: --at {at} --target {target}: {int(scored.sum())} of {len(df)} runs are "
            f"scored ({n_pos} positive, {n_neg} negative{'; left out: ' + excl if excl else ''}"
            f"); at least {MIN_SCORED} scored runs with 2 of each class are needed (a sweep "
            "with more seeds, an earlier --at, or another --target)")
    group_R = cv.seed_groups(df)
    hold_R = cv.cells_of(df, hold_out) if hold_out else None
    label = np.where(scored, y, np.nan)
    reps = [cv.splits(group_R, n_folds, hold_R, label, seed=cv.FOLD_SEED + r)
            for r in range(n_repeats)]
    split_RxN = np.stack([cv.split_ids(f, len(df))[scored] for f in reps])
    cells = cell_codes(df, cell_columns)
    y_N = y[scored]
    sc = _Scoring(scored, y_N, (tgt.event_step_R - table.cut_step_R)[scored],
                  metrics.pair_masks(y_N, split_RxN),
                  metrics.pair_masks(y_N, split_RxN, cells[scored]) if cells is not None
                  else None,
                  metrics.group_weights(group_R[scored], n_boot, BOOT_SEED))

    def oof(x, fit) -> np.ndarray:
        return np.stack([cv.out_of_fold(x, y, scored, f, fit)[scored] for f in reps])

    scores = [_score(name, "model", oof(x_RxF, fit), sc) for name, fit in models.MODELS.items()]
    if cells is not None:
        scores.append(_score("cell rate", "baseline",
                             oof(cells[:, None].astype(np.float64), models.fit_cell_rate), sc))
    scores.append(_score("constant", "baseline", oof(x_RxF[:, :1], _constant), sc))
    singles = [_score(n, "feature", oof(x_RxF, _univariate(j)), sc)
               for j, n in enumerate(names)]
    singles.sort(key=lambda s: -s.auroc.value if np.isfinite(s.auroc.value) else np.inf)
    return Prediction(
        at=at, target=target, hold_out=hold_out, n_runs=len(df), excluded=tgt.excluded,
        feature_names=names, dropped=dropped, n_groups=len(np.unique(group_R[scored])),
        n_folds=min(n_folds, len(np.unique(group_R))), n_repeats=n_repeats,
        threshold=tgt.threshold,
        run_id_R=(df["run_id"].astype(str).to_numpy() if "run_id" in df
                  else np.arange(len(df)).astype(str)),
        scored_R=scored, y_R=y, cut_step_R=table.cut_step_R, event_step_R=tgt.event_step_R,
        scores=tuple(scores + singles), pairs=sc.pairs, cell_pairs=sc.cell_pairs,
        weight_BxN=sc.weight_BxN, source=source)
