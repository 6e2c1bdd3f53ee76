"""Explorer pages in headless Chromium: draw offline, the step slider swaps the weights, the
JavaScript logit waves agree with grokjax.analysis, and the phase diagram links to the pages.

Needs playwright (python) and /usr/bin/chromium; skipped otherwise.  Trains the 2-run sweep of
test_explorer.py (about 10 s).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

sys.path.insert(0, str(Path(__file__).parent))
from browser import offline_context  # noqa: E402


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """(results dir, browser context, console errors, blocked requests)."""
    from test_explorer import tiny_modular

    from grokjax.report import write_report

    with offline_context() as (context, errors, blocked):
        d = tiny_modular(tmp_path_factory.mktemp("results") / "tiny_mod")
        write_report(d, png=False)  # 2 runs: writes explore/RUN_ID.html for both
        yield d, context, errors, blocked


def _open(context, path: Path):
    page = context.new_page()
    page.goto(path.as_uri())
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=20_000)
    return page


def _updates(page) -> int:
    return page.evaluate("() => Number(document.body.dataset.updates || 0)")


def _cells(page, view: str = "wa") -> list[float]:
    return page.evaluate(f"() => window.grokjax.views.{view}.data('cells').map(r => r.v)")


def test_explorer_slider_swaps_the_weights(session, tmp_path):
    from grokjax.store import load_results

    d, context, errors, blocked = session
    rid = str(load_results(d)["run_id"].iloc[0])
    page = _open(context, d / "explore" / f"{rid}.html")
    assert blocked == [], f"the page tried to fetch {blocked[:3]}"
    assert errors == [], errors
    steps = page.evaluate("() => window.grokjax.D.steps")
    assert len(steps) >= 2
    assert page.evaluate("() => document.body.dataset.step") == str(steps[-1])
    last_w, last_c = _cells(page), _cells(page, "ca")
    assert len(last_w) == 11 * 8
    star = page.evaluate("() => window.grokjax.views.star.data('star').length")
    assert star > 0
    # move the step slider to the first snapshot: the heatmaps get that snapshot's weights
    before = _updates(page)
    page.evaluate("""() => { const el = document.getElementById("gx-step");
      el.value = "0"; el.dispatchEvent(new Event("input", {bubbles: true})); }""")
    page.wait_for_function(f"Number(document.body.dataset.updates || 0) > {before}",
                           timeout=10_000)
    assert page.evaluate("() => document.body.dataset.step") == str(steps[0])
    first_w = _cells(page)
    assert len(first_w) == len(last_w) and not np.allclose(first_w, last_w)
    assert not np.allclose(_cells(page, "ca"), last_c)
    assert page.evaluate("() => window.grokjax.views.curves.signal('cur')") == steps[0]
    assert "step 0" in page.inner_text("#gx-step-label")
    # neurons by index, then back: the same values at other positions
    page.select_option("#gx-order", "index")
    page.wait_for_function("window.grokjax.state.order === 'index'")
    page.select_option("#gx-order", "freq")
    page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
    assert (tmp_path / "explorer.png").stat().st_size > 50_000
    assert errors == [], errors


def test_logit_waves_match_python(session):
    """The page's per-frequency logits (JavaScript, from W_input and W_output) agree with
    grokjax.analysis.frequency_logits and the model's logits."""
    import jax.numpy as jnp

    from grokjax.analysis import frequency_logits
    from grokjax.checkpoints import load_params
    from grokjax.models.modular_mlp import modular_logits
    from grokjax.report.runs import run_static
    from grokjax.store import load_results

    d, context, errors, _ = session
    df = load_results(d)
    row = df.iloc[1]
    rid = str(row["run_id"])
    page = _open(context, d / "explore" / f"{rid}.html")
    static = run_static(row)
    params = {k: jnp.asarray(v) for k, v in load_params(d, rid).items()}
    key = page.evaluate("() => window.grokjax.D.mod.key")
    last = page.evaluate("() => window.grokjax.D.steps.length - 1")
    for a, b in ((3, 7), (10, 0)):
        got = page.evaluate(f"""() => {{ const r = window.grokjax.logits({last}, {a}, {b});
          return {{total: Array.from(r.total), groups: r.groups.map(g => Array.from(g))}}; }}""")
        want = np.asarray(modular_logits(params, static, jnp.array([a]), jnp.array([b])))[0]
        np.testing.assert_allclose(got["total"], want, rtol=1e-4, atol=1e-4)
        per_f = np.asarray(frequency_logits(params, static, jnp.array(a), jnp.array(b)))
        for j, k in enumerate(key):
            np.testing.assert_allclose(got["groups"][j], per_f[k], rtol=1e-4, atol=1e-4)
    # the a / b inputs redraw the waves; the answer is marked
    before = _updates(page)
    page.fill("#gx-a-val", "4")
    page.dispatch_event("#gx-a-val", "change")
    page.wait_for_function(f"Number(document.body.dataset.updates || 0) > {before}")
    rows = page.evaluate("() => window.grokjax.views.logits.data('logits')")
    assert {r["ans"] for r in rows} == {(4 + page.evaluate("window.grokjax.state.b")) % 11}
    assert "label" in page.inner_text("#gx-pred")
    assert errors == [], errors


