"""A sweep's folder while and after it trains: parts written as chunks end and merged on a
clean close, the folder lock removed when released, the page re-rendered now and then and
telling how many runs are done."""

from __future__ import annotations

import textwrap
import threading

import pandas as pd
import pytest

from grokjax import EngineOptions, locks, run_sweep, store
from grokjax.live_report import LiveReport
from grokjax.runner import ChunkDone, PartWriter, TrainedChunk
from grokjax.spec import load_spec

SPEC = """
[sweep]
seeds = 2
[fixed]
task = "parity"
n = 8
k = 2
hidden = 8
test_size = 64
train_size = 32
steps = 100
log_every = 50
[grid]
weight_decay = [0.0, 0.5]
"""


def _spec(tmp_path, extra: str = ""):
    p = tmp_path / "s.toml"
    p.write_text(textwrap.dedent(SPEC) + extra)
    return load_spec(p)


def _chunk(i: int) -> TrainedChunk:
    rows = pd.DataFrame({"run_id": [f"r{i}"], "spec_hash": ["h"], "x": [float(i)]})
    return TrainedChunk(i, rows, {}, ChunkDone(i, 1, 0))


def test_writer_flushes_when_a_chunk_ends_and_merges_its_parts_on_close(tmp_path):
    w = PartWriter(tmp_path, "p0", EngineOptions(flush_rows=10_000, flush_seconds=1e-9))
    for i in range(3):
        w.add(_chunk(i))
        # on disk as soon as its chunk ended: a kill -9 now loses nothing of it
        assert store.done_run_ids(tmp_path) == {f"r{j}" for j in range(i + 1)}
    assert len(store.part_files(tmp_path)) == 3
    w.close()
    [part] = store.part_files(tmp_path)
    assert sorted(store.load_results(tmp_path)["run_id"]) == ["r0", "r1", "r2"]
    assert part.name.startswith("part-p0-")


def test_writer_killed_mid_merge_leaves_each_row_readable_once(tmp_path):
    a = store.write_part(tmp_path, _chunk(0).rows)
    b = store.write_part(tmp_path, _chunk(1).rows)
    merged = store.merge_parts(tmp_path, [a, b])
    # as if killed after the merged part was written, before the small ones were removed
    store.write_part(tmp_path, _chunk(0).rows)
    assert merged.exists() and len(store.part_files(tmp_path)) == 2
    df = store.load_results(tmp_path)
    assert sorted(df["run_id"]) == ["r0", "r1"]


@pytest.mark.parametrize("reader", ["done_run_ids", "load_results"])
def test_a_reader_sees_every_row_once_while_a_writer_merges(tmp_path, monkeypatch, reader):
    """status, report and shards waiting for each other read a folder that another writer may
    be merging: a part that vanishes between the listing and its read was merged into a newer
    part, so the reader lists again instead of calling it corrupt."""
    a = store.write_part(tmp_path, _chunk(0).rows)
    b = store.write_part(tmp_path, _chunk(1).rows)
    real, merging = store.pq.read_table, []

    def read_table(path, *args, **kw):
        if not merging:  # the writer merges just after the reader listed [a, b]
            merging.append(True)
            store.merge_parts(tmp_path, [a, b])
        return real(path, *args, **kw)

    monkeypatch.setattr(store.pq, "read_table", read_table)
    got = getattr(store, reader)(tmp_path)
    ids = got if reader == "done_run_ids" else list(got["run_id"])
    assert merging and sorted(ids) == ["r0", "r1"]
    assert not a.exists() and len(store.part_files(tmp_path)) == 1


def test_no_lock_file_is_left_after_a_clean_sweep(tmp_path):
    out = tmp_path / "out"
    run_sweep(_spec(tmp_path), out, options=EngineOptions(workers=1), quiet=True, report=False)
    assert not (out / ".lock").exists()
    assert len(store.part_files(out)) == 1  # one writer, one part


def test_a_waiting_writer_takes_the_lock_its_holder_removed(tmp_path):
    held, release, got = threading.Event(), threading.Event(), []

    def holder():
        with locks.folder_lock(tmp_path):
            held.set()
            release.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    assert held.wait(30)
    with pytest.raises(store.ResultsError, match="another sweep is writing"), \
            locks.folder_lock(tmp_path):
        pass

    def waiter():
        with locks.folder_lock(tmp_path, wait_s=60):
            got.append((tmp_path / ".lock").exists())
            # while we hold it, nobody else gets it
            with pytest.raises(store.ResultsError), locks.folder_lock(tmp_path):
                pass
            got.append("exclusive")

    w = threading.Thread(target=waiter)
    w.start()
    release.set()
    t.join(30)
    w.join(60)
    assert got == [True, "exclusive"]
    assert not (tmp_path / ".lock").exists()


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_live_report_renders_at_most_every_interval_and_backs_off_when_slow(tmp_path,
                                                                            monkeypatch):
    from grokjax import report

    clock, calls = Clock(), []

    def fake_write_report(out, png=True, explorers=None):
        calls.append((out, png, explorers))
        clock.t += 10.0  # a slow render: 10 s

    monkeypatch.setattr(report, "write_report", fake_write_report)
    live = LiveReport(tmp_path, every_s=60.0, clock=clock)
    live.chunk_done()
    assert calls == []
    clock.t = 60.0
    live.chunk_done()
    assert calls == [(tmp_path, False, False)]  # no PNGs, no explorer pages mid-sweep
    clock.t += 100.0  # 60 s have passed, but a 10 s render may take only 5% of the time
    live.chunk_done()
    assert len(calls) == 1
    clock.t += 100.0
    live.chunk_done()
    assert len(calls) == 2


def test_sweep_renders_the_page_while_training_and_it_says_how_many_runs_are_done(
        tmp_path, monkeypatch):
    from grokjax import report

    seen: list[tuple[int, bool]] = []
    real = report.write_report

    def spy(out, png=True, explorers=None, **kw):
        path = real(out, png=png, explorers=explorers, **kw)
        seen.append((len(store.load_results(out)), "runs done</b>" in path.read_text()))
        return path

    monkeypatch.setattr(report, "write_report", spy)
    spec = _spec(tmp_path, "[engine]\nreport_seconds = 1e-9\nflush_rows = 1\n")
    run_sweep(spec, tmp_path / "out", options=spec.engine.replace(workers=1), quiet=True,
              report=True)
    assert seen[0] == (1, True), seen  # after the first chunk: "1 of 4 runs done"
    assert seen[-1] == (4, False)  # the final page: complete
    assert "1 of 4 runs done" not in (tmp_path / "out" / "index.html").read_text()
