"""Phase classification of sweep runs: memorize / grok / generalize / fail / diverged.

A run is classified from its whole logged history (docs/experiments.md §4), so any rule can be
re-applied to stored results without retraining.  Under both rules a run with
``diverged == True`` is ``diverged``.  Two rules:

``LossRule`` (``"loss"``, the default; the explorable's rule), min/max over the logged steps of
the floored losses (below):

1. min train loss > ``min_train`` (1e-5)                   -> ``fail`` (never fits the train set)
2. else min test loss > ``min_test`` (1e-5)                -> ``memorize``
3. else max of test loss / train loss < ``ratio`` (5e4)    -> ``generalize`` (they fall together)
4. else                                                    -> ``grok`` (test falls long after train)

Loss floor.  grokjax's losses are stable (softplus / log-sum-exp): float32 train losses reach
1e-12 and below.  The explorable's could not go below float32 epsilon (its smallest train loss in
the parity sweep is 1.19e-7), which capped the ratio at test loss / 1.19e-7; with exact losses a
run whose train loss reaches 1e-12 while its test loss is still 1e-7 has ratio 1e5 and is
``grok``, although both fell together and the explorable would call it ``generalize``.  So both
losses are clipped below at ``floor`` (default 1.1920929e-07, float32 epsilon; 0 disables it)
before the min tests and the ratio.  The ratio can then reach 5e4 only where the test loss is at
least floor * ratio ≈ 6.0e-3: a run whose train loss is at the floor is ``grok`` only if its test
loss stays above ≈ 6e-3 (clearly unfitted) at such a step.  ``floor`` must not exceed
``min_train`` / ``min_test`` (every run would fail or memorize).

``AccuracyRule`` (``"accuracy"``; Liu et al. 2022), from the first logged steps where train and
test accuracy reach ``threshold`` (0.9): both reached and (test step - train step) < ``delay``
(1000 steps) -> ``generalize`` ("comprehension"; a test step before the train step counts as
< delay); both and >= ``delay`` -> ``grok``; only train -> ``memorize``; neither, or only test
-> ``fail`` ("confusion").

Boundaries are exactly as written: a min train (test) loss *equal* to ``min_train``
(``min_test``) passes, a max ratio *equal* to ``ratio`` is ``grok``, an accuracy *equal* to
``threshold`` reaches it, a delay *equal* to ``delay`` is ``grok``.  Thresholds and the floor are
compared at the precision of the stored curves (grokjax.curves): a float32 accuracy of 0.9
reaches 0.9 although float32(0.9) < 0.9 in float64.  The ratio is computed in float64 from the
floored values.

NaN: steps where either loss is NaN are ignored for the min/max (a NaN spike in a run that did
not diverge changes nothing); a run whose losses are NaN at every step (or with no logged step) is
``fail`` unless it diverged.  NaN accuracies never reach a threshold.  Equal test and train
losses count as ratio 1 (matters only with ``floor=0`` and both losses 0).

Reverse grokking (docs/experiments.md §6: generalize, then memorize).  From the whole history, a
run that generalized and later forgot is ``generalize``/``grok`` under both rules (its min test
loss was small; its test accuracy reached the threshold).  The loss rule's max ratio ignores the
order of steps, so such a run is ``grok`` under it once its late test loss climbs above ≈ 6e-3
with its train loss at the floor (``generalize`` under the accuracy rule if train and test
accuracy rose together).  The ``forgot`` column flags such regressions: test accuracy reached
the threshold at some logged step but the final finite test accuracy is below it.

``classify_frame`` adds ``phase``, ``phase_rule``, ``phase_params`` (JSON of the thresholds),
``min_train_loss``, ``min_test_loss``, ``max_loss_ratio`` (with the loss rule's floor; the
default floor for the accuracy rule) and ``forgot`` (at the accuracy rule's threshold; 0.9 for
the loss rule).  It stacks curves of equal length into 2-D blocks, so 100,000 runs x 200 log
points take a few seconds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from grokjax import curves
from grokjax.errors import SpecError

PHASES = ("memorize", "grok", "generalize", "fail", "diverged")
CURVES = ("step", "train_loss", "test_loss", "train_acc", "test_acc")
FLOAT32_EPS = 1.1920929e-07
DEFAULT_THRESHOLD = 0.9  # accuracy threshold of the ``forgot`` flag under the loss rule
_CHUNK = 16_384  # rows per vectorised block: bounds the float64 temporaries (~25 MB per curve)


# --- Vectorised statistics over a block of runs (R runs x L logged steps) ---


def _loss_stats_2d(
    train_RxL: np.ndarray, test_RxL: np.ndarray, floor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-run (min train, min test, max test/train) of floored losses, NaN steps ignored."""
    tr_floor, te_floor = curves.at_precision(floor, train_RxL), curves.at_precision(floor, test_RxL)
    tr = train_RxL.astype(np.float64)  # float64: test/train with a 1e-40 train loss overflows f32
    te = test_RxL.astype(np.float64)
    if floor > 0:
        tr = np.maximum(tr, tr_floor)  # NaN propagates through np.maximum
        te = np.maximum(te, te_floor)
    ok = ~(np.isnan(tr) | np.isnan(te))
    any_ok = ok.any(axis=1)
    min_tr = np.where(ok, tr, np.inf).min(axis=1, initial=np.inf)
    min_te = np.where(ok, te, np.inf).min(axis=1, initial=np.inf)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(tr == te, 1.0, te / tr)  # equal (0/0, inf/inf) -> 1, not NaN
    ratio = np.where(ok & ~np.isnan(ratio), ratio, -np.inf).max(axis=1, initial=-np.inf)
    nan = np.full(len(tr), np.nan)
    return (np.where(any_ok, min_tr, nan), np.where(any_ok, min_te, nan),
            np.where(any_ok, ratio, nan))


