"""The statistics as text for a terminal, and as JSON (finite numbers; null for "not reached",
"undetermined" and "no test")."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

from grokjax.stats.cells import CellStats, CellTable, key_label
from grokjax.stats.columns import label
from grokjax.stats.intervals import Share
from grokjax.stats.paired import Comparison, Pair, Stratum
from grokjax.stats.survival import MedianStep

__all__ = ["cells_json", "cells_text", "comparison_json", "comparison_text", "share_text",
           "step_text"]

MAX_PAIRS_SHOWN = 40  # per stratum on the terminal; --json has them all
WIDTH = 100  # text wraps here (tables do not)


def _pct(x: float) -> str:
    return f"{math.floor(100 * x + 0.5)}"


def share_text(s: Share) -> str:
    """``2/3 = 67% [21, 94]``: the share and its Wilson 95% interval, in percent."""
    if s.n == 0:
        return "0/0"
    return f"{s.k}/{s.n} = {_pct(s.share)}% [{_pct(s.lo)}, {_pct(s.hi)}]"


def _step(x: float) -> str:
    if math.isnan(x):
        return "-"
    return "not reached" if math.isinf(x) else f"{x:,.0f}"


def step_text(m: MedianStep) -> str:
    """``4,100 [3,600, 5,900]``; ``not reached`` for an infinite median or end."""
    if math.isnan(m.value):
        return "-"
    if math.isinf(m.value) and math.isinf(m.lo):
        return "not reached"
    return f"{_step(m.value)} [{_step(m.lo)}, {_step(m.hi)}]"


def _ratio(x: float) -> str:
    if math.isnan(x):
        return "-"
    if math.isinf(x):
        return "inf"
    return f"{x:.3g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[j]) for r in (header, *rows)) for j in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in (header, *rows)]


def _intro(t: CellTable | Comparison) -> str:
    return (f"intervals: Wilson 95% for shares; percentile bootstrap 95% ({t.n_boot:,} "
            f"resamples, seed {t.seed}) for medians. A run that never reaches "
            f"{t.criterion.describe()} is censored at its last logged step (Kaplan-Meier "
            "median: 'not reached' while fewer than half the runs have reached it).")


def cells_text(t: CellTable, source: str = "", rule: str = "", pooled: Sequence[str] = ()
               ) -> str:
    """Two tables: phase shares per cell, then the reach share and the median steps."""
    n = sum(c.n for c in t.cells)
    by = list(t.by)
    out = [_wrap(f"{source + ': ' if source else ''}{n:,} runs in {len(t.cells)} cell"
                 f"{'s' if len(t.cells) != 1 else ''}" + (f" by {', '.join(by)}" if by else "")),
           _wrap(_intro(t))]
    if pooled:
        out.append(_wrap(f"each cell pools the runs of every {', '.join(pooled)} (as the page "
                         "does); --by lists the columns to split by"))
    keys = [[label(v) for _, v in c.key] for c in t.cells]
    phases = t.phases_present
    if phases:
        out += ["", f"phases ({rule or 'stored'}): runs in the phase / runs, share [95%]"]
        out += _table([*by, "n", *phases],
                      [[*k, str(c.n), *(share_text(c.phase(p)) for p in phases)]
                       for k, c in zip(keys, t.cells, strict=True)])
    out += ["", f"reaching {t.criterion.describe()} (first logged step):"]
    out += _table([*by, "n", "reached", "median step [95%]", "median of those reaching [95%]"],
                  [[*k, str(c.n), share_text(c.reach), step_text(c.median),
                    step_text(c.median_reached)] for k, c in zip(keys, t.cells, strict=True)])
    return "\n".join(out)


def _pair_text(p: Pair) -> str:
    match = dict(p.match)
    if "seed" in match and match.get("data_seed") == match["seed"]:
        del match["data_seed"]  # data_seeds = "per_seed": the same number
    who = ", ".join(f"{c} {label(v)}" for c, v in match.items()) or p.run_a
    if p.outcome == "b_only":
        return f"{who}: >= {_ratio(p.bound)} (only B)"
    if p.outcome == "a_only":
        return f"{who}: <= {_ratio(p.bound)} (only A)"
    if p.outcome == "neither":
        return f"{who}: - (neither)"
    return f"{who}: {_ratio(p.speedup)}"


def _stratum_text(c: Comparison, s: Stratum) -> list[str]:
    n = len(s.pairs)
    out = ["", f"{key_label(s.key) if s.key else 'all pairs'}: {n} pair{'s' if n != 1 else ''}"]
    arms = _table(["", "", "reached", "median step [95%]"],
                  [[tag, label(a.value), share_text(a.reach), step_text(a.median)]
                   for tag, a in (("A", s.arm_a), ("B", s.arm_b))])
    out += ["  " + line for line in arms]
    out.append(_wrap(f"pairs: both reach it {s.count('both')}, only A {s.count('a_only')}, "
                     f"only B {s.count('b_only')}, neither {s.count('neither')}", "  "))
    if n == s.count("neither"):
        out.append("  no pair reaches it in either arm: no speed-up, no test")
        return out
    shown = [_pair_text(p) for p in s.pairs[:MAX_PAIRS_SHOWN]]
    more = n - len(shown)
    # No line break inside one pair's entry (a no-break space until wrapped).
    out.append(_wrap("speed-up per pair: " + "; ".join(e.replace(" ", "\xa0") for e in shown)
                     + (f"; ... {more} more (--json)" if more else ""), "  ").replace("\xa0", " "))
    m = s.median_speedup
    value = ("undetermined (as many only-A as only-B pairs in the middle)"
             if math.isnan(m.value) else _ratio(m.value))
    sg, w = s.sign, s.wilcoxon
    for line in (
            f"median speed-up {value} [{_ratio(m.lo)}, {_ratio(m.hi)}] over "
            f"{n - s.count('neither')} pair{'s' if n - s.count('neither') != 1 else ''} "
            "(only B as inf, only A as 0)",
            f"sign test: B sooner in {sg.n_pos}, A sooner in {sg.n_neg} of the pairs whose "
            f"order is known; p = {_p(sg.p)} (exact binomial, two-sided)",
            f"Wilcoxon signed-rank on the log speed-ups of the {w.n} pair{'s' if w.n != 1 else ''}"
            " where both reach it"
            + (f" ({w.n_zero} equal, dropped)" if w.n_zero else "")
            + (f": W+ = {w.w_plus:g}, p = {_p(w.p)} ({w.method}, two-sided)" if w.n
               else ": no test")):
        out.append(_wrap(line, "  "))
    return out


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False)


def _p(p: float | None) -> str:
    return "-" if p is None else f"{p:.3g}"


def comparison_text(c: Comparison, source: str = "") -> str:
    """The comparison, stratum by stratum: arms, pair outcomes, speed-ups, tests."""
    head = [f"{source + ': ' if source else ''}{c.setting} = {label(c.a)} (A) vs "
            f"{label(c.b)} (B), pairs matched on every other setting"
            + (f"; one comparison per {', '.join(c.strata_by)}" if c.strata_by else ""),
            f"reach: the first logged step with {c.criterion.describe()}; speed-up = step_A / "
            "step_B (> 1: B reaches it sooner)", _intro(c)]
    if c.one_arm:
        head.append(f"not matched on (settings of one arm only): {', '.join(c.one_arm)}")
    if any(c.unmatched):
        head.append(f"runs without a partner, dropped: {c.unmatched[0]} of A, "
                    f"{c.unmatched[1]} of B"
                    + (f" (the arms' values differ in {', '.join(c.differing)})"
                       if c.differing else ""))
    out = [_wrap(line) for line in head]
    for s in c.strata:
        out += _stratum_text(c, s)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _value(v: Any) -> Any:
    if isinstance(v, float):
        return _num(v)
    return list(v) if isinstance(v, tuple) else v


def _share(s: Share) -> dict[str, Any]:
    return {"k": s.k, "n": s.n, "share": _num(s.share), "lo": s.lo, "hi": s.hi}


def _median(m: MedianStep) -> dict[str, Any]:
    """value / lo / hi: null where infinite ("not reached") or undefined."""
    return {"value": _num(m.value), "lo": _num(m.lo), "hi": _num(m.hi),
            "reached": bool(math.isfinite(m.value)) if not math.isnan(m.value) else None}


def _criterion(t: CellTable | Comparison) -> dict[str, Any]:
    cr = t.criterion
    return {"metric": cr.metric, "threshold": cr.threshold, "op": "<=" if cr.below else ">=",
            "n_boot": t.n_boot, "seed": t.seed, "confidence": 0.95}


def _cell(c: CellStats) -> dict[str, Any]:
    return {"key": {k: _value(v) for k, v in c.key}, "n": c.n,
            "phases": {p: _share(s) for p, s in c.phases}, "reach": _share(c.reach),
            "median_step": _median(c.median), "median_step_reached": _median(c.median_reached),
            "budget": [_num(b) for b in c.budget]}


def cells_json(t: CellTable) -> dict[str, Any]:
    return {"by": list(t.by), **_criterion(t), "cells": [_cell(c) for c in t.cells]}


def _pair(p: Pair) -> dict[str, Any]:
    return {"match": {k: _value(v) for k, v in p.match}, "run_a": p.run_a, "run_b": p.run_b,
            "step_a": _num(p.step_a), "step_b": _num(p.step_b), "outcome": p.outcome,
            "speedup": _num(p.speedup), "bound": _num(p.bound)}


def comparison_json(c: Comparison) -> dict[str, Any]:
    def stratum(s: Stratum) -> dict[str, Any]:
        return {
            "key": {k: _value(v) for k, v in s.key},
            "arms": {tag: {"value": _value(a.value), "reach": _share(a.reach),
                           "median_step": _median(a.median)}
                     for tag, a in (("a", s.arm_a), ("b", s.arm_b))},
            "counts": {o: s.count(o) for o in ("both", "a_only", "b_only", "neither")},
            "median_speedup": {"value": _num(s.median_speedup.value),
                               "lo": _num(s.median_speedup.lo),
                               "hi": _num(s.median_speedup.hi),
                               "infinite": math.isinf(s.median_speedup.value)},
            "sign_test": {"b_sooner": s.sign.n_pos, "a_sooner": s.sign.n_neg, "p": s.sign.p},
            "wilcoxon": {"n": s.wilcoxon.n, "zeros": s.wilcoxon.n_zero,
                         "w_plus": s.wilcoxon.w_plus, "p": s.wilcoxon.p,
                         "method": s.wilcoxon.method},
            "pairs": [_pair(p) for p in s.pairs],
        }
    return {"setting": c.setting, "a": _value(c.a), "b": _value(c.b), **_criterion(c),
            "strata_by": list(c.strata_by), "not_matched_on": list(c.one_arm),
            "unmatched": {"a": c.unmatched[0], "b": c.unmatched[1]},
            "strata": [stratum(s) for s in c.strata]}
