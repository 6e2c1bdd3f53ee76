"""Faults: kill -9 and resume, worker processes, devices, many hosts, bad folders and budgets."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grokjax import EngineOptions, run_sweep, store
from grokjax.errors import PlanError
from grokjax.spec import load_spec
from grokjax.store import ResultsError, load_results

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GROKJAX_QUIET": "1"}

SPEC = """
[sweep]
seeds = 4
data_seeds = "per_seed"
[fixed]
task = "parity"
n = 8
k = 2
hidden = 8
test_size = 64
steps = 400
log_every = 50
[grid]
weight_decay = [0.0, 0.3, 1.0]
train_size = [32, 48]
[engine]
chunk_size = 2
flush_rows = 1
"""
CONTENT = ["run_id", "phase", "final_test_acc", "min_train_loss", "train_loss", "test_loss",
           "test_acc", "l2_norm", "diverged"]


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("spec") / "faulty.toml"
    p.write_text(textwrap.dedent(SPEC))
    return p


@pytest.fixture(scope="module")
def reference(spec_file, tmp_path_factory):
    """The uninterrupted sweep, trained in this process."""
    out = tmp_path_factory.mktemp("ref") / "faulty"
    run_sweep(load_spec(spec_file), out, options=EngineOptions(chunk_size=2, workers=1),
              quiet=True, report=False)
    return pd.read_parquet(out / "runs")


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert a["run_id"].is_unique and b["run_id"].is_unique, "a run is doubled"
    a, b = (d.sort_values("run_id").reset_index(drop=True) for d in (a, b))
    assert list(a["run_id"]) == list(b["run_id"]), "a run is missing"
    for col in CONTENT:
        for x, y in zip(a[col], b[col], strict=True):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=col)


def _cli(spec_file, out, *extra):
    return [sys.executable, "-m", "grokjax", "sweep", str(spec_file), "--out", str(out),
            "--no-report", "--quiet", *extra]


@pytest.mark.parametrize("kill_after_parts,workers", [(1, "2"), (4, "2"), (2, "1")])
def test_kill9_then_resume_equals_uninterrupted(spec_file, reference, tmp_path,
                                                kill_after_parts, workers):
    out = tmp_path / "faulty"
    proc = subprocess.Popen(_cli(spec_file, out, "--workers", workers), env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while len(store.part_files(out)) < kill_after_parts and proc.poll() is None:
        assert time.time() < deadline, "sweep made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.read()  # EOF: the workers, which share its stderr, have died with it too
    partial = len(pd.read_parquet(out / "runs")) if store.part_files(out) else 0
    assert partial < len(reference) or kill_after_parts >= len(reference)
    rerun = subprocess.run(_cli(spec_file, out, "--workers", workers), env=ENV,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{partial} already done" in rerun.stdout
    same_rows(pd.read_parquet(out / "runs"), reference)


def test_worker_processes_give_the_same_rows(spec_file, reference, tmp_path):
    rep = run_sweep(load_spec(spec_file), tmp_path / "w",
                    options=EngineOptions(chunk_size=2, workers=2), quiet=True, report=False)
    assert rep.workers == 2 and rep.n_programs >= 3
    same_rows(pd.read_parquet(tmp_path / "w" / "runs"), reference)
    tags = {p.name.split("-")[1] for p in store.part_files(tmp_path / "w")}
    assert tags == {"p0w0", "p0w1"}  # both workers trained and wrote their own parts


@pytest.mark.parametrize("devices", [2, 4])
def test_sharded_over_host_devices_equals_one_device(spec_file, reference, tmp_path, devices):
    # host (CPU) devices, also where an accelerator is present
    env = {**ENV, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
           "JAX_PLATFORMS": "cpu"}
    code = ("import jax; from grokjax.options import EngineOptions; from grokjax.engine import "
            "run_sweep; from grokjax.spec import load_spec; "
            f"assert len(jax.local_devices()) == {devices}; "
            f"run_sweep(load_spec({str(spec_file)!r}), {str(tmp_path / 'd')!r}, "
            "options=EngineOptions(chunk_size=4, workers=1), quiet=True, report=False)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    got = pd.read_parquet(tmp_path / "d" / "runs").sort_values("run_id")
    ref = reference.sort_values("run_id")
    assert list(got["run_id"]) == list(ref["run_id"])
    assert list(got["phase"]) == list(ref["phase"])
    for x, y in zip(got["train_loss"], ref["train_loss"], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-7)


def test_two_hosts_on_loopback(spec_file, reference, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "mh"
    procs = [subprocess.Popen(_cli(spec_file, out, "--workers", "1", "--coordinator",
                                   f"127.0.0.1:{port}", "--num-processes", "2",
                                   "--process-id", str(i)), env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in (1, 0)]
    for p in procs:
        _stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr
    tags = {p.name.split("-")[1] for p in store.part_files(out)}
    assert tags == {"p0", "p1"}  # each process wrote its own share
    same_rows(pd.read_parquet(out / "runs"), reference)


def test_corrupt_part_file_is_a_clear_error_and_nothing_is_lost(spec_file, reference, tmp_path):
    out = tmp_path / "c"
    run_sweep(load_spec(spec_file), out, options=EngineOptions(chunk_size=2, workers=1),
              quiet=True, report=False)
    parts = store.part_files(out)
    parts[0].write_bytes(b"not parquet at all")
    with pytest.raises(ResultsError, match=parts[0].name):
        run_sweep(load_spec(spec_file), out, options=EngineOptions(workers=1), quiet=True,
                  report=False)
    assert all(p.exists() for p in parts[1:])
    parts[0].unlink()  # as the message suggests: move it away, its runs are trained again
    run_sweep(load_spec(spec_file), out, options=EngineOptions(chunk_size=2, workers=1),
              quiet=True, report=False)
    same_rows(pd.read_parquet(out / "runs"), reference)


def test_unwritable_or_full_folder_is_a_clear_error(spec_file, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ResultsError, match="cannot create"):
        run_sweep(load_spec(spec_file), blocker / "out", quiet=True, report=False)
    monkeypatch.setattr(store.os, "access", lambda *a: False)
    with pytest.raises(ResultsError, match="not writable"):
        run_sweep(load_spec(spec_file), tmp_path / "ro", quiet=True, report=False)


def test_disk_full_keeps_what_was_written(tmp_path, monkeypatch):
    store.write_part(tmp_path, pd.DataFrame({"run_id": ["a"], "spec_hash": ["h"]}))

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, "fsync", full)
    with pytest.raises(ResultsError, match="disk is full"):
        store.write_part(tmp_path, pd.DataFrame({"run_id": ["b"], "spec_hash": ["h"]}))
    monkeypatch.undo()
    assert list(load_results(tmp_path)["run_id"]) == ["a"]
    assert not list((tmp_path / "runs").glob(".*.tmp"))  # no temp file left behind


def test_impossible_memory_budget(spec_file, tmp_path):
    with pytest.raises(PlanError, match="too small for one run"):
        run_sweep(load_spec(spec_file), tmp_path / "m",
                  options=EngineOptions(memory_budget=1000), quiet=True, report=False)
    out = subprocess.run(_cli(spec_file, tmp_path / "m2", "--memory-budget", "1KiB"), env=ENV,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "memory budget" in out.stderr and "Traceback" not in out.stderr
    assert not store.part_files(tmp_path / "m2")


def test_memory_budget_bounds_chunks_of_a_huge_sweep():
    """A 100,000-run sweep is planned in chunks that fit the budget; nothing is allocated."""
    from grokjax.plan import plan_chunks, run_bytes
    from grokjax.spec import parse_spec

    spec = parse_spec({"sweep": {"seeds": 100},
                       "fixed": {"task": "parity", "n": 30, "k": 3, "hidden": 64,
                                 "train_size": 1200, "steps": 100},
                       "grid": {"lr": {"logspace": [1e-4, 1e-2], "num": 1000}}}, "huge")
    runs = spec.runs()
    assert len(runs) == 100_000
    per_run = run_bytes(plan_chunks(runs[:1], EngineOptions(chunk_size=1))[0].static)
    budget = 64 * per_run + 1
    plan = plan_chunks(runs, EngineOptions(chunk_size=100_000), budget=budget)
    assert max(c.size for c in plan) == 64 and sum(len(c.runs) for c in plan) == 100_000
    assert 1e6 < per_run < 1e8  # parity H=64, 6,200 sequences: a few MB per run


def test_resume_in_another_vmap_width_is_refused_and_the_same_width_resumes(tmp_path):
    """The vmap width decides a run's float results (grokjax.layout): a folder refuses rows of
    another width, and a resume at the folder's width completes it bit for bit."""
    spec_path = tmp_path / "w.toml"
    spec_path.write_text(textwrap.dedent(SPEC).replace("chunk_size = 2\n", ""))
    spec = load_spec(spec_path)
    out = tmp_path / "w"
    run_sweep(spec, out, options=EngineOptions(chunk_size=4, workers=1), quiet=True,
              report=False)
    full = load_results(out).sort_values("run_id").reset_index(drop=True)
    assert set(full["vmap_width"]) == {4} and set(full["n_devices"]) == {1}
    # keep the rows of 8 runs: the others are missing now
    keep = load_results(out).iloc[:8]
    for p in store.part_files(out):
        p.unlink()
    store.write_part(out, keep)
    before = sorted(p.name for p in store.part_files(out))
    with pytest.raises(ResultsError, match=r"vmap width 4 .* would train the rest .* vmap width "
                                           r"2.*--chunk-size 4"):
        run_sweep(spec, out, options=EngineOptions(chunk_size=2, workers=1), quiet=True,
                  report=False)
    assert sorted(p.name for p in store.part_files(out)) == before  # nothing written
    run_sweep(spec, out, options=EngineOptions(chunk_size=4, workers=1), quiet=True,
              report=False)
    again = load_results(out).sort_values("run_id").reset_index(drop=True)
    assert list(again["run_id"]) == list(full["run_id"])
    for a, b in zip(again["train_loss"], full["train_loss"], strict=True):
        np.testing.assert_array_equal(a, b)