def _forgot_2d(test_acc_RxL: np.ndarray, threshold: float) -> np.ndarray:
    thr = curves.at_precision(threshold, test_acc_RxL)
    reached = (test_acc_RxL >= thr).any(axis=1)
    return reached & (curves.last_finite(test_acc_RxL) < thr)  # no finite step: NaN, not < thr


@dataclass
class _Block:
    """Curves of R runs with equal length, stacked, plus their diverged flags."""

    step: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    diverged: np.ndarray


# --- The rules ---


@dataclass(frozen=True)
class LossRule:
    """The explorable's loss rule (module docstring): fail / memorize / generalize / grok."""

    min_train: float = 1e-5
    min_test: float = 1e-5
    ratio: float = 5e4
    floor: float = FLOAT32_EPS

    name: ClassVar[str] = "loss"

    def params(self) -> dict[str, Any]:
        return asdict(self)

    def _classify(self, b: _Block) -> np.ndarray:
        min_tr, min_te, max_ratio = _loss_stats_2d(b.train_loss, b.test_loss, self.floor)
        # Thresholds at the curves' precision; NaN (no finite step) fails every "<=" test.
        thr_tr = curves.at_precision(self.min_train, b.train_loss)
        thr_te = curves.at_precision(self.min_test, b.test_loss)
        return np.select(
            [b.diverged, ~(min_tr <= thr_tr), ~(min_te <= thr_te), max_ratio < self.ratio],
            ["diverged", "fail", "memorize", "generalize"],
            default="grok",
        ).astype(object)


@dataclass(frozen=True)
class AccuracyRule:
    """Liu et al. (2022): steps at which train and test accuracy first reach ``threshold``."""

    threshold: float = 0.9
    delay: int = 1000

    name: ClassVar[str] = "accuracy"

    def params(self) -> dict[str, Any]:
        return asdict(self)

    def _classify(self, b: _Block) -> np.ndarray:
        i_tr = curves.first_index(b.train_acc, self.threshold)
        i_te = curves.first_index(b.test_acc, self.threshold)
        both = (i_tr >= 0) & (i_te >= 0)
        rows = np.arange(len(i_tr))
        if b.step.shape[1]:
            gap = b.step[rows, np.maximum(i_te, 0)] - b.step[rows, np.maximum(i_tr, 0)]
        else:
            gap = np.zeros(len(i_tr))
        return np.select(
            [b.diverged, both & (gap < self.delay), both, i_tr >= 0],
            ["diverged", "generalize", "grok", "memorize"],
            default="fail",
        ).astype(object)


Rule = LossRule | AccuracyRule
RULES: dict[str, type[LossRule] | type[AccuracyRule]] = {"loss": LossRule, "accuracy": AccuracyRule}


# --- Per-run helpers (1-D curves) ---


def _row1(x: Any) -> np.ndarray:
    a = np.asarray(x)
    return a.reshape(1, -1)


