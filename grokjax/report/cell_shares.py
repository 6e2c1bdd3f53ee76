"""How sure each cell of the phase diagram is: its phase shares with Wilson 95% intervals.

Every run record of a cell gets the cell's numbers (the diagram's cell layer aggregates them):

* ``cell_share``: the modal phase's share and interval, ``grok 2/3 = 67% [21, 94]`` (tied
  phases joined by " / " and marked "(tie)");
* ``cell_phases``: every phase present, ``memorize 1/3 = 33% [6, 79]; grok 2/3 = ...``;
* ``cell_fill`` / ``cell_alpha``: the cell's background, the modal phase's colour at an
  opacity that grows as the interval narrows, ``ALPHA_MIN + ALPHA_SPAN * (1 - (hi - lo))``: a
  2-of-3 cell is a faint wash, 200-of-300 a strong one.  A tie has no modal phase: the plain
  cell background.

page.js recomputes the same fields, with the same formulas, from the live phases whenever a
threshold moves (``cellFields``); the browser test checks that both give the same numbers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from grokjax.phases import PHASES
from grokjax.report.theme import PHASE_COLORS
from grokjax.stats.intervals import Share
from grokjax.stats.text import share_text

__all__ = ["ALPHA_MIN", "ALPHA_SPAN", "TIE_COLOR", "add_cell_shares", "cell_fields"]

ALPHA_MIN, ALPHA_SPAN = 0.06, 0.44
TIE_COLOR = "#f3f3f3"  # no modal phase: the page's plain cell background


def cell_fields(phases: list[str]) -> dict[str, Any]:
    """The fields of one cell whose runs have these phases."""
    n = len(phases)
    counts = Counter(phases)
    top = max(counts.values())
    modal = [p for p in PHASES if counts.get(p) == top]
    s = Share.of(top, n)
    return {
        "cell_n": n,
        "cell_share": " / ".join(modal) + (" (tie)" if len(modal) > 1 else "") + " "
                      + share_text(s),
        "cell_phases": "; ".join(f"{p} {share_text(Share.of(counts[p], n))}"
                                 for p in PHASES if counts.get(p)),
        "cell_fill": PHASE_COLORS[modal[0]] if len(modal) == 1 else TIE_COLOR,
        "cell_alpha": ALPHA_MIN + ALPHA_SPAN * (1 - (s.hi - s.lo)) if len(modal) == 1 else 1.0,
    }


def add_cell_shares(rows: list[dict[str, Any]]) -> None:
    """Add each run's cell fields (cells by ``key``, phases from ``phase``), in place."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_key.setdefault(r["key"], []).append(r)
    for runs in by_key.values():
        fields = cell_fields([r["phase"] for r in runs])
        for r in runs:
            r.update(fields)