def test_phase_diagram_links_to_explorer_pages(session):
    d, context, errors, blocked = session
    page = _open(context, d / "index.html")
    key = page.evaluate("() => window.grokjax.live()[0].key")
    page.evaluate(f"() => window.grokjax.select({key!r})")
    page.wait_for_selector("#gj-cell-runs a")
    hrefs = page.eval_on_selector_all("#gj-cell-runs a", "els => els.map(a => a.getAttribute("
                                      "'href'))")
    assert len(hrefs) == 2
    for h in hrefs:
        assert (d / h).is_file(), h
    page.click("#gj-cell-runs a >> nth=0")
    page.wait_for_function("document.body.dataset.ready === '1' && !!window.grokjax.D.mod",
                           timeout=20_000)
    assert page.url.endswith(hrefs[0])
    # and back
    page.click("a[href='../index.html']")
    page.wait_for_function("document.body.dataset.ready === '1' && !!window.grokjax.live",
                           timeout=20_000)
    assert blocked == [] and errors == [], (blocked, errors)


def test_transformer_page_draws_attention_and_neuron_frequencies(session, tmp_path):
    """The transformer's page draws offline: token tables and their DFT, the attention of
    every pair (p x n_heads p cells) and the neuron-frequency bars (one count per neuron); no
    logit waves; the step slider swaps the attention."""
    from test_explorer import tiny_transformer

    from grokjax.report import write_explorer
    from grokjax.store import load_results

    d = tiny_transformer(tmp_path / "tiny_tx")
    rid = str(load_results(d)["run_id"].iloc[0])
    path = write_explorer(d, rid)
    _, context, errors, blocked = session  # one browser per module: the session's
    page = _open(context, path)
    assert page.evaluate("() => window.grokjax.views.logits === undefined")
    assert len(_cells(page, "wa")) == 11 * 8 and len(_cells(page, "ca")) == 11 * 8
    last = _cells(page, "att")
    assert len(last) == 11 * 22 and all(0 <= v <= 1 for v in last)
    bars = page.evaluate("() => window.grokjax.views.nfreq.data('nfreq')")
    assert sum(b["n"] for b in bars) == 16
    before = _updates(page)
    page.evaluate("""() => { const el = document.getElementById("gx-step");
      el.value = "0"; el.dispatchEvent(new Event("input", {bubbles: true})); }""")
    page.wait_for_function(f"Number(document.body.dataset.updates || 0) > {before}",
                           timeout=10_000)
    assert not np.allclose(_cells(page, "att"), last)
    assert blocked == [] and errors == [], (blocked, errors)


