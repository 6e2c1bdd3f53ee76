"""Shards for job arrays: ``--shard I/N`` slices, N shards into one folder == one process,
locks, shard records and ``status``, and one-line errors for bad values."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grokjax import EngineOptions, locks, run_sweep, store
from grokjax.errors import SpecError
from grokjax.plan import plan_chunks
from grokjax.shards import Shard, chunk_cost, parse_shard, read_records, shard_slice
from grokjax.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
SPEC = """
[sweep]
seeds = 2
data_seeds = "per_seed"
[fixed]
task = "parity"
n = 8
k = 2
hidden = 8
test_size = 64
steps = 200
log_every = 50
[grid]
weight_decay = [0.0, 0.3, 1.0]
train_size = [32, 48]
"""
VOLATILE = {"wall_time_s", "created_at"}
ONE = EngineOptions(workers=1)


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("spec") / "sharded.toml"
    p.write_text(textwrap.dedent(SPEC))
    return p


@pytest.fixture(scope="module")
def reference(spec_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "one"
    run_sweep(load_spec(spec_file), out, options=ONE, quiet=True, report=False)
    return pd.read_parquet(out / "runs")


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert a["run_id"].is_unique and b["run_id"].is_unique, "a run is doubled"
    a, b = (d.sort_values("run_id").reset_index(drop=True) for d in (a, b))
    assert list(a["run_id"]) == list(b["run_id"]), "a run is missing"
    for col in sorted(set(a.columns) - VOLATILE):
        for x, y in zip(a[col], b[col], strict=True):
            if np.ndim(x) == 0 and pd.isna(x):
                assert np.ndim(y) == 0 and pd.isna(y), col
            else:
                np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=col)


class _Chunk:  # what shard_slice reads of a chunk: its runs' steps
    def __init__(self, *steps):
        self.runs = tuple({"steps": s} for s in steps)


def test_shard_slices_are_contiguous_cover_the_plan_once_and_balance_model_steps():
    plan = [_Chunk(100), _Chunk(100), _Chunk(100, 100), _Chunk(400), _Chunk(100), _Chunk(100)]
    # total 1,000 model-steps; midpoints 50, 150, 300, 600, 850, 950
    assert [shard_slice(plan, Shard(i, 2)) for i in range(2)] == [[0, 1, 2], [3, 4, 5]]
    assert [shard_slice(plan, Shard(i, 4)) for i in range(4)] == [[0, 1], [2], [3], [4, 5]]
    assert [shard_slice(plan, Shard(i, 1)) for i in range(1)] == [[0, 1, 2, 3, 4, 5]]
    for n in (3, 5, 7, 9):  # more shards than chunks: some are empty, none overlap
        slices = [shard_slice(plan, Shard(i, n)) for i in range(n)]
        assert sorted(i for s in slices for i in s) == list(range(len(plan)))
        assert all(s == list(range(s[0], s[-1] + 1)) for s in slices if s)


def test_real_plan_is_balanced(spec_file):
    plan = plan_chunks(load_spec(spec_file).runs(), ONE)
    costs = [sum(chunk_cost(plan[i]) for i in shard_slice(plan, Shard(i, 3))) for i in range(3)]
    assert sum(costs) == sum(chunk_cost(c) for c in plan) and max(costs) == min(costs)


@pytest.mark.parametrize("text", ["3/3", "-1/2", "1/0", "x", "1/2/3", ""])
def test_bad_shard_is_a_one_line_error(text):
    with pytest.raises(SpecError, match=r"--shard.*allowed: I/N"):
        parse_shard(text)


def test_bad_shard_on_the_command_line(spec_file, tmp_path):
    out = subprocess.run([sys.executable, "-m", "grokjax", "sweep", str(spec_file), "--out",
                          str(tmp_path / "o"), "--shard", "2/2"], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: command line: --shard: '2/2': allowed: I/N with 0 <= I < N and N >= 1, e.g. "
        "0/4 .. 3/4"]
    assert not (tmp_path / "o").exists()


def test_n_shards_into_one_folder_equal_one_process(spec_file, reference, tmp_path, capsys):
    from grokjax.cli import main

    out = tmp_path / "shared"
    spec = load_spec(spec_file)
    trained = []
    for i in (2, 0):  # any order; shard 1 has not run yet
        rep = run_sweep(spec, out, options=ONE, shard=Shard(i, 3), quiet=True, report=True)
        trained.append(rep.n_trained)
    assert not (out / "index.html").exists(), "reported before every shard was done"
    assert sorted(r["shard"] for r in read_records(out)) == [0, 2]
    assert all(p.name.startswith(("part-s0of3", "part-s2of3")) for p in store.part_files(out))
    main(["status", str(out)])
    assert "shards of 3: 2 complete (0, 2), not complete: 1" in capsys.readouterr().out
    rep = run_sweep(spec, out, options=ONE, shard=Shard(1, 3), quiet=True, report=True)
    trained.append(rep.n_trained)
    assert trained == [4, 4, 4] and (out / "index.html").is_file()  # the last shard reports
    main(["status", str(out)])
    assert "shards of 3: 3 complete (0-2)" in capsys.readouterr().out
    same_rows(pd.read_parquet(out / "runs"), reference)
    again = run_sweep(spec, out, options=ONE, quiet=True, report=False)  # a plain re-run
    assert again.n_trained == 0 and again.n_done_before == len(reference)


def test_a_dead_shard_is_finished_by_a_plain_rerun(spec_file, reference, tmp_path):
    out = tmp_path / "shared"
    spec = load_spec(spec_file)
    run_sweep(spec, out, options=ONE, shard=Shard(0, 2), quiet=True, report=False)
    rep = run_sweep(spec, out, options=ONE, quiet=True, report=False)
    assert (rep.n_done_before, rep.n_trained) == (6, 6)
    same_rows(pd.read_parquet(out / "runs"), reference)


def test_shard_locks(spec_file, tmp_path):
    out = tmp_path / "shared"
    spec = load_spec(spec_file)
    with locks.folder_lock(out, Shard(0, 2).lock):  # shard 0 is training elsewhere
        with pytest.raises(store.ResultsError, match="another sweep is writing"):
            run_sweep(spec, out, options=ONE, shard=Shard(0, 2), quiet=True, report=False)
        with pytest.raises(store.ResultsError, match=r"shards are training into this folder "
                                                     r"\(\.lock-s0of2\)"):
            run_sweep(spec, out, options=ONE, quiet=True, report=False)
    with pytest.raises(store.ResultsError, match="cannot --restart"):
        run_sweep(spec, out, options=ONE, shard=Shard(0, 2), restart=True, quiet=True)
    assert not store.part_files(out)


def test_part_writer_writes_a_chunk_index_once(tmp_path):
    """A retried chunk's second result (Ray) is dropped: each chunk index is written once."""
    from grokjax.runner import ChunkDone, PartWriter, TrainedChunk

    writer = PartWriter(tmp_path, "t", EngineOptions(flush_rows=1))
    rows = pd.DataFrame({"run_id": ["a", "b"], "diverged": [False, False]})
    first = TrainedChunk(3, rows, {}, ChunkDone(3, 2, 0))
    assert writer.add(first) and not writer.add(first)
    assert writer.add(TrainedChunk(4, rows.assign(run_id=["c", "d"]), {}, ChunkDone(4, 2, 0)))
    writer.close()
    assert sorted(pd.read_parquet(tmp_path / "runs")["run_id"]) == ["a", "b", "c", "d"]
