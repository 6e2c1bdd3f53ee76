"""The sweep end to end: Parquet rows pandas can read, determinism, resume, refusals, lock."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from grokjax import EngineOptions, group_runs, locks, run_sweep, store
from grokjax.spec import parse_spec
from grokjax.store import ResultsError, load_results

ROOT = Path(__file__).resolve().parent.parent

TINY = {
    "sweep": {"name": "tiny", "seeds": 2, "data_seeds": "per_seed"},
    "fixed": {"task": "parity", "n": 8, "k": 2, "hidden": 8, "test_size": 64, "steps": 200,
              "log_every": 50},
    "grid": {"weight_decay": [0.0, 1.0], "train_size": [32, 48]},
}


ONE = EngineOptions(workers=1)  # in-process; the worker path is tested in test_faults.py


def tiny(**over):
    data = json.loads(json.dumps(TINY))
    for sec, kv in over.items():
        data.setdefault(sec, {}).update(kv)
    return parse_spec(data, source="tiny.toml")


def _sorted(df):
    return df.sort_values("run_id").reset_index(drop=True)


CONTENT = ["run_id", "weight_decay", "train_size", "seed", "phase", "final_test_acc",
           "min_train_loss", "train_loss", "test_acc", "l2_norm"]


def assert_same_rows(a, b):
    a, b = _sorted(a), _sorted(b)
    assert list(a["run_id"]) == list(b["run_id"])
    for col in CONTENT:
        for x, y in zip(a[col], b[col], strict=True):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=col)


@pytest.fixture(scope="module")
def first_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "tiny"
    opts = EngineOptions(chunk_size=3, flush_rows=3, workers=1, merge_parts=False)
    rep = run_sweep(tiny(), out, options=opts, quiet=True, report=False)
    return out, rep


def test_rows_readable_by_plain_pandas(first_sweep):
    out, rep = first_sweep
    assert rep.n_runs == rep.n_trained == 8 and rep.n_groups == 2  # bucketed by train size
    assert rep.n_programs >= 3
    df = pd.read_parquet(out / "runs")
    assert len(df) == 8 and df["run_id"].is_unique
    assert len(list((out / "runs").glob("part-*.parquet"))) >= 2  # flushed in parts
    row = df.iloc[0]
    assert len(row["train_loss"]) == 200 // 50 + 1 and list(row["step"]) == [0, 50, 100, 150,
                                                                              200]
    schema = pq.read_schema(next((out / "runs").glob("part-*.parquet")))
    assert str(schema.field("train_loss").type) == "list<element: float>"
    assert str(df["test_acc_step_90"].dtype) == "Int64"
    assert df["p"].isna().all() and df["task"].eq("parity").all()
    for col in ("phase", "phase_rule", "max_loss_ratio", "diverged", "nan_step", "git_commit",
                "jax_version", "backend", "created_at", "wall_time_s", "spec_hash", "group"):
        assert col in df, col
    loaded = load_results(out)
    assert_same_rows(loaded, df)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec_hash"] == tiny().spec_hash() and manifest["n_runs"] == 8
    assert manifest["last_run"]["n_trained"] == 8


def test_same_sweep_twice_gives_identical_rows(first_sweep, tmp_path):
    out, _ = first_sweep
    rep = run_sweep(tiny(), tmp_path / "again", options=EngineOptions(chunk_size=3, workers=2),
                    quiet=True, report=False)
    assert rep.n_trained == 8 and rep.workers == 2  # pinned worker processes: same rows
    assert_same_rows(load_results(out), load_results(tmp_path / "again"))


def test_rerun_trains_nothing_and_resume_fills_gaps(first_sweep, tmp_path):
    out, _ = first_sweep
    copy = tmp_path / "tiny"
    (copy / "runs").mkdir(parents=True)
    (copy / "manifest.json").write_bytes((out / "manifest.json").read_bytes())
    parts = sorted((out / "runs").glob("part-*.parquet"))
    for part in parts[:-1]:  # lose the last part, as if the sweep had been killed before it
        (copy / "runs" / part.name).write_bytes(part.read_bytes())
    have = len(load_results(copy))
    assert 0 < have < 8
    rep = run_sweep(tiny(), copy, options=EngineOptions(chunk_size=3, workers=1), quiet=True,
                    report=False)
    assert rep.n_done_before == have and rep.n_trained == 8 - have
    assert_same_rows(load_results(copy), load_results(out))
    rep = run_sweep(tiny(), copy, options=ONE, quiet=True, report=False)
    assert rep.n_trained == 0 and len(load_results(copy)) == 8


def test_changed_spec_is_refused_unless_restart(first_sweep, tmp_path):
    out, _ = first_sweep
    copy = tmp_path / "tiny"
    copy.mkdir()
    for f in ("manifest.json",):
        (copy / f).write_bytes((out / f).read_bytes())
    (copy / "runs").mkdir()
    for part in (out / "runs").glob("part-*.parquet"):
        (copy / "runs" / part.name).write_bytes(part.read_bytes())
    changed = tiny(fixed={"steps": 100})
    with pytest.raises(ResultsError, match="different sweep spec"):
        run_sweep(changed, copy, options=ONE, quiet=True, report=False)
    assert len(load_results(copy)) == 8  # nothing lost
    rep = run_sweep(changed, copy, options=ONE, quiet=True, report=False, restart=True)
    assert rep.n_trained == 8
    assert set(load_results(copy)["steps"]) == {100}


def test_second_writer_gets_a_clear_error(tmp_path):
    with locks.folder_lock(tmp_path / "x"), pytest.raises(ResultsError, match="another sweep"):
        run_sweep(tiny(), tmp_path / "x", options=ONE, quiet=True, report=False)


def test_load_results_errors(tmp_path):
    with pytest.raises(ResultsError, match="no results here"):
        load_results(tmp_path)
    (tmp_path / "runs").mkdir()
    df = pd.DataFrame({"run_id": ["a", "b"], "spec_hash": ["h1", "h2"]})
    store.write_part(tmp_path, df)
    with pytest.raises(ResultsError, match="different sweep specs"):
        load_results(tmp_path)
    assert len(load_results(tmp_path, allow_mixed=True)) == 2


def test_grouping_by_static_shape():
    data = json.loads(json.dumps(TINY))
    del data["fixed"]["hidden"]
    data["grid"]["hidden"] = [8, 16]
    runs = parse_spec(data, source="tiny.toml").runs()
    assert len(group_runs(runs)) == 4  # hidden x train size
    merged = group_runs(runs, bucket_train_size=False)
    assert len(merged) == 2 and all(s.train_pad == 48 for s in merged)


def test_cli_sweep_end_to_end(tmp_path):
    spec = tmp_path / "cli_tiny.toml"
    spec.write_text("""
