"""The sweep page in headless Chromium: draws offline, one dot per run, sliders re-classify.

Needs playwright (python) and /usr/bin/chromium; skipped otherwise.  Uses the synthetic parity
grid (1,125 runs) of test_report.py.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from browser import set_range

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
    set_range(page, "#gj-ratio", 0.5)
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
    set_range(page, "#gj-min_test", 1)
    assert _fills_by_phase(page)["memorize"] < before["memorize"]
    page.click("#gj-reset")
    page.wait_for_function(
        "window.grokjax.live().filter(r => r.changed).length === 0", timeout=10_000)
    assert _fills_by_phase(page) == before
    # the accuracy rule can be switched on live, too
    page.check("input[name=gj-rule][value=accuracy]")
    page.wait_for_function("document.querySelector('#gj-delay') !== null", timeout=10_000)
    assert "accuracy first reach 0.9" in page.inner_text("#gj-rule-text")
    set_range(page, "#gj-delay", 0)  # generalize only if test reaches 0.9 with train
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


def test_losses_below_the_rules_floor_are_drawn_at_the_floor(page_session):
    """The synthetic runs' train losses reach 1e-11; the page draws them at the loss rule's
    floor (float32 epsilon), as the rule compares them -- never down to 1e-30 -- in the clicked
    cell's curves and the representative runs alike."""
    page, *_ = page_session
    floor = page.evaluate("() => window.grokjax.rule.params.floor")
    assert floor == pytest.approx(1.1920929e-7)
    box = page.locator("#gj-main g.dots_marks path").nth(400).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("window.grokjax.views.cell.data('cell').length > 0", timeout=10_000)
    low = """(name) => { const v = window.grokjax.views[name].data(name)
        .map(r => r.loss).filter(x => x !== null); return [Math.min(...v), v.length]; }"""
    for view in ("cell", "reps"):
        lowest, n = page.evaluate(low, view)
        assert n > 0 and lowest == pytest.approx(floor, rel=1e-6), view
