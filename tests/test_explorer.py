"""Per-run explorer pages (grokjax.report.explorer): built from a tiny real sweep, the DFT data of
a hand-built single-frequency model, parity pages from saved parameters, bad input.

``tiny_modular`` (a real 2-run sweep with 10 parameter snapshots per run) is imported by the
browser test.
"""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grokjax.analysis import modular_snapshot
from grokjax.checkpoints import load_params, save_params, saved_steps
from grokjax.report import write_explorer, write_explorers, write_report
from grokjax.report.explorer import explorer_ids
from grokjax.report.runs import run_static
from grokjax.spec import parse_spec, resolve
from grokjax.store import ResultsError, load_results, write_manifest, write_part

TINY = {
    "sweep": {"name": "tiny_mod", "seeds": 2},
    "fixed": {"task": "modular", "p": 11, "embed": 8, "hidden": 8, "steps": 180,
              "log_every": 20, "train_frac": 0.6, "lr": 1e-2},
}


def tiny_modular(out: Path) -> Path:
    """Train the 2-run sweep TINY into ``out`` (no report) and return the folder."""
    from grokjax.engine import run_sweep
    from grokjax.options import EngineOptions

    spec = parse_spec(TINY, source="t.toml")
    run_sweep(spec, out, options=EngineOptions(workers=1), quiet=True, report=False)
    return Path(out)


def payload(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="gx-data">(.*?)</script>', html, re.S)
    assert m, "no data script in the page"
    return json.loads(m.group(1))


def f32(b64: str, shape) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), "<f4").reshape(shape)


@pytest.fixture(scope="module")
def mod_dir(tmp_path_factory) -> Path:
    return tiny_modular(tmp_path_factory.mktemp("results") / "tiny_mod")