[sweep]
seeds = 2
[fixed]
task = "modular"
p = 7
hidden = 4
embed = 4
steps = 100
log_every = 50
[grid]
weight_decay = [0.0, 1.0]
""")
    out = subprocess.run([sys.executable, "-m", "grokjax", "sweep", str(spec), "--quiet",
                          "--no-report", "--out", str(tmp_path / "r")], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert "4 runs" in out.stdout and "1 compiled groups" in out.stdout
    assert (tmp_path / "r" / "manifest.json").is_file()
    assert len(pd.read_parquet(tmp_path / "r" / "runs")) == 4


def test_checkpoints_final_params_and_snapshots(first_sweep):
    """Small sweeps keep 10 snapshots per run; they match the logged curves."""
    from grokjax.checkpoints import load_params, saved_steps

    out, _ = first_sweep
    df = load_results(out)
    row = df.iloc[0]
    steps = saved_steps(out, row["run_id"])
    assert steps[0] == 0 and steps[-1] == 200 and len(steps) == 5  # every boundary (4 segments)
    for step in steps:
        p = load_params(out, row["run_id"], step=step)
        l2 = np.sqrt(sum(float(np.sum(np.square(w))) for w in p.values()))
        i = list(row["step"]).index(step)
        np.testing.assert_allclose(l2, row["l2_norm"][i], rtol=1e-5)
    assert set(load_params(out, row["run_id"])) == {"W_in", "w_out"}
    with pytest.raises(ResultsError, match="saved steps"):
        load_params(out, row["run_id"], step=7)
    with pytest.raises(ResultsError, match="no parameters saved"):
        load_params(out, "0" * 16)


def test_checkpoint_selection_and_errors(tmp_path):
    from grokjax.checkpoints import saved_steps
    from grokjax.errors import SpecError

    spec = tiny(checkpoints={"snapshots": 3, "where": {"weight_decay": [1.0]}})
    run_sweep(spec, tmp_path / "c", options=EngineOptions(workers=1), quiet=True,
              report=False)
    df = load_results(tmp_path / "c")
    for _, row in df.iterrows():
        want = [0, 100, 200] if row["weight_decay"] == 1.0 else [200]
        assert saved_steps(tmp_path / "c", row["run_id"]) == want
    for bad, key in (({"snapshots": -1}, "snapshots"), ({"where": {"nope": [1]}}, "nope"),
                     ({"every": 3}, "every")):
        with pytest.raises(SpecError, match=key):
            tiny(checkpoints=bad)


@pytest.mark.parametrize("backend,option,groups", [
    ("cpu", None, 2), ("gpu", None, 1), ("tpu", None, 1), ("gpu", True, 2), ("cpu", False, 1)])
def test_train_size_buckets_per_backend(monkeypatch, backend, option, groups):
    """CPU trains one run at a time, so runs are grouped by exact train size (no padded rows);
    on GPU/TPU compiling costs more than padded rows, so sizes share one program."""
    from grokjax import plan

    monkeypatch.setattr(plan, "backend", lambda: backend)
    spec = parse_spec({"fixed": {"task": "parity", "n": 8, "k": 2, "hidden": 4, "steps": 100},
                       "grid": {"train_size": [50, 100]}})
    opts = EngineOptions(bucket_train_size=option, workers=1, chunk_size=4)
    chunks = plan.plan_chunks(spec.runs(), opts, budget=2**30)
    assert len({c.static for c in chunks}) == groups
    if groups == 1:
        assert chunks[0].static.train_pad == 100
