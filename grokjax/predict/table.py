"""The terminal table and the JSON of a ``Prediction``; the long frame behind the figure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from grokjax.predict import metrics
from grokjax.predict.evaluate import Prediction, Score


def _ci(i: metrics.Interval | None) -> str:
    if i is None or not math.isfinite(i.value):
        return "n/a"
    if not math.isfinite(i.low):
        return f"{i.value:.2f}"
    return f"{i.value:.2f} [{i.low:.2f}, {i.high:.2f}]"


def _int(v: float) -> str:
    return f"{v:,.0f}" if math.isfinite(v) else "-"


def header(p: Prediction) -> str:
    excl = ", ".join(f"{v} {k}" for k, v in p.excluded.items() if v)
    cut = sorted(set(p.cut_step_R[p.scored_R].tolist()))
    cut_s = f"step {cut[0]:,}" if len(cut) == 1 else f"steps {cut[0]:,}-{cut[-1]:,}"
    extra = f"; early = reaches 0.9 by step {p.threshold:,.0f}" if p.threshold is not None else ""
    hold = f", holding out each {p.hold_out}" if p.hold_out else ""
    lines = [
        f"{p.source or 'runs'}: {p.target} from the first {p.at:.0%} of each run (cut at "
        f"{cut_s}){extra}",
        f"  scored {p.n_scored} of {p.n_runs} runs ({p.n_positive} positive)"
        + (f"; left out: {excl}" if excl else ""),
        f"  out of fold: {p.n_groups} seed groups, {p.n_folds} grouped folds x {p.n_repeats} "
        f"repeats{hold}; 95% intervals: {len(p.weight_BxN)} cluster-bootstrap resamples of "
        "the seeds",
        f"  lead: a positive's step to test accuracy 0.9 minus the cut (median over all "
        f"positives {_int(p.lead_all_median)}); flagged: probability >= 0.5",
    ]
    per, cell, total = p.pair_counts
    lines.append(f"  AUROC counts the (positive, negative) pairs one fold's model ranked: "
                 f"{per:,.0f} of {total:,} per repeat"
                 + (f"; within a cell: {cell:,.0f}" if cell is not None else ""))
    if p.dropped:
        lines.append(f"  dropped (not finite for every scored run): {', '.join(p.dropped)}")
    return "\n".join(lines)


def format_table(p: Prediction, top: int | None = None) -> str:
    """One row per predictor: models, baselines, single features (best ``top`` by AUROC)."""
    singles = [s for s in p.scores if s.kind == "feature"]
    shown = [s for s in p.scores if s.kind != "feature"] + singles[:top]
    cells = p.has_cells
    head = ["predictor", "AUROC [95% CI]"] + (["within-cell AUROC"] if cells else []) + [
        "Brier", "ECE", "n", "pos", "flagged", "lead (median)"]
    rows = [[s.name + ("" if s.kind == "feature" else f" ({s.kind})"), _ci(s.auroc)]
            + ([_ci(s.auroc_cell)] if cells else [])
            + [f"{s.brier:.3f}", f"{s.ece:.3f}", str(p.n_scored), str(p.n_positive),
               str(s.flagged), _int(s.lead_median)] for s in shown]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()

    out = [header(p), "", line(head), line(["-" * w for w in widths])]
    for k, r in enumerate(rows):
        if k and shown[k].kind == "feature" and shown[k - 1].kind != "feature":
            out.append(line(["single features:"] + [""] * (len(head) - 1)))
        out.append(line(r))
    if top is not None and len(singles) > top:
        out.append(f"  ... {len(singles) - top} more single features (--top)")
    diffs = versus_baseline(p)
    if diffs:
        out.append("")
        out.extend(f"  AUROC {a} - {b}: {d.value:+.2f} [{d.low:+.2f}, {d.high:+.2f}] (paired "
                   "bootstrap)" for (a, b), d in diffs.items())
    return "\n".join(out)


def versus_baseline(p: Prediction) -> dict[tuple[str, str], metrics.Interval]:
    """Each model's AUROC minus the cell-rate baseline's (only when settings vary)."""
    if not any(s.name == "cell rate" for s in p.scores):
        return {}
    return {(s.name, "cell rate"): p.compare(s.name, "cell rate") for s in p.scores
            if s.kind == "model"}


def _interval(i: metrics.Interval | None) -> dict[str, Any] | None:
    return None if i is None else {"value": i.value, "low": i.low, "high": i.high}


def _score_json(s: Score) -> dict[str, Any]:
    return {"predictor": s.name, "kind": s.kind, "auroc": _interval(s.auroc),
            "auroc_within_cell": _interval(s.auroc_cell), "brier": s.brier, "ece": s.ece,
            "flagged": s.flagged, "lead_median": s.lead_median}


def plain(v: Any) -> Any:
    """JSON-safe: numpy scalars as Python numbers, NaN and infinities as None."""
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def to_json(p: Prediction) -> dict[str, Any]:
    """Everything the table says, plus the reliability bins of the models (JSON-safe)."""
    return plain(_json(p))


def _json(p: Prediction) -> dict[str, Any]:
    reliab = {}
    for s in p.scores:
        if s.kind == "model":
            m = p.scored_R
            reliab[s.name] = [b._asdict() for b in metrics.reliability(s.prob_R[m], p.y_R[m])]
    return {
        "source": p.source, "at": p.at, "target": p.target, "hold_out": p.hold_out,
        "runs": p.n_runs, "scored": p.n_scored, "positive": p.n_positive,
        "excluded": p.excluded, "seed_groups": p.n_groups, "folds": p.n_folds,
        "repeats": p.n_repeats, "bootstrap": len(p.weight_BxN), "threshold": p.threshold,
        "lead_all_median": p.lead_all_median,
        "features": list(p.feature_names), "dropped": list(p.dropped),
        "pairs_per_repeat": p.pair_counts[0], "cell_pairs_per_repeat": p.pair_counts[1],
        "rows": [_score_json(s) for s in p.scores], "reliability": reliab,
        "versus_cell_rate": {a: _interval(d) for (a, _), d in versus_baseline(p).items()},
    }


def curve_frame(preds: Sequence[Prediction], predictors: Sequence[str] | None = None
                ) -> pd.DataFrame:
    """Long form for the AUROC-vs-cut figure: one row per (cut, predictor)."""
    rows = []
    for p in preds:
        for s in p.scores:
            if (predictors is None and s.kind != "feature") or (predictors and s.name in
                                                                   predictors):
                rows.append({"source": p.source, "at": p.at, "predictor": s.name,
                             "kind": s.kind, "auroc": s.auroc.value, "low": s.auroc.low,
                             "high": s.auroc.high, "scored": p.n_scored,
                             "positive": p.n_positive})
    return pd.DataFrame(rows)