def test_modular_page_from_a_real_sweep(mod_dir):
    df = load_results(mod_dir)
    rid = str(df["run_id"].iloc[0])
    steps = saved_steps(mod_dir, rid)
    assert len(steps) >= 2
    path = write_explorer(mod_dir, rid)
    assert path == mod_dir / "explore" / f"{rid}.html"
    html = path.read_text()
    # self-contained: no external script, stylesheet or image
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", html, re.I)
    assert "vegaEmbed" in html and 'href="../index.html"' in html
    d = payload(html)
    assert d["run_id"] == rid and d["task"] == "modular"
    assert d["steps"] == steps
    m = d["mod"]
    assert [s["step"] for s in m["snaps"]] == steps  # one snapshot per saved step
    p, h = 11, 8
    assert (m["p"], m["H"], m["K"], m["dft"], m["two"]) == (p, h, 5, True, False)
    # the page's weights are the collapsed view of the saved parameters
    static = run_static(df.iloc[0])
    for j in (0, len(steps) - 1):
        snap = modular_snapshot(load_params(mod_dir, rid, steps[j]), static)
        np.testing.assert_allclose(f32(m["snaps"][j]["wa"], (p, h)), snap["wa"], rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(f32(m["snaps"][j]["wo"], (p, h)), snap["wo"], rtol=1e-5,
                                   atol=1e-6)
        assert sorted(m["snaps"][j]["order"]) == list(range(h))
    # curves and progress measures of the row
    c = d["curves"]
    assert len(c["step"]) == 180 // 20 + 1
    for key in ("train_loss", "test_acc", "fourier_gini_in", "n_key_freqs_norm"):
        assert len(c[key]) == len(c["step"])
    assert set(d["specs"]) >= {"curves", "progress", "w", "c", "star", "fnorm", "logits"}
    assert path.stat().st_size < 3_000_000


def test_write_report_writes_explorers_for_small_sweeps(mod_dir):
    write_report(mod_dir, png=False)
    ids = sorted(load_results(mod_dir)["run_id"].astype(str))
    assert explorer_ids(mod_dir) == ids
    index = (mod_dir / "index.html").read_text()
    m = re.search(r'<script type="application/json" id="gj-data">(.*?)</script>', index, re.S)
    assert sorted(json.loads(m.group(1))["explore"]) == ids
    assert "Double-click a dot" in index
    # explicitly off: no new pages, the existing ones are still linked
    for f in (mod_dir / "explore").glob("*.html"):
        f.unlink()
    write_report(mod_dir, png=False, explorers=False)
    assert explorer_ids(mod_dir) == []
    assert write_explorers(mod_dir) and explorer_ids(mod_dir) == ids


def test_errors_name_the_problem(mod_dir, tmp_path):
    with pytest.raises(ResultsError, match=r"no run 'nope'.*run ids: "):
        write_explorer(mod_dir, "nope")
    # a run without saved parameters: says how to get them
    df = load_results(mod_dir)
    rid = str(df["run_id"].iloc[1])
    src = mod_dir / "params" / f"{rid}.npz"
    moved = tmp_path / "moved.npz"
    src.rename(moved)
    try:
        with pytest.raises(ResultsError, match=r"(?s)no saved parameters.*\[checkpoints\].*"
                                               r"snapshots = 10"):
            write_explorer(mod_dir, rid)
        assert rid not in write_explorers(mod_dir) and len(write_explorers(mod_dir)) == 1
    finally:
        moved.rename(src)
    with pytest.raises(ResultsError, match="no results here"):
        write_explorer(tmp_path / "empty", "x")


# ---------------------------------------------------------------------------------------------
# A hand-built model: every weight in one frequency
# ---------------------------------------------------------------------------------------------


def _fake_results(d: Path, cfg: dict, run_id: str, extra: dict | None = None) -> None:
    steps = np.arange(0, cfg["steps"] + 1, cfg["log_every"])
    ones = np.linspace(1, 0.01, len(steps)).astype(np.float32)
    row = {"sweep": d.name, "run_id": run_id, **cfg, "step": steps,
           "train_loss": ones, "test_loss": ones * 2, "train_acc": 1 - ones,
           "test_acc": 1 - ones, "l2_norm": ones * 10, "l1_norm": ones * 100,
           "phase": "generalize", **(extra or {})}
    write_part(d, pd.DataFrame([row]))
    write_manifest(d, {"sweep": d.name, "n_runs": 1, "task": cfg["task"]})


def test_single_frequency_model_puts_all_its_weight_in_that_frequency(tmp_path):
    from grokjax.models.constructed import constructed_params

    p, k, n = 23, 5, 7
    cfg = resolve("modular", {"p": p, "fixed_embed": [k], "hidden": n, "steps": 100,
                              "log_every": 50})
    d = tmp_path / "hand"
    _fake_results(d, cfg, "hand5", {"key_freqs": [k]})
    params = {name: np.asarray(w) for name, w in constructed_params(n).items()}
    save_params(d, "hand5", {0: {kk: v * 0.5 for kk, v in params.items()}, 100: params})
    html = write_explorer(d, "hand5").read_text()
    m = payload(html)["mod"]
    assert m["key"] == [k] and len(m["snaps"]) == 2
    rows = [2 * k - 1, 2 * k]  # cos k, sin k rows of the DFT basis
    for s in m["snaps"]:
        for name in ("ca", "co"):
            coef = f32(s[name], (p, n)).astype(np.float64)
            share = (coef[rows] ** 2).sum() / (coef ** 2).sum()
            assert share > 1 - 1e-6, (name, share)
        assert s["freq"] == [k] * n
        assert int(np.argmax(s["norm_in"])) == k and int(np.argmax(s["norm_out"])) == k
        # grouped by frequency and sorted by angle: the constructed neurons are evenly spaced
        ang = np.asarray(s["angle"])[s["order"]]
        assert np.all(np.diff(ang) > 0)


# ---------------------------------------------------------------------------------------------
# Parity: per-bit norms
# ---------------------------------------------------------------------------------------------


def test_parity_page_from_saved_parameters(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from test_report import make_results

    d = make_results(tmp_path, grid={"weight_decay": [0.1, 1.0]}, seeds=2, points=21)
    df = load_results(d)
    rid, rid1 = str(df["run_id"].iloc[0]), str(df["run_id"].iloc[1])
    with pytest.raises(ResultsError, match="no saved parameters"):
        write_explorer(d, rid)
    rng = np.random.default_rng(0)
    n, k, h = 30, 3, 64
    snaps = {}
    for j, step in enumerate((0, 1000, 2000)):
        w_in = rng.normal(size=(n + 1, h)).astype(np.float32)
        w_in[k:n] *= 1 - j / 2  # distracting bits pruned by the last snapshot
        snaps[step] = {"W_in": w_in, "w_out": rng.normal(size=h).astype(np.float32)}
    save_params(d, rid, snaps)
    save_params(d, rid1, {2000: snaps[2000]})  # final parameters only
    assert write_explorers(d) == [d / "explore" / f"{rid}.html"]  # >= 2 snapshots by default
    pd_ = payload((d / "explore" / f"{rid}.html").read_text())["par"]
    assert (pd_["n"], pd_["k"], pd_["H"]) == (n, k, h)
    bits = np.asarray([s["bits"] for s in pd_["snaps"]])
    assert bits.shape == (3, n)
    np.testing.assert_allclose(bits[-1, k:], 0, atol=1e-6)
    assert (bits[-1, :k] > 1).all()
    np.testing.assert_allclose(f32(pd_["snaps"][1]["win"], (n + 1, h)), snaps[1000]["W_in"])
    # one snapshot: a page whose slider has a single position
    one = payload(write_explorer(d, rid1).read_text())
    assert one["steps"] == [2000] and len(one["par"]["snaps"]) == 1
    assert 'max="0"' in (d / "explore" / f"{rid1}.html").read_text()


TINY_TX = {
    "sweep": {"name": "tiny_tx", "seeds": 1},
    "fixed": {"task": "modular", "model": "transformer", "p": 11, "d_model": 8, "n_heads": 2,
              "d_head": 4, "d_mlp": 16, "steps": 60, "log_every": 20, "train_frac": 0.6},
}


def tiny_transformer(out: Path) -> Path:
    """Train the 1-run transformer sweep TINY_TX into ``out`` (no report)."""
    from grokjax.engine import run_sweep
    from grokjax.options import EngineOptions

    spec = parse_spec(TINY_TX, source="t.toml")
    run_sweep(spec, out, options=EngineOptions(workers=1), quiet=True, report=False)
    return Path(out)


def test_transformer_page_has_tables_attention_and_neurons(tmp_path):
    """The transformer's page: W_E / W_U tables and their DFT (token_tables view), no logit
    waves (the tables are not the whole model), the attention of every pair and the neurons'
    2D-Fourier frequencies -- each equal to grokjax.analysis on the saved parameters."""
    import jax.numpy as jnp

    from grokjax.analysis import attention_grid, neuron_frequencies_2d, neuron_grid
    from grokjax.report.runs import panels_for

    d = tiny_transformer(tmp_path / "tiny_tx")
    row = load_results(d).iloc[0]
    rid = str(row["run_id"])
    static = run_static(row)
    assert panels_for(static) == ("collapsed", "fourier", "attention", "neurons")
    data = payload(write_explorer(d, rid).read_text())
    assert data["mod"]["waves"] is False and "logits" not in data["specs"]
    assert {"att", "nfreq", "w", "c", "fnorm", "star"} <= set(data["specs"])
    params = {k: jnp.asarray(v) for k, v in load_params(d, rid).items()}
    pr = data["pairs"]
    assert (pr["p"], pr["heads"], pr["M"]) == (11, 2, 16)
    att = f32(pr["snaps"][-1]["att"], (11, 22))
    want = attention_grid(params, static)[..., 0]  # heads x a x b
    np.testing.assert_allclose(att, want.transpose(1, 0, 2).reshape(11, 22), rtol=1e-5,
                               atol=1e-6)
    freq, _ = neuron_frequencies_2d(neuron_grid(params, static))
    assert pr["snaps"][-1]["nfreq"] == freq.tolist()
    np.testing.assert_allclose(f32(data["mod"]["snaps"][-1]["wa"], (11, 8)),
                               np.asarray(params["W_E"])[:11], rtol=1e-6)
