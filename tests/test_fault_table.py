"""The fault table: each fault × command ends in one ``error:`` line, exit status 2, and a
folder whose files are byte for byte what they were before (the lock file aside) -- or, for a
kill, a re-run that completes with every row exactly once."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from grokjax import locks, run_sweep, store
from grokjax.cli import main
from grokjax.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GROKJAX_QUIET": "1"}

SPEC = """
[sweep]
seeds = 2
[fixed]
task = "parity"
n = 6
k = 2
hidden = 4
test_size = 32
train_size = 24
steps = 200
log_every = 50
[grid]
weight_decay = [0.0, 1.0]
[engine]
chunk_size = 1
flush_rows = 1
merge_parts = false
"""
N_RUNS = 4


def snapshot(d: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (None) under ``d``, the lock file aside."""
    return {str(p.relative_to(d)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(d.rglob("*")) if p.name != ".lock"}


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("spec") / "table.toml"
    p.write_text(textwrap.dedent(SPEC))
    return p


@pytest.fixture(scope="module")
def base(spec_file, tmp_path_factory):
    """A finished tiny sweep (4 runs, one part each, parameter snapshots, no report)."""
    out = tmp_path_factory.mktemp("base") / "table"
    spec = load_spec(spec_file)
    run_sweep(spec, out, options=spec.engine.replace(workers=1), quiet=True, report=False)
    assert len(store.part_files(out)) == N_RUNS
    return out


@pytest.fixture(scope="module")
def base_pinned(spec_file, tmp_path_factory):
    """The same sweep trained by two pinned workers (1 CPU thread each): a folder that a
    `--workers 2` re-run may add rows to (grokjax.layout refuses to mix thread counts)."""
    out = tmp_path_factory.mktemp("base_pinned") / "table"
    spec = load_spec(spec_file)
    run_sweep(spec, out, options=spec.engine.replace(workers=2), quiet=True, report=False)
    assert len(store.part_files(out)) == N_RUNS
    return out


@contextlib.contextmanager
def full_disk(tmp_path: Path):
    """A 4 MiB tmpfs filled to the last byte (skips where it cannot be mounted)."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(mnt: Path) -> None:
    fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 1 << 10, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)


def _corrupt_part(d: Path) -> None:
    store.part_files(d)[-1].write_bytes(b"not parquet")  # the last: earlier ones would be
    # rewritten first by a classify that does not read everything before writing


def _corrupt_manifest(d: Path) -> None:
    m = d / "manifest.json"
    m.write_bytes(m.read_bytes()[:40])  # truncated mid-write by hand


def _corrupt_npz(d: Path) -> None:
    p = sorted((d / "params").glob("*.npz"))[0]
    p.write_bytes(p.read_bytes()[:100])


def _run0(d: Path) -> str:
    return sorted((d / "params").glob("*.npz"))[0].stem


def _index_is_a_folder(d: Path) -> None:
    (d / "index.html").mkdir()  # as unwritable as a read-only folder, even for root


def _explore_is_a_file(d: Path) -> None:
    (d / "explore").write_text("x")


def _drop_two_parts(d: Path) -> None:
    for part in store.part_files(d)[:2]:  # two runs to train: one for each of two workers
        part.unlink()


SWEEP = ["sweep", "{spec}", "--out", "{d}", "--quiet", "--no-report", "--workers", "1"]
CASES = {  # name: (fault, command, stderr must contain)
    "corrupt part / classify": (_corrupt_part, ["classify", "{d}", "--rule", "accuracy"],
                                "corrupt part file"),
    "corrupt part / sweep": (_corrupt_part, SWEEP, "corrupt part file"),
    "corrupt part / report": (_corrupt_part, ["report", "{d}", "--no-png"],
                              "could not be read"),
    "corrupt manifest / report": (_corrupt_manifest, ["report", "{d}"], "corrupt manifest"),
    "corrupt manifest / explore": (_corrupt_manifest, ["explore", "{d}", "{run}"],
                                   "corrupt manifest"),
    "corrupt manifest / sweep": (_corrupt_manifest, SWEEP, "corrupt manifest"),
    "corrupt manifest / classify": (_corrupt_manifest, ["classify", "{d}"], "corrupt manifest"),
    "corrupt npz / explore": (_corrupt_npz, ["explore", "{d}", "{run}"],
                              "corrupt parameter file"),
    "impossible budget / sweep": (lambda d: None, [*SWEEP, "--memory-budget", "1KiB"],
                                  "memory budget"),
    "unwritable index.html / report": (_index_is_a_folder, ["report", "{d}", "--no-png"],
                                       "could not write"),
    "unwritable explore/ / explore": (_explore_is_a_file, ["explore", "{d}", "{run}"],
                                      "could not write"),
}


def _fill_args(cmd, spec_file, d):
    run = _run0(d) if "{run}" in cmd else ""
    return [a.format(spec=spec_file, d=d, run=run) for a in cmd]


def _one_error_line(capsys, rc, want):
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert want in err[0], err
    return err[0]


@pytest.mark.parametrize("case", list(CASES))
def test_fault_changes_nothing(case, base, spec_file, tmp_path, capsys):
    fault, cmd, want = CASES[case]
    d = tmp_path / "table"
    shutil.copytree(base, d)
    fault(d)
    before = snapshot(d)
    rc = main(_fill_args(cmd, spec_file, d))
    _one_error_line(capsys, rc, want)
    assert snapshot(d) == before


@pytest.mark.parametrize("cmd", [["report", "{d}"], ["classify", "{d}", "--rule", "accuracy"],
                                 ["explore", "{d}", "{run}"]],
                         ids=["report", "classify", "explore"])
def test_full_disk_changes_nothing(cmd, base, spec_file, tmp_path, capsys):
    with full_disk(tmp_path) as mnt:
        d = mnt / "table"
        shutil.copytree(base, d)
        fill(mnt)
        before = snapshot(d)
        rc = main(_fill_args(cmd, spec_file, d))
        _one_error_line(capsys, rc, "could not write")
        assert snapshot(d) == before
        assert not list(d.rglob(".*.tmp"))


def test_full_disk_in_a_worker_is_one_line_and_changes_nothing(base_pinned, spec_file,
                                                               tmp_path, capsys):
    with full_disk(tmp_path) as mnt:
        d = mnt / "table"
        shutil.copytree(base_pinned, d)
        _drop_two_parts(d)
        fill(mnt)
        before = snapshot(d)
        rc = main(_fill_args([*SWEEP[:-1], "2"], spec_file, d))
        line = _one_error_line(capsys, rc, "could not write (the disk is full)")
        assert line.startswith("error: worker ") and "1 trained run could not be written" in line
        assert snapshot(d) == before


def test_unwritable_runs_folder_in_a_worker_is_one_line(spec_file, tmp_path, capsys):
    d = tmp_path / "table"
    d.mkdir()
    (d / "runs").write_text("a file where the runs folder belongs")
    rc = main(_fill_args([*SWEEP[:-1], "2"], spec_file, d))
    line = _one_error_line(capsys, rc, "cannot create the folder")
    assert line.startswith("error: worker ") and "could not be written" in line
    assert "running the sweep again trains the lost runs again" in line


def test_impossible_budget_creates_nothing(spec_file, tmp_path, capsys):
    d = tmp_path / "new"
    rc = main(_fill_args([*SWEEP, "--memory-budget", "1KiB"], spec_file, d))
    _one_error_line(capsys, rc, "memory budget")
    assert not d.exists()


def test_kill9_then_rerun_has_every_row_once(spec_file, tmp_path):
    d = tmp_path / "k"
    cli = [sys.executable, "-m", "grokjax", *_fill_args([*SWEEP[:-1], "2"], spec_file, d)]
    proc = subprocess.Popen(cli, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not store.part_files(d) and proc.poll() is None:
        assert time.time() < deadline, "sweep made no progress"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # EOF once every process that shares the sweep's stderr is gone (the workers die with it):
    # nothing may complain, e.g. a resource tracker about "leaked semaphore objects"
    err = proc.stderr.read().decode()
    assert err == "", err
    for sub in ("", "runs", "params", "explore"):  # what a kill mid-write leaves behind
        (d / sub).mkdir(parents=True, exist_ok=True)
        (d / sub / ".left.abc123.tmp").write_bytes(b"half")
    rerun = subprocess.run(cli, env=ENV, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    df = pd.read_parquet(d / "runs")
    assert len(df) == N_RUNS and df["run_id"].is_unique
    assert not list(d.rglob(".*.tmp"))  # temp files of killed writers are cleaned everywhere


@pytest.mark.parametrize("partial", [False, True], ids=["finished", "partial"])
def test_phases_change_on_rerun_reclassifies_every_row(base, spec_file, tmp_path, partial):
    d = tmp_path / "table"
    shutil.copytree(base, d)
    if partial:
        _drop_two_parts(d)
    changed = tmp_path / "table.toml"
    changed.write_text(spec_file.read_text() + '\n[phases]\nrule = "accuracy"\nthreshold = 0.9\n')
    spec = load_spec(changed)
    run_sweep(spec, d, options=spec.engine.replace(workers=1), quiet=True, report=False)
    manifest = store.read_manifest(d)
    assert manifest["phase_rule"] == "accuracy" and manifest["phase_params"]["threshold"] == 0.9
    df = store.load_results(d)
    assert len(df) == N_RUNS
    assert set(df["phase_rule"]) == {"accuracy"}
    assert {json.dumps(json.loads(p), sort_keys=True) for p in df["phase_params"]} == {
        json.dumps(manifest["phase_params"], sort_keys=True)}
    assert "last_run" in manifest


def test_report_is_written_under_the_folder_lock(spec_file, tmp_path, monkeypatch):
    import grokjax.report

    seen = []

    def write_report(out):
        with pytest.raises(store.ResultsError, match="another sweep is writing"), \
                locks.folder_lock(out):
            pass
        seen.append(out)

    monkeypatch.setattr(grokjax.report, "write_report", write_report)
    spec = load_spec(spec_file)
    run_sweep(spec, tmp_path / "l", options=spec.engine.replace(workers=1), quiet=True)
    assert seen == [tmp_path / "l"]
