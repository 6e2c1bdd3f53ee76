"""The sweep page: axis choice, [report] validation, a self-contained index.html, PNGs.

``make_results`` builds a synthetic results folder (runs/part-0.parquet + manifest.json) shaped
like the engine's output: by default the explorable's parity grid, 5 weight decays x 5 hidden
sizes x 5 train sizes x 9 seeds = 1,125 runs with 201-point curves and plausible phases, stored
phases from ``grokjax.phases``.  The browser test imports it from here.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grokjax.errors import SpecError
from grokjax.report import check_report_options, choose_axes, render_html, write_report
from grokjax.report.page import build, resolve_options

PARITY_GRID = {
    "weight_decay": [0.01, 0.03, 0.1, 0.3, 1.0],
    "hidden": [16, 32, 64, 128, 258],
    "train_size": [750, 1000, 1250, 1500, 1750],
}


# ---------------------------------------------------------------------------------------------
# A synthetic results folder
# ---------------------------------------------------------------------------------------------


def _curves(phase: str, rng: np.random.Generator, step: np.ndarray) -> dict[str, np.ndarray]:
    """Plausible loss/accuracy curves for an intended phase."""
    t_fit = rng.uniform(300, 2500)
    s = step.astype(float)
    fit = np.exp(-s / (t_fit / 12))  # 1 -> 0 around t_fit
    noise = lambda: np.exp(rng.normal(0, 0.05, len(s)))  # noqa: E731
    if phase == "fail":
        level = rng.uniform(0.05, 0.6)
        train = (level + (0.69 - level) * np.exp(-s / 3000)) * noise()
        test = train * rng.uniform(1.0, 1.5)
        train_acc = 0.5 + 0.3 * (1 - np.exp(-s / 4000)) * (0.69 - level)
        test_acc = 0.5 + 0.05 * rng.random(len(s))
    else:
        train = np.maximum(0.69 * fit, 10 ** rng.uniform(-11, -8)) * noise()
        train_acc = 0.5 + 0.5 * (1 - fit)
        if phase == "memorize":
            test = (0.69 + rng.uniform(0.2, 2.5) * (1 - fit)) * noise()
            test_acc = 0.5 + 0.04 * rng.random(len(s))
        elif phase == "grok":
            t_grok = rng.uniform(4000, 17000)
            drop = 1 / (1 + np.exp(-(s - t_grok) / 250))
            test = np.exp((1 - drop) * np.log(0.69 + (1 - fit)) + drop * np.log(1e-8)) * noise()
            test_acc = 0.5 + 0.5 * drop
        else:  # generalize: test follows train closely
            test = np.maximum(train * rng.uniform(2, 50), 10 ** rng.uniform(-9, -7))
            test_acc = 0.5 + 0.5 * (1 - np.exp(-s / (t_fit / 10)))
    return {"train_loss": train, "test_loss": test, "train_acc": np.clip(train_acc, 0, 1),
            "test_acc": np.clip(test_acc, 0, 1)}


def _intended(cfg: dict, rng: np.random.Generator) -> str:
    wd = cfg.get("weight_decay", 0.1)
    hidden = cfg.get("hidden", 64)
    size = cfg.get("train_size", 1000)
    score = np.log10(wd) + 0.35 * np.log2(64 / hidden) + rng.normal(0, 0.35)
    if score > -0.1:
        return "fail"
    if score > -0.55 or (size >= 1500 and score > -1.2):
        return "generalize"
    if score > -1.5 + (size - 1000) / 2000:
        return "grok"
    return "memorize"


def make_frame(grid: dict | None = None, seeds: int = 9, points: int = 201, *,
               rule=None, diverge: int = 3, name: str = "parity_test"
               ) -> tuple[pd.DataFrame, dict]:
    """A results DataFrame like the engine's, and its manifest."""
    from grokjax import phases

    grid = dict(PARITY_GRID if grid is None else grid)
    full = {**grid, "seed": list(range(seeds))}
    varying = [k for k, v in grid.items() if len(v) > 1]
    rng = np.random.default_rng(0)
    step = np.arange(points, dtype=np.int64) * 100
    fixed = {"task": "parity", "steps": int(step[-1]), "log_every": 100, "dtype": "float32",
             "optimizer": "adamw", "reg": "l2", "lr": 3e-3, "weight_decay": 0.1, "beta1": 0.99,
             "beta2": 0.98, "eps": 1e-8, "hidden": 64, "activation": "relu", "init_scale": 1.0,
             "data_seed": 0, "n": 30, "k": 3, "train_size": 1000, "test_size": 5000}
    rows = []
    combos = list(itertools.product(*full.values()))
    div_idx = set(rng.choice(len(combos), size=min(diverge, len(combos)), replace=False))
    for j, combo in enumerate(combos):
        cfg = {**fixed, **dict(zip(full, combo, strict=True))}
        phase = _intended(cfg, rng)
        c = _curves(phase, rng, step)
        diverged, nan_step = False, None
        if j in div_idx:
            at = int(rng.integers(points // 4, points - 2))
            for v in c.values():
                v[at:] = np.nan
            diverged, nan_step = True, int(step[at])
        rid = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]
        last = lambda a: a[np.isfinite(a)][-1]  # noqa: E731
        reach = lambda a, t: (int(step[np.argmax(a >= t)])  # noqa: E731
                              if (np.nan_to_num(a, nan=-1) >= t).any() else None)
        rows.append({
            "sweep": name, "run_id": rid, "spec_hash": "0123456789abcdef", "group": "g0",
            **cfg, "step": step,
            **{k: v.astype(np.float32) for k, v in c.items()},
            "l2_norm": np.linspace(30, 20, points).astype(np.float32),
            "l1_norm": np.linspace(300, 200, points).astype(np.float32),
            "final_train_loss": float(last(c["train_loss"])),
            "final_test_loss": float(last(c["test_loss"])),
            "final_train_acc": float(last(c["train_acc"])),
            "final_test_acc": float(last(c["test_acc"])),
            "train_acc_step_90": reach(c["train_acc"], 0.9),
            "test_acc_step_90": reach(c["test_acc"], 0.9),
            "diverged": diverged, "nan_step": nan_step,
            "grokjax_version": "0.1.0", "git_commit": "deadbeefcafe", "jax_version": "0.4.35",
            "backend": "cpu", "device_kind": "cpu", "wall_time_s": 0.5,
            "created_at": "2025-01-01T00:00:00+00:00",
        })
    df = pd.DataFrame(rows)
    for col in ("train_acc_step_90", "test_acc_step_90", "nan_step"):
        df[col] = df[col].astype("Int64")
    rule = rule or phases.LossRule()
    df = phases.classify_frame(df, rule)
    manifest = {
        "sweep": name, "source": f"sweeps/{name}.toml",
        "description": "Synthetic parity grid: weight decay x hidden size x train size.",
        "spec": {"sweep": {"description": "Synthetic parity grid: weight decay x hidden size x "
                                          "train size.", "seeds": seeds},
                 "fixed": {"task": "parity"}, "grid": grid, "phases": {}, "report": {}},
        "spec_hash": "0123456789abcdef", "n_runs": len(df), "task": "parity",
        "grid": full, "varying": varying,
        "phase_rule": rule.name, "phase_params": rule.params(),
    }
    return df, manifest


def make_results(tmp: Path, **kw) -> Path:
    """Write make_frame's results as results/NAME/{manifest.json, runs/part-0.parquet}."""
    df, manifest = make_frame(**kw)
    d = Path(tmp) / manifest["sweep"]
    (d / "runs").mkdir(parents=True)
    df.to_parquet(d / "runs" / "part-0.parquet")
    (d / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return d


def payload(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="gj-data">(.*?)</script>', html, re.S)
    assert m, "no data script in the page"
    return json.loads(m.group(1))


def runs_of(html: str) -> list[dict]:
    main = payload(html)["specs"]["main"]
    return next(d for d in main["data"] if d["name"] == "runs")["values"]


@pytest.fixture(scope="module")
def parity_dir(tmp_path_factory) -> Path:
    d = make_results(tmp_path_factory.mktemp("results"))
    write_report(d)
    return d


# ---------------------------------------------------------------------------------------------
# Axes
# ---------------------------------------------------------------------------------------------


def test_choose_axes_by_number_of_values():
    grid = {"a": [1, 2], "b": [1, 2, 3, 4], "c": [1, 2, 3], "d": [1, 2, 3], "seed": [0, 1]}
    assert choose_axes([], grid, {}) == {"x": None, "y": None, "facet": None, "inner": []}
    assert choose_axes(["a"], grid, {}) == {"x": "a", "y": None, "facet": None, "inner": []}
    assert choose_axes(["a", "b"], grid, {}) == {"x": "b", "y": "a", "facet": None, "inner": []}
    # most values on x; ties keep file order (c before d)
    assert choose_axes(["a", "c", "b"], grid, {}) == {"x": "b", "y": "c", "facet": "a",
                                                      "inner": []}
    assert choose_axes(["a", "b", "c", "d"], grid, None) == {
        "x": "b", "y": "c", "facet": "d", "inner": ["a"]}


def test_choose_axes_overrides_fill_the_rest():
    grid = {"a": [1, 2], "b": [1, 2, 3, 4], "c": [1, 2, 3], "seed": [0]}
    assert choose_axes(["a", "b", "c"], grid, {"x": "a"}) == {
        "x": "a", "y": "b", "facet": "c", "inner": []}
    assert choose_axes(["a", "b", "c"], grid, {"facet": "b", "y": "seed"}) == {
        "x": "c", "y": "seed", "facet": "b", "inner": ["a"]}


def _spec(**grid):
    return types.SimpleNamespace(source="sweeps/t.toml", grid={**grid, "seed": [0, 1]})


def test_check_report_options_accepts_good_tables():
    spec = _spec(weight_decay=[0.1, 1.0], hidden=[16, 32])
    check_report_options(spec, {})
    check_report_options(spec, {"x": "hidden", "y": "weight_decay", "facet": "seed",
                                "curves_per_phase": 2, "curve_points": 50})


@pytest.mark.parametrize("table, key, words", [
    ({"x": "hiden"}, "[report] x", ["'hiden'", "allowed: weight_decay, hidden, seed"]),
    ({"facet": 3}, "[report] facet", ["allowed: weight_decay, hidden, seed"]),
    ({"x": "hidden", "y": "hidden"}, "[report] y", ["already drawn as x"]),
    ({"colour": "red"}, "[report] colour", ["unknown key", "allowed: x, y, facet"]),
    ({"curves_per_phase": 0}, "[report] curves_per_phase", ["integer from 1 to 20"]),
    ({"curve_points": True}, "[report] curve_points", ["integer from 10 to 2000"]),
])
def test_check_report_options_errors(table, key, words):
    with pytest.raises(SpecError) as e:
        check_report_options(_spec(weight_decay=[0.1, 1.0], hidden=[16, 32]), table)
    assert e.value.source == "sweeps/t.toml"
    assert e.value.key == key
    for w in words:
        assert w in e.value.message


def test_sweep_file_report_table_is_checked():
    from grokjax.spec import parse_spec

    data = {"sweep": {"seeds": 2}, "fixed": {"task": "parity", "steps": 100},
            "grid": {"weight_decay": [0.1, 1.0]}, "report": {"y": "lr"}}
    with pytest.raises(SpecError) as e:
        parse_spec(data, source="sweeps/bad.toml")
    assert e.value.key == "[report] y"
    assert "allowed: weight_decay, seed" in e.value.message


def test_write_report_rejects_unknown_axis(tmp_path):
    d = make_results(tmp_path, grid={"weight_decay": [0.1, 1.0], "hidden": [16, 64]}, seeds=2,
                     points=11)
    with pytest.raises(SpecError) as e:
        write_report(d, x="lr", png=False)
    assert (e.value.source, e.value.key) == ("command line", "--x")
    assert "'lr' is not an axis of this sweep; allowed: weight_decay, hidden, seed" in str(e.value)
    with pytest.raises(SpecError, match="already drawn as x"):
        write_report(d, x="hidden", y="hidden", png=False)
    assert not (d / "index.html").exists()


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


def test_page_is_self_contained_and_has_one_dot_per_run(parity_dir):
    html = (parity_dir / "index.html").read_text()
    # nothing loaded from elsewhere: no src/href to a URL, no fetch of data
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)\s*=\s*["']?(https?:)?//""",
                         html, re.I)
    assert "<link" not in html
    assert "window.vegaEmbed=" in html  # the inline Vega bundle
    assert len(html) > 500_000
    runs = runs_of(html)
    assert len(runs) == 1125
    assert len({r["run_id"] for r in runs}) == 1125
    # every run sits in its own slot: (panel, column, row, sub-column, sub-row) are unique
    assert len({(r["cf"], r["cx"], r["cy"], r["jx"], r["jy"]) for r in runs}) == 1125
    p = payload(html)
    assert p["axes"] == {"x": "weight_decay", "y": "hidden", "facet": "train_size"}
    assert p["layout"]["g"] == 3 and p["layout"]["h"] == 3
    assert p["rule"]["name"] == "loss"
    assert p["rule"]["params"]["ratio"] == 5e4
    assert {r["phase"] for r in runs} >= {"memorize", "grok", "generalize", "fail", "diverged"}
    # the page's data agree with the stored rows
    df = pd.read_parquet(parity_dir / "runs")
    stored = dict(zip(df["run_id"], df["phase"], strict=True))
    assert all(stored[r["run_id"]] == r["phase"] for r in runs)
    assert "parity_test" in html and "Synthetic parity grid" in html
    size = (parity_dir / "index.html").stat().st_size
    assert size < 4_000_000, f"index.html is {size / 1e6:.1f} MB"


def test_pngs_written(parity_dir):
    for name in ("phase_diagram.png", "curves.png"):
        data = (parity_dir / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 20_000


def test_curves_payload_round_trips(parity_dir):
    """The int16 curves in the page decode to the stored curves (every other point)."""
    import base64

    html = (parity_dir / "index.html").read_text()
    c = payload(html)["curves"]
    df = pd.read_parquet(parity_dir / "runs")
    assert c["width"] == 101 and c["steps"][0][:3] == [0, 200, 400]
    q = np.frombuffer(base64.b64decode(c["train_loss"]), dtype="<i2").reshape(len(df), -1)
    a = np.frombuffer(base64.b64decode(c["test_acc"]), dtype="<i2").reshape(len(df), -1)
    i = int(np.flatnonzero(~df["diverged"].to_numpy())[0])
    loss = np.asarray(df["train_loss"][i], float)[::2]
    np.testing.assert_allclose(10 ** (q[i] / c["loss_q"]), np.maximum(loss, 1e-30), rtol=3e-3)
    np.testing.assert_allclose(a[i] / c["acc_q"], np.asarray(df["test_acc"][i])[::2], atol=1e-4)
    j = int(np.flatnonzero(df["diverged"].to_numpy())[0])
    assert (q[j] == c["missing"]).any()


@pytest.mark.parametrize("grid, axes, g", [
    ({"weight_decay": [0.1]}, {"x": None, "y": None, "facet": None}, 3),
    ({"weight_decay": [0.01, 0.1, 1.0]}, {"x": "weight_decay", "y": None, "facet": None}, 3),
    ({"weight_decay": [0.01, 0.1, 1.0], "hidden": [16, 64]},
     {"x": "weight_decay", "y": "hidden", "facet": None}, 3),
    ({"weight_decay": [0.01, 0.1, 1.0], "hidden": [16, 64], "train_size": [750, 1500],
      "lr": [1e-3, 3e-3]}, {"x": "weight_decay", "y": "hidden", "facet": "train_size"}, 5),
])
def test_small_sweeps_give_sensible_pages(grid, axes, g):
    df, manifest = make_frame(grid, seeds=9, points=21, diverge=0)
    html = render_html(df, manifest)
    p = payload(html)
    assert p["axes"] == axes
    assert p["layout"]["g"] == g  # 9 seeds: 3x3; with lr inside the cells, 18 runs: 5x4
    runs = runs_of(html)
    assert len(runs) == len(df)
    assert len({(r["cf"], r["cx"], r["cy"], r["jx"], r["jy"]) for r in runs}) == len(df)


def test_override_axes_and_stored_report_table():
    df, manifest = make_frame({"weight_decay": [0.01, 0.1], "hidden": [16, 64, 128]}, seeds=2,
                              points=11, diverge=0)
    p = payload(render_html(df, manifest, x="seed", y="weight_decay"))
    assert p["axes"] == {"x": "seed", "y": "weight_decay", "facet": "hidden"}
    manifest["spec"]["report"] = {"x": "weight_decay", "curves_per_phase": 1}
    opts = resolve_options(df, manifest, {})
    assert opts["x"] == "weight_decay" and opts["curves_per_phase"] == 1
    assert payload(render_html(df, manifest))["axes"]["x"] == "weight_decay"
    # an explicit override moves the stored axis out of its role
    assert payload(render_html(df, manifest, y="weight_decay"))["axes"] == {
        "x": "hidden", "y": "weight_decay", "facet": None}


def test_accuracy_rule_payload():
    from grokjax import phases

    df, manifest = make_frame({"weight_decay": [0.01, 0.1, 1.0]}, seeds=4, points=41,
                              rule=phases.AccuracyRule(threshold=0.95, delay=500), diverge=1)
    b = build(df, manifest, resolve_options(df, manifest, {}))
    p = b["payload"]
    assert p["rule"] == {"name": "accuracy", "params": {"threshold": 0.95, "delay": 500}}
    k = p["acc"]["grid"].index(0.95)
    # the page's rule (as page.js applies it) reproduces the stored phases
    for r in b["rows"]:
        tr, te = p["acc"]["train"][k][r["i"]], p["acc"]["test"][k][r["i"]]
        js = ("diverged" if r["diverged"] else "fail" if tr is None else "memorize"
              if te is None else "generalize" if te - tr < 500 else "grok")
        assert js == r["stored"], r


def test_loss_rule_as_the_page_applies_it_matches_grokjax_phases(parity_dir):
    """page.js's loss rule, transcribed, on the page's numbers = the stored phases."""
    html = (parity_dir / "index.html").read_text()
    p = payload(html)
    t = p["rule"]["params"]
    f32 = (lambda v: float(np.float32(v))) if p["f32"] else (lambda v: v)
    nan = float("nan")
    for r in runs_of(html):
        mt = nan if r["min_train_loss"] is None else r["min_train_loss"]
        me = nan if r["min_test_loss"] is None else r["min_test_loss"]
        ra = nan if r["max_loss_ratio"] is None else r["max_loss_ratio"]
        js = ("diverged" if r["diverged"] else "fail" if not mt <= f32(t["min_train"])
              else "memorize" if not me <= f32(t["min_test"]) else "generalize"
              if ra < t["ratio"] else "grok")
        assert js == r["stored"], r


def test_results_without_curves_still_render():
    df, manifest = make_frame({"weight_decay": [0.01, 1.0]}, seeds=3, points=11, diverge=0)
    df = df.drop(columns=["step", "train_loss", "test_loss", "train_acc", "test_acc"])
    html = render_html(df, manifest)
    p = payload(html)
    assert p["curves"] is None
    assert len(runs_of(html)) == 6
    assert "These results hold no curves" in html


def test_axis_labels_and_order():
    from grokjax.report.axes import fmt_value, is_log_spaced, labels_for, order_values

    assert [fmt_value(v) for v in (0.01, 1e-5, 1750, 1.0, 2.5e6, True, [1, 2], "relu")] == [
        "0.01", "1e-5", "1750", "1", "2.5e6", "true", "[1, 2]", "relu"]
    assert order_values([1.0, 0.1, 0.01]) == [0.01, 0.1, 1.0]
    assert order_values(["tied", "untied"]) == ["tied", "untied"]
    assert is_log_spaced([0.01, 0.03, 0.1, 0.3, 1.0])
    assert not is_log_spaced([750, 1000, 1250, 1500, 1750])
    # labels stay unique when short labels would collide
    assert len(set(labels_for([0.1000001, 0.1000002]).values())) == 2
