"""An adaptive sweep's page in headless Chromium: every refined point drawn at its values.

Needs playwright (python) and /usr/bin/chromium; skipped otherwise.  Trains test_adaptive's
tiny adaptive sweep (seconds) in this process.
"""

from __future__ import annotations

import math
import sys
import textwrap
from pathlib import Path

import pytest

from grokjax import EngineOptions, store
from grokjax.adaptive import ROUND_COLUMN
from grokjax.adaptive_sweep import run_adaptive
from grokjax.spec import load_spec

pytestmark = pytest.mark.browser
sys.path.insert(0, str(Path(__file__).parent))

POINTS = """() => {
  const out = [];
  const walk = (node) => {
    if (!node) return;
    if (node.marktype && node.name === "points_marks") {
      for (const it of node.items) out.push({vx: it.datum.vx, vy: it.datum.vy, x: it.x,
        y: it.y, phase: it.datum.phase, n: it.datum.n, r0: it.datum.r0, key: it.datum.key});
    }
    for (const it of (node.items || [])) walk(it);
  };
  walk(window.grokjax.views.main.scenegraph().root);
  return out;
}"""


@pytest.fixture(scope="module")
def adaptive_page(tmp_path_factory):
    from browser import offline_context
    from test_adaptive import TINY

    from grokjax.report import write_report

    d = tmp_path_factory.mktemp("adaptive_page")
    (d / "tiny.toml").write_text(textwrap.dedent(TINY))
    run_adaptive(load_spec(d / "tiny.toml"), d / "tiny", options=EngineOptions(workers=1),
                 quiet=True, report=False)
    html = write_report(d / "tiny", png=False, explorers=False)
    with offline_context() as (context, errors, blocked):
        page = context.new_page()
        page.goto(html.as_uri())
        page.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)
        yield page, store.load_results(d / "tiny"), errors, blocked


def test_every_point_is_drawn_at_its_values(adaptive_page):
    page, df, errors, blocked = adaptive_page
    assert not errors and not blocked
    points = page.evaluate(POINTS)
    want = {(float(w), float(lr)) for w, lr in zip(df["weight_decay"], df["lr"], strict=True)}
    assert {(p["vx"], p["vy"]) for p in points} == want  # one mark per point, refined included
    assert len(points) == len(want)
    assert any(p["r0"] > 0 for p in points)  # points the rounds added
    runs = df.groupby(["weight_decay", "lr"]).size()
    assert sorted(p["n"] for p in points) == sorted(runs.tolist())
    # positions follow the values: linear weight decay, log learning rate (y grows upwards)
    xs = {p["vx"]: p["x"] for p in points}
    lo, hi = min(xs), max(xs)
    for v, x in xs.items():  # linear in the value
        assert x - xs[lo] == pytest.approx((v - lo) / (hi - lo) * (xs[hi] - xs[lo]), abs=1.0)
    ys = {p["vy"]: p["y"] for p in points}
    lo, hi = min(ys), max(ys)
    for v, y in ys.items():  # log scale
        frac = math.log(v / lo) / math.log(hi / lo)
        assert ys[lo] - y == pytest.approx(frac * (ys[lo] - ys[hi]), abs=1.0)


def test_points_follow_the_live_rule(adaptive_page):
    page, df, errors, _ = adaptive_page
    stored = {p["key"]: p["phase"] for p in page.evaluate(POINTS)}
    assert set(stored.values()) <= {"memorize", "grok", "generalize", "fail", "diverged"}
    page.evaluate("""async () => { window.grokjax.rule.params.min_train = 1e-30;
                                   await window.grokjax.update(); }""")
    after = page.evaluate(POINTS)
    assert {p["phase"] for p in after} <= {"fail", "diverged"}  # nothing fits a 1e-30 loss
    page.evaluate(f"() => window.grokjax.select({after[0]['key']!r})")
    page.wait_for_function("document.getElementById('gj-cell-title').textContent.length > 0")
    assert not errors
    assert ROUND_COLUMN in df.columns
