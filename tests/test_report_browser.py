"""The sweep page in headless Chromium: draws offline, one dot per run, sliders re-classify.

Needs playwright (python) and /usr/bin/chromium; skipped otherwise.  Uses the synthetic parity
grid (1,125 runs) of test_report.py.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def page_session(tmp_path_factory):
    """(page, html path, console errors, blocked requests, load seconds)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from browser import offline_context
    from test_report import make_results

    from grokjax.report import write_report

    with offline_context() as (context, errors, blocked):
        html = write_report(make_results(tmp_path_factory.mktemp("results")), png=False)
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(html.as_uri())
        page.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)
        load_s = time.perf_counter() - t0
        yield page, html, errors, blocked, load_s


DOTS = "#gj-main g.dots_marks path"

COUNT_BY_FILL = """() => {
  const c = {};
  for (const p of document.querySelectorAll("#gj-main g.dots_marks path")) {
    const f = p.getAttribute("fill"); c[f] = (c[f] || 0) + 1;
  }
  return c;
}"""


def _fills_by_phase(page) -> dict[str, int]:
    colors = page.evaluate("() => window.grokjax.D.colors")
    by_fill = page.evaluate(COUNT_BY_FILL)
    return {p: by_fill.get(c, 0) for p, c in colors.items()}


def _live_counts(page) -> dict[str, int]:
    return page.evaluate("""() => {
      const c = {};
      for (const r of window.grokjax.live()) c[r.phase] = (c[r.phase] || 0) + 1;
      return c;
    }""")


def _set_range(page, selector: str, value: float) -> None:
    before = page.evaluate("() => Number(document.body.dataset.updates || 0)")
    page.evaluate("""([sel, v]) => {
      const el = document.querySelector(sel);
      el.value = String(v);
      el.dispatchEvent(new Event("input", {bubbles: true}));
    }""", [selector, value])
    page.wait_for_function(f"Number(document.body.dataset.updates || 0) > {before}",
                           timeout=10_000)


def test_page_draws_offline_one_dot_per_run(page_session):
    page, _, errors, blocked, load_s = page_session
    assert blocked == [], f"the page tried to fetch {blocked[:3]}"
    assert errors == [], errors
    assert page.locator(DOTS).count() == 1125
    assert page.evaluate("() => window.grokjax.views.main.data('runs').length") == 1125
    # at the stored thresholds the page's rule gives every run its stored phase
    assert page.evaluate("() => window.grokjax.live().filter(r => r.changed).length") == 0
    live = _live_counts(page)
    assert _fills_by_phase(page) == {p: live.get(p, 0) for p in
                                     page.evaluate("() => window.grokjax.D.phases")}
    assert page.locator("#gj-counts tbody tr").count() == 6  # 5 panels + all runs
    assert "All 1125 runs keep their stored phase" in page.inner_text("#gj-changed")
    assert load_s < 20, f"the page took {load_s:.1f} s to draw"


def test_slider_reclassifies_dots(page_session, tmp_path):
    page, *_ = page_session
    before = _fills_by_phase(page)
    # ratio threshold down to 10**0.5: runs whose losses fell together now count as grok
    _set_range(page, "#gj-ratio", 0.5)
    after = _fills_by_phase(page)
    assert after["generalize"] < before["generalize"]
    assert after["grok"] > before["grok"]
    assert sum(after.values()) == 1125
    changed = page.evaluate("() => window.grokjax.live().filter(r => r.changed).length")
    assert changed == before["generalize"] - after["generalize"] > 0
    rings = page.evaluate("""() => [...document.querySelectorAll(
        "#gj-main g.dots_marks path")].filter(p => p.getAttribute("stroke") === "#111").length""")
    assert rings == changed
    assert f"{changed} of 1125 runs" in page.inner_text("#gj-changed")
    # min test loss threshold up to 10: memorizers with a small enough test loss move away
    _set_range(page, "#gj-min_test", 1)
    assert _fills_by_phase(page)["memorize"] < before["memorize"]
    page.click("#gj-reset")
    page.wait_for_function(
        "window.grokjax.live().filter(r => r.changed).length === 0", timeout=10_000)
    assert _fills_by_phase(page) == before
    # the accuracy rule can be switched on live, too
    page.check("input[name=gj-rule][value=accuracy]")
    page.wait_for_function("document.querySelector('#gj-delay') !== null", timeout=10_000)
    assert "accuracy first reach 0.9" in page.inner_text("#gj-rule-text")
    _set_range(page, "#gj-delay", 0)  # generalize only if test reaches 0.9 with train
    assert _fills_by_phase(page)["generalize"] < before["generalize"]
    page.click("#gj-reset")
    page.wait_for_function(
        "window.grokjax.live().filter(r => r.changed).length === 0", timeout=10_000)


def test_click_a_cell_shows_its_curves(page_session, tmp_path):
    page, *_ = page_session
    box = page.locator("#gj-main g.dots_marks path").nth(400).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    key = page.evaluate("() => window.grokjax.views.main.signal('sel')")
    runs = page.evaluate(f"() => window.grokjax.live().filter(r => r.key === {key!r}).length")
    assert runs == 9
    page.wait_for_function(
        f"window.grokjax.views.cell.data('cell').length === {9 * 2 * 101}", timeout=10_000)
    assert "9 runs" in page.inner_text("#gj-cell-title")
    reps = page.evaluate("() => window.grokjax.views.reps.data('reps').length")
    assert reps > 0
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000


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


def _drawn_cells(page) -> dict[str, dict]:
    return {c["key"]: c for c in page.evaluate(CELLS)}


def _python_cells(page) -> dict[str, dict]:
    """grokjax.report.cell_shares on the page's live phases, cell by cell."""
    from grokjax.report.cell_shares import cell_fields

    by_key: dict[str, list[str]] = {}
    for r in page.evaluate("() => window.grokjax.live().map(r => [r.key, r.phase])"):
        by_key.setdefault(r[0], []).append(r[1])
    return {k: cell_fields(v) for k, v in by_key.items()}


def test_wilson_in_the_page_is_the_python_one(page_session):
    from grokjax.stats import wilson

    page, *_ = page_session
    cases = [(k, n) for n in (*range(1, 31), 300, 1125) for k in range(n + 1)]
    got = page.evaluate("(cs) => cs.map(([k, n]) => window.grokjax.wilson(k, n))", cases)
    assert got == [list(wilson(k, n)) for k, n in cases]  # the same expression, bit for bit


def test_cells_show_their_interval_and_follow_the_counts(page_session):
    page, *_ = page_session
    drawn = _drawn_cells(page)
    assert len(drawn) == 125
    # at the stored thresholds the page's cells say what Python says of the stored phases
    want = _python_cells(page)
    for key, c in drawn.items():
        w = want[key]
        assert (c["share"], c["phases"], c["fill"], c["n"]) == (
            w["cell_share"], w["cell_phases"], w["cell_fill"], w["cell_n"])
        assert c["opacity"] == pytest.approx(w["cell_alpha"], abs=1e-12)
    assert any("9/9 = 100% [70, 100]" in c["share"] for c in drawn.values())
    # hover: the interval is in the cell's tooltip
    # a point of the first cell that no dot covers (between four dots)
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
    _set_range(page, "#gj-ratio", 0.5)
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
