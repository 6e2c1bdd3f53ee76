"""How sure each cell of the sweep page is, in headless Chromium: the Wilson interval of every
cell's phase shares (tooltip) and its background opacity, recomputed live when a threshold
moves, equal to grokjax.report.cell_shares / grokjax.stats.

Needs playwright (python) and /usr/bin/chromium; skipped otherwise.  A synthetic parity grid of
test_report.py, 5 weight decays x 3 train sizes x 9 seeds (135 runs).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from browser import set_range

pytestmark = pytest.mark.browser
sys.path.insert(0, str(Path(__file__).parent))

CELLS = """() => {
  const out = [];
  const walk = (node) => {
    if (!node) return;
    if (node.marktype === "rect" && node.name === "cells_marks") {
      for (const it of node.items) out.push({key: it.datum.key, share: it.datum.cell_share,
        phases: it.datum.cell_phases, fill: it.fill, opacity: it.fillOpacity, n: it.datum.n});
    }
    for (const it of (node.items || [])) walk(it);
  };
  walk(window.grokjax.views.main.scenegraph().root);
  return out;
}"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from browser import offline_context
    from test_report import make_results

    from grokjax.report import write_report

    d = make_results(tmp_path_factory.mktemp("results"), seeds=9, grid={
        "weight_decay": [0.01, 0.03, 0.1, 0.3, 1.0], "train_size": [750, 1250, 1750]})
    html = write_report(d, png=False, explorers=False)
    with offline_context() as (context, errors, blocked):
        p = context.new_page()
        p.goto(html.as_uri())
        p.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)
        yield p
        assert not errors and not blocked, (errors, blocked)


def _drawn_cells(page) -> dict[str, dict]:
    return {c["key"]: c for c in page.evaluate(CELLS)}


def _python_cells(page) -> dict[str, dict]:
    """grokjax.report.cell_shares on the page's live phases, cell by cell."""
    from grokjax.report.cell_shares import cell_fields

    by_key: dict[str, list[str]] = {}
    for key, phase in page.evaluate("() => window.grokjax.live().map(r => [r.key, r.phase])"):
        by_key.setdefault(key, []).append(phase)
    return {k: cell_fields(v) for k, v in by_key.items()}


def test_wilson_in_the_page_is_the_python_one(page):
    from grokjax.stats import wilson

    cases = [(k, n) for n in (*range(1, 31), 300, 1125) for k in range(n + 1)]
    got = page.evaluate("(cs) => cs.map(([k, n]) => window.grokjax.wilson(k, n))", cases)
    assert got == [list(wilson(k, n)) for k, n in cases]  # the same expression, bit for bit


def test_cells_show_their_interval_and_follow_the_counts(page):
    drawn = _drawn_cells(page)
    assert len(drawn) == 15
    # at the stored thresholds the page's cells say what Python says of the stored phases
    want = _python_cells(page)
    for key, c in drawn.items():
        w = want[key]
        assert (c["share"], c["phases"], c["fill"], c["n"]) == (
            w["cell_share"], w["cell_phases"], w["cell_fill"], w["cell_n"])
        assert c["opacity"] == pytest.approx(w["cell_alpha"], abs=1e-12)
    assert any("9/9 = 100% [70, 100]" in c["share"] for c in drawn.values())
    # a surer cell is more opaque: 9 of 9 above any cell whose modal share is lower
    full = [c["opacity"] for c in drawn.values() if "9/9" in c["share"]]
    part = [c["opacity"] for c in drawn.values() if "9/9" not in c["share"]
            and "(tie)" not in c["share"]]
    assert full and part and min(full) > max(part)
    # hover: the interval is in the cell's tooltip (a point of the first cell no dot covers)
    x, y = page.evaluate("""() => {
      const cell = document.querySelector("#gj-main g.cells_marks path");
      const b = cell.getBoundingClientRect();
      for (let i = 1; i < 40; i++) for (let j = 1; j < 40; j++) {
        const x = b.left + b.width * i / 40, y = b.top + b.height * j / 40;
        if (document.elementFromPoint(x, y) === cell) return [x, y];
      }
      return null;
    }""")
    page.mouse.move(x, y)
    page.wait_for_function("document.getElementById('gj-tip').style.display === 'block'",
                           timeout=5_000)
    tip = page.inner_text("#gj-tip")
    assert "modal phase, 95% interval" in tip and "every phase, 95% interval" in tip
    assert any(c["share"] in tip for c in drawn.values())
    # re-classify: the cells whose counts change get a new interval and opacity, as Python says
    set_range(page, "#gj-ratio", 0.5)
    after, want = _drawn_cells(page), _python_cells(page)
    moved = [k for k in drawn if after[k]["share"] != drawn[k]["share"]]
    assert moved, "no cell changed its counts"
    for key in moved:
        assert after[key]["share"] == want[key]["cell_share"]
        assert after[key]["opacity"] == pytest.approx(want[key]["cell_alpha"], abs=1e-12)
    assert any(after[k]["opacity"] != drawn[k]["opacity"] for k in moved)
    page.click("#gj-reset")
    page.wait_for_function(
        "window.grokjax.live().filter(r => r.changed).length === 0", timeout=10_000)
    assert {k: c["share"] for k, c in _drawn_cells(page).items()} == {
        k: c["share"] for k, c in drawn.items()}
