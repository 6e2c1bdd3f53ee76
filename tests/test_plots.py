"""grokjax.report.plots: the long-form curve table, the chart, the PNG and the `plot` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from grokjax.report.plots import curve_columns, curves_chart, curves_frame, save_chart
from grokjax.store import ResultsError

ROOT = Path(__file__).resolve().parent.parent


def _runs() -> pd.DataFrame:
    return pd.DataFrame({
        "run_id": ["a", "b"], "reg": ["l1", "l2"], "seed": [0, 1],
        "step": [[0, 100, 200], [0, 100, 200]],
        "test_acc": [[0.5, 0.75, 1.0], [0.5, 0.6, 0.7]],
        "train_loss": [[1.0, 1e-3, 0.0], [1.0, 0.5, 0.25]],
        "key_freqs": [[1, 2], [3]],  # a list column that is not a curve (other length)
    })


def test_curve_columns_only_lists_curves_as_long_as_step():
    assert curve_columns(_runs()) == ["test_acc", "train_loss"]
    assert curve_columns(pd.DataFrame({"x": [1]})) == []


def test_curves_frame_exact():
    long = curves_frame(_runs(), ["test_acc", "train_loss"], keep=["reg"])
    assert len(long) == 2 * 2 * 3
    a = long[(long.run_id == "a") & (long.metric == "test_acc")]
    assert a["step"].tolist() == [0, 100, 200] and a["value"].tolist() == [0.5, 0.75, 1.0]
    assert set(long["reg"]) == {"l1", "l2"}
    b = long[(long.run_id == "b") & (long.metric == "train_loss")]
    assert b["value"].tolist() == [1.0, 0.5, 0.25]


@pytest.mark.parametrize("metrics,keep,words", [
    (["nope"], [], "no curve 'nope'"), (["key_freqs"], [], "no curve 'key_freqs'"),
    (["test_acc"], ["colour"], "no column 'colour'")])
def test_curves_frame_errors_name_the_choices(metrics, keep, words):
    with pytest.raises(ResultsError, match=words) as e:
        curves_frame(_runs(), metrics, keep)
    if "curve" in words:
        assert "test_acc, train_loss" in str(e.value)


def test_chart_floors_losses_on_log_panels_breaks_at_nan_and_thins_points():
    runs = _runs()
    runs.at[1, "train_loss"] = [1.0, float("nan"), 1e-30]
    chart = curves_chart(runs, ["test_acc", "train_loss"], color="reg", floor=1e-7)
    spec = chart.to_dict()
    acc, loss = spec["hconcat"]
    datasets = spec["datasets"]
    assert len(datasets[acc["data"]["name"]]) == 6
    by_run = {}
    for r in datasets[loss["data"]["name"]]:
        by_run.setdefault(r["run_id"], []).append(r["value"])
    # 0 and 1e-30 sit on the floor (a log axis cannot draw them; the phase rule compares them
    # there); NaN stays missing, so the line breaks instead of joining its neighbours
    assert by_run["a"] == [1.0, 1e-3, 1e-7]
    assert by_run["b"][0] == 1.0 and by_run["b"][1] is None and by_run["b"][2] == 1e-7
    assert loss["mark"]["invalid"] == "break-paths-show-domains"
    assert loss["encoding"]["y"]["scale"]["type"] == "log"
    assert "floored at 1e-07" in loss["encoding"]["y"]["title"]
    assert acc["encoding"]["color"]["field"] == "reg"
    thin = curves_chart(_runs(), ["test_acc"], max_points=2).to_dict()
    assert len(thin["datasets"][thin["data"]["name"]]) == 4  # 2 steps x 2 runs
    with pytest.raises(ResultsError, match="empty"):
        curves_chart(_runs().iloc[:0])


def test_save_chart_png_and_bad_suffix(tmp_path):
    png = save_chart(curves_chart(_runs(), ["test_acc"], facet="reg"), tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]  # no temp file left behind
    with pytest.raises(ResultsError, match=r"allowed: \.png"):
        save_chart(curves_chart(_runs(), ["test_acc"]), tmp_path / "c.gif")


def _plot(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grokjax", "plot", *args], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=120)


def test_plot_command(tmp_path):
    from grokjax import EngineOptions, run_sweep
    from grokjax.spec import parse_spec

    spec = parse_spec({"fixed": {"task": "parity", "n": 6, "k": 2, "hidden": 8, "steps": 200,
                                 "log_every": 100, "train_size": 64, "test_size": 64},
                       "grid": {"weight_decay": [0.1, 1.0]}}, source="tiny")
    run_sweep(spec, tmp_path / "res", options=EngineOptions(workers=1), quiet=True, report=False)
    out = _plot(str(tmp_path / "res"), "--metric", "test_loss", "--color", "weight_decay",
                "--where", "weight_decay > 0.5", "--out", str(tmp_path / "p.svg"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "p.svg").read_text().lstrip().startswith("<svg")
    for args, words in [(["--metric", "nope"], "no curve 'nope'"),
                        (["--color", "colour"], "no column 'colour'"),
                        (["--where", "weight_decay >"], "--where"),
                        (["--where", "weight_decay > 5"], "empty")]:
        bad = _plot(str(tmp_path / "res"), *args, "--out", str(tmp_path / "q.png"), cwd=tmp_path)
        assert bad.returncode == 2 and words in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "q.png").exists()