def loss_stats(
    train_loss: Sequence[float] | np.ndarray,
    test_loss: Sequence[float] | np.ndarray,
    floor: float = FLOAT32_EPS,
) -> tuple[float, float, float]:
    """(min train loss, min test loss, max test/train) of one run's floored losses.

    Steps where either loss is NaN are ignored; all NaN -> (nan, nan, nan).
    """
    tr, te = _row1(train_loss), _row1(test_loss)
    if tr.shape != te.shape:
        raise ValueError(f"train_loss has {tr.shape[1]} points, test_loss {te.shape[1]}")
    a, b, c = _loss_stats_2d(tr, te, floor)
    return float(a[0]), float(b[0]), float(c[0])


def first_step(
    step: Sequence[int] | np.ndarray,
    acc: Sequence[float] | np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
) -> int | None:
    """First logged step with ``acc >= threshold``; None if never reached."""
    s, a = np.asarray(step), _row1(acc)
    if s.shape[0] != a.shape[1]:
        raise ValueError(f"step has {s.shape[0]} points, acc {a.shape[1]}")
    i = int(curves.first_index(a, threshold)[0])
    return None if i < 0 else int(s[i])


def forgot(test_acc: Sequence[float] | np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """Test accuracy reached ``threshold`` at some step but its final finite value is below it.

    Flags reverse grokking (generalize, then memorize): the rules classify from the whole
    history, so such a run is still ``generalize``/``grok``.
    """
    return bool(_forgot_2d(_row1(test_acc), threshold)[0])


def _is_true(v: Any) -> bool:
    """``diverged`` cell -> bool; missing (None / NA / NaN) counts as not diverged."""
    if v is None or v is pd.NA:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return bool(v)


def classify_row(rule: Rule, row_like: Mapping[str, Any] | pd.Series) -> str:
    """Phase of one run: ``row_like`` has the curve columns and optionally ``diverged``."""
    if _is_true(row_like.get("diverged", False)):
        return "diverged"  # short cut: no curves needed
    arrays = {c: _row1(row_like[c]) for c in CURVES}
    _check_lengths({c: np.array([a.shape[1]]) for c, a in arrays.items()}, ["run"])
    block = _Block(**arrays, diverged=np.zeros(1, dtype=bool))
    return str(rule._classify(block)[0])


# --- Whole frames ---


def _length(v: Any) -> int:
    try:
        return len(v)
    except TypeError:  # a missing curve (None / NaN) is an empty one
        return 0


def _check_lengths(lengths: dict[str, np.ndarray], labels: Sequence[Any]) -> None:
    ref = lengths["step"]
    for c, n in lengths.items():
        bad = np.flatnonzero(n != ref)
        if bad.size:
            i = bad[0]
            raise ValueError(
                f"run {labels[i]!r}: curve {c!r} has {n[i]} points but 'step' has {ref[i]}"
            )


def _stack(values: np.ndarray, rows: np.ndarray, length: int) -> np.ndarray:
    if length == 0:
        return np.empty((len(rows), 0))
    return np.stack([np.asarray(values[i]) for i in rows])


def classify_frame(df: pd.DataFrame, rule: Rule | None = None) -> pd.DataFrame:
    """A copy of ``df`` with ``phase``, ``phase_rule``, ``phase_params``, ``min_train_loss``,
    ``min_test_loss``, ``max_loss_ratio`` and ``forgot`` set (overwritten if present)."""
    rule = LossRule() if rule is None else rule
    missing = [c for c in CURVES if c not in df.columns]
    if missing:
        raise ValueError(f"classify_frame: missing curve columns {missing}")
    n = len(df)
    floor = rule.floor if isinstance(rule, LossRule) else LossRule.floor
    threshold = rule.threshold if isinstance(rule, AccuracyRule) else DEFAULT_THRESHOLD
    phase = np.empty(n, dtype=object)
    stats = np.full((3, n), np.nan)
    forgot_ = np.zeros(n, dtype=bool)
    diverged = (np.array([_is_true(v) for v in df["diverged"]], dtype=bool)
                if "diverged" in df.columns else np.zeros(n, dtype=bool))

    values = {c: df[c].to_numpy() for c in CURVES}
    lengths = {c: np.fromiter((_length(v) for v in values[c]), dtype=np.int64, count=n)
               for c in CURVES}
    _check_lengths(lengths, list(df.index))
    # Rows with equal curve length are stacked together; ragged frames just make more groups.
    for length in np.unique(lengths["step"]):
        group = np.flatnonzero(lengths["step"] == length)
        for start in range(0, len(group), _CHUNK):
            rows = group[start:start + _CHUNK]
            block = _Block(**{c: _stack(values[c], rows, int(length)) for c in CURVES},
                           diverged=diverged[rows])
            phase[rows] = rule._classify(block)
            stats[:, rows] = _loss_stats_2d(block.train_loss, block.test_loss, floor)
            forgot_[rows] = _forgot_2d(block.test_acc, threshold)

    out = df.copy()
    out["phase"] = phase
    out["phase_rule"] = rule.name
    out["phase_params"] = json.dumps(rule.params(), sort_keys=True)
    out["min_train_loss"], out["min_test_loss"], out["max_loss_ratio"] = stats
    out["forgot"] = forgot_
    return out


# --- Building a rule from a sweep file's [phases] table or the command line ---

# key -> (predicate a valid value satisfies, what is allowed: for the error message)
_CHECKS = {
    "min_train": (lambda v: v > 0, "a number > 0 (default 1e-5)"),
    "min_test": (lambda v: v > 0, "a number > 0 (default 1e-5)"),
    "ratio": (lambda v: v > 0, "a number > 0 (default 5e4)"),
    "floor": (lambda v: v >= 0, "a number >= 0 (default 1.1920929e-07; 0 disables the floor)"),
    "threshold": (lambda v: 0 < v <= 1, "a number in (0, 1] (default 0.9)"),
    "delay": (lambda v: v > 0, "a positive integer number of steps (default 1000)"),
}


def _number(source: str, key: str, v: Any, integer: bool) -> float | int:
    allowed = _CHECKS[key][1]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise SpecError(source, f"[phases] {key}", f"got {v!r}; allowed: {allowed}")
    if not math.isfinite(v):
        raise SpecError(source, f"[phases] {key}", f"got {v!r}; allowed: {allowed}")
    if integer:
        if isinstance(v, float) and not v.is_integer():
            raise SpecError(source, f"[phases] {key}", f"got {v!r}; allowed: {allowed}")
        v = int(v)
    if not _CHECKS[key][0](v):
        raise SpecError(source, f"[phases] {key}", f"got {v!r}; allowed: {allowed}")
    return v if integer else float(v)


def rule_from_options(options: Mapping[str, Any], source: str = "<phases>") -> Rule:
    """The rule described by a ``[phases]`` table, e.g. ``{"rule": "accuracy", "delay": 500}``.

    An empty table gives the default ``LossRule()``.  Raises ``SpecError`` naming the key and
    the allowed values for an unknown rule or key, a wrong type or a bad value.
    """
    if not isinstance(options, Mapping):
        raise SpecError(source, "[phases]", f"must be a table, got {options!r}")
    name = options.get("rule", "loss")
    if not isinstance(name, str) or name not in RULES:
        allowed = ", ".join(repr(r) for r in RULES)
        raise SpecError(source, "[phases] rule", f"unknown rule {name!r}; allowed: {allowed}")
    cls = RULES[name]
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, v in options.items():
        if key == "rule":
            continue
        if key not in known:
            allowed = ", ".join(["rule", *known])
            raise SpecError(source, f"[phases] {key}",
                            f"unknown key for rule {name!r}; allowed: {allowed}")
        kwargs[key] = _number(source, key, v, integer=known[key].type in (int, "int"))
    rule = cls(**kwargs)
    if isinstance(rule, LossRule) and rule.floor > min(rule.min_train, rule.min_test):
        # every run's floored min train loss would exceed min_train: all runs 'fail'
        raise SpecError(source, "[phases] floor",
                        f"got {rule.floor!r}, above min_train/min_test "
                        f"({rule.min_train!r}/{rule.min_test!r}), which would make every run "
                        "fail or memorize; allowed: 0 <= floor <= min(min_train, min_test)")
    return rule


def _parse_cli_value(v: Any) -> Any:
    """Command-line values arrive as strings: '1e4' -> 10000.0, '500' -> 500."""
    if not isinstance(v, str):
        return v
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def rule_from_cli(rule: str, params: Mapping[str, Any] | None = None) -> Rule:
    """A rule from ``--rule NAME`` and ``key=value`` parameters; errors name 'command line'."""
    options = {k: _parse_cli_value(v) for k, v in (params or {}).items()}
    return rule_from_options({"rule": rule, **options}, source="command line")