PLUGIN = Path(__file__).parent / "plugins" / "sqsum.py"


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    """A new user's plugin task, (a^2 + b^2) mod p, under a plugin model with no views
    (ln_mlp) and under the built-in modular_mlp; 4 snapshots per run; the accuracy rule (it has
    no loss floor of its own)."""
    from grokjax.engine import run_sweep
    from grokjax.options import EngineOptions
    from grokjax.spec import parse_spec

    spec = parse_spec({
        "sweep": {"name": "sq", "seeds": 1, "plugins": [str(PLUGIN)]},
        "fixed": {"task": "sqsum", "p": 11, "hidden": 8, "embed": 8, "steps": 120,
                  "log_every": 20, "train_frac": 0.6, "lr": 1e-2},
        "grid": {"model": ["ln_mlp", "modular_mlp"]},
        "phases": {"rule": "accuracy"},
        "checkpoints": {"snapshots": 4}}, source="sq.toml")
    out = tmp_path_factory.mktemp("results") / "sq"
    run_sweep(spec, out, options=EngineOptions(workers=1), quiet=True, report=True)
    return out


def test_plugin_model_without_views_gets_curves_and_weight_heatmaps(session, plugin_dir):
    from grokjax.checkpoints import load_params
    from grokjax.store import load_results

    _, context, errors, blocked = session
    df = load_results(plugin_dir)
    rid = str(df.loc[df["model"] == "ln_mlp", "run_id"].iloc[0])
    page = _open(context, plugin_dir / "explore" / f"{rid}.html")
    assert blocked == [] and errors == [], (blocked, errors)
    assert page.evaluate("() => window.grokjax.D.steps.length") == 4
    curves = page.evaluate("() => window.grokjax.views.curves.data('curves')")
    assert len(curves) == 2 * 7 and all(r["loss"] is not None for r in curves)
    # a rule without a loss floor: losses are drawn from float32 epsilon up, not from 1e-30
    assert page.evaluate("() => window.grokjax.D.curves.floor") == pytest.approx(1.1920929e-7)
    assert min(r["loss"] for r in curves) >= 1.1920929e-7 * (1 - 1e-6)
    leaves = page.evaluate("() => window.grokjax.D.gen.leaves")
    final = load_params(plugin_dir, rid)
    assert sorted(leaf["name"] for leaf in leaves) == ["['embed']", "['w_h']", "['w_o']"]
    for leaf in leaves:
        name = leaf["name"][2:-2]
        cells = _cells(page, leaf["key"])
        np.testing.assert_allclose(np.asarray(cells).reshape(final[name].shape),
                                   final[name], rtol=1e-6)
    before = _updates(page)
    page.evaluate("""() => { const el = document.getElementById("gx-step");
      el.value = "0"; el.dispatchEvent(new Event("input", {bubbles: true})); }""")
    page.wait_for_function(f"Number(document.body.dataset.updates || 0) > {before}",
                           timeout=10_000)
    assert not np.allclose(_cells(page, "g0"), final["embed"].ravel())
    assert errors == [], errors


def test_logit_waves_take_the_label_from_the_plugin_tasks_data(session, plugin_dir):
    from grokjax.store import load_results

    _, context, errors, _ = session
    df = load_results(plugin_dir)
    rid = str(df.loc[df["model"] == "modular_mlp", "run_id"].iloc[0])
    page = _open(context, plugin_dir / "explore" / f"{rid}.html")
    for a, b in ((3, 7), (9, 2)):  # (9, 2): a > b, only its mirror is in the a <= b data
        page.evaluate(f"() => window.grokjax.setPair({a}, {b})")
        page.wait_for_function(f"window.grokjax.state.a === {a} && window.grokjax.state.b "
                               f"=== {b}")
        page.wait_for_function(f"document.getElementById('gx-pred').innerText.includes('({a}, "
                               f"{b})')")
        want = (a * a + b * b) % 11
        rows = page.evaluate("() => window.grokjax.views.logits.data('logits')")
        assert {r["ans"] for r in rows} == {want}
        text = page.inner_text("#gx-pred")
        assert f"label {want};" in text and "mod 11" not in text, text
    assert errors == [], errors
