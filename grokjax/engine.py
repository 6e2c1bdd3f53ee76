"""The sweep: plan chunks, train this process's share through a backend, record it.

The host loop drives chunks of runs and segments of steps; between them -- never inside jit --
it updates progress, writes Parquet parts and records what is done, so an interrupted sweep
resumes where it stopped with no run lost or doubled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import jax

from grokjax import locks, phases, store
from grokjax.backends import make_backend
from grokjax.distributed import Cluster, wait_for
from grokjax.errors import SpecError
from grokjax.layout import check_resume
from grokjax.live_report import LiveReport
from grokjax.options import EngineOptions
from grokjax.plan import default_budget, plan_chunks, resolved_workers
from grokjax.rows import provenance
from grokjax.runner import ChunkDone, Job, Work, enable_compile_cache
from grokjax.shards import Shard, clear_records, shard_slice, write_record
from grokjax.spec import SweepSpec

__all__ = ["SweepReport", "estimate_runs", "run_sweep", "x64_for"]


@dataclasses.dataclass
class SweepReport:
    name: str
    out: Path
    n_runs: int
    n_done_before: int
    n_trained: int
    n_groups: int
    n_chunks: int
    n_programs: int
    n_diverged: int
    workers: int
    chunk_size: int
    wall_s: float
    compile_s: float
    model_steps: int
    backend: str = "local"
    startup_s: float = 0.0  # Ray: seconds until every actor was ready

    @property
    def model_steps_per_s(self) -> float:
        return self.model_steps / self.wall_s if self.wall_s > 0 else 0.0

    def line(self) -> str:
        return (f"{self.name}: {self.n_runs} runs ({self.n_done_before} already done, "
                f"{self.n_trained} trained) in {self.n_groups} compiled groups, "
                f"{self.n_programs} programs compiled ({self.compile_s:.1f} s); "
                f"{self.wall_s:.1f} s, {self.model_steps_per_s:,.0f} model-steps/s "
                f"({self.workers} worker{'s' if self.workers > 1 else ''} x vmap width "
                f"{self.chunk_size}{', on Ray' if self.backend == 'ray' else ''}), "
                f"{self.n_diverged} diverged -> {self.out}")


def manifest_for(spec: SweepSpec, spec_hash: str, n_runs: int, rule) -> dict[str, Any]:
    return {
        "sweep": spec.name, "source": spec.source, "description": spec.description,
        "spec": spec.raw, "spec_hash": spec_hash, "n_runs": n_runs, "task": spec.task,
        "fixed": spec.fixed, "grid": spec.grid, "varying": spec.varying,
        "plugins": list(spec.plugins),
        "phase_rule": rule.name, "phase_params": rule.params(), **provenance(),
        **spec.manifest_extra,  # an adaptive round's record (grokjax.adaptive_sweep)
    }


def _check_existing(out: Path, spec_hash: str, restart: bool) -> None:
    if restart:
        store.clear_runs(out)
        return
    if (out / "manifest.json").is_file():
        old = store.read_manifest(out).get("spec_hash")
        if old != spec_hash and store.part_files(out):
            raise store.ResultsError(
                f"{out}: holds results of a different sweep spec (spec_hash {old}, this spec "
                f"{spec_hash}); nothing was changed. Re-run with --restart to discard them, or "
                "write elsewhere with --out")
    elif store.part_files(out):
        raise store.ResultsError(f"{out}: has part files but no manifest.json; refusing to mix "
                                 "rows. Use --restart to discard them, or another --out")


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _prepare(out: Path, manifest: dict[str, Any], rule, restart: bool) -> None:
    """Before training (and after every check that can fail): rows classified under the
    sweep's current [phases] rule, temp files of killed writers removed, the manifest written.

    Rows written under another rule are re-classified all or nothing, the new rule going into
    the manifest with them, so rows, manifest and report never disagree about the rule."""
    old = store.read_manifest(out) if (out / "manifest.json").is_file() else None
    if old is not None and not restart and "last_run" in old:
        manifest["last_run"] = old["last_run"]  # the last finished run's numbers, until the next
    store.clean_temp(out)
    if old is not None and store.part_files(out) and not _same(
            (old.get("phase_rule"), old.get("phase_params")),
            (manifest["phase_rule"], manifest["phase_params"])):
        store.rewrite_parts(out, lambda df: phases.classify_frame(df, rule), manifest)
    elif old is None or not _same(old, manifest):
        store.write_manifest(out, manifest)


class _Progress:
    """tqdm over model-steps, with runs done, runs/s and divergences; silent when quiet."""

    def __init__(self, total_steps: int, n_runs: int, desc: str, quiet: bool):
        from tqdm.auto import tqdm

        self.n_runs, self.runs_done, self.diverged = n_runs, 0, 0
        self.t0 = time.perf_counter()
        self.bar = tqdm(total=total_steps, unit="step", unit_scale=True, desc=desc,
                        disable=quiet or os.environ.get("GROKJAX_QUIET") == "1",
                        dynamic_ncols=True, smoothing=0.1, mininterval=0.5)

    def steps(self, n: float) -> None:
        self.bar.update(n)

    def chunk(self, c: ChunkDone) -> None:
        self.runs_done += c.n_trained
        self.diverged += c.n_diverged
        rate = self.runs_done / max(time.perf_counter() - self.t0, 1e-9)
        self.bar.set_postfix_str(f"runs {self.runs_done}/{self.n_runs}, {rate:.2f} runs/s, "
                                 f"diverged {self.diverged}", refresh=False)

    def close(self) -> None:
        self.bar.close()


def _interleave_groups(plan, indices: list[int]) -> list[int]:
    """Chunk order A1 B1 C1 A2 B2 ...: parallel workers start on different groups, so each
    compiles different programs and later finds the others' in the compilation cache."""
    by_group: dict = {}
    for i in indices:
        by_group.setdefault(plan[i].static, []).append(i)
    queues = list(by_group.values())
    out = []
    while queues:
        out += [q.pop(0) for q in queues]
        queues = [q for q in queues if q]
    return out


def run_sweep(spec: SweepSpec, out: str | Path | None = None, *,
              options: EngineOptions | None = None, restart: bool = False,
              quiet: bool = False, report: bool = True, cluster: Cluster | None = None,
              shard: Shard | None = None, wait_timeout_s: float = 24 * 3600) -> SweepReport:
    """Train every run of ``spec`` not yet on disk in ``out`` (default ``results/NAME``).

    The backend (``options.backend``, see ``grokjax.backends``) trains the chunks: on this
    host (pinned workers on CPU, local devices on GPU/TPU) or on a Ray cluster.  ``shard``
    trains only that slice of the plan (job arrays, ``grokjax.shards``).  Under
    ``jax.distributed`` (``cluster``) each process trains its share of the chunks and process
    0 waits for all before the report.
    """
    if spec.adaptive is not None and not spec.manifest_extra:  # not one of its rounds
        raise SpecError(spec.source, "[adaptive]", "an adaptive sweep trains round by round: "
                        "use grokjax.run_adaptive (python -m grokjax sweep does)")
    runs = spec.runs()
    with x64_for(runs):
        return _run_sweep(spec, runs, out, options=options, restart=restart, quiet=quiet,
                          report=report, cluster=cluster, shard=shard,
                          wait_timeout_s=wait_timeout_s)


def _prepare_folder(out: Path, spec: SweepSpec, spec_hash: str, n_runs: int, plan, restart: bool,
                    backend) -> set[str]:
    """Under the folder's ``.lock``: check it holds this sweep, write the manifest, and
    return the run ids already done."""
    rule = spec.phases
    _check_existing(out, spec_hash, restart)
    done = store.done_run_ids(out)  # a corrupt part fails here, before any write
    if not restart:
        check_resume(out, plan, done, backend.layout)  # never mix float layouts in one folder
    _prepare(out, manifest_for(spec, spec_hash, n_runs, rule), rule, restart)
    return done


def _run_sweep(spec: SweepSpec, runs: list[dict[str, Any]], out: str | Path | None, *,
               options: EngineOptions | None, restart: bool, quiet: bool, report: bool,
               cluster: Cluster | None, shard: Shard | None,
               wait_timeout_s: float) -> SweepReport:
    options = options or spec.engine
    rule = spec.phases
    cluster = cluster or Cluster(jax.process_index(), jax.process_count())
    out = Path(out) if out is not None else Path("results") / spec.name
    spec_hash = spec.spec_hash()
    t0 = time.perf_counter()
    if shard is not None and (restart or cluster.num_processes > 1):
        raise store.ResultsError("--shard trains one slice of a folder other shards share: it "
                                 "cannot --restart it, nor run under jax.distributed")
    x64 = bool(jax.config.read("jax_enable_x64"))
    backend = make_backend(options)
    try:
        options = backend.resolve(options, tuple(runs), spec.plugins, x64)
        workers = resolved_workers(options)
        budget = options.memory_budget or default_budget(workers)
        plan = plan_chunks(runs, options, budget)  # an impossible budget fails before any write
        if shard is not None:
            lock, tag = shard.lock, shard.tag
        else:
            lock = ".lock" if cluster.is_leader else f".lock-p{cluster.process_id}"
            tag = f"p{cluster.process_id}"
        with locks.folder_lock(out, lock):
            if shard is not None:  # the shared lock only while the folder is checked
                with locks.folder_lock(out, ".lock", wait_s=600):
                    done = _prepare_folder(out, spec, spec_hash, len(runs), plan, False,
                                           backend)
                share = shard_slice(plan, shard)
            elif cluster.is_leader:
                busy = locks.held_locks(out, ".lock-s*")
                if busy:  # it would train the chunks those shards are training
                    raise store.ResultsError(f"{out}: shards are training into this folder "
                                             f"({', '.join(busy)}); wait for them")
                done = _prepare_folder(out, spec, spec_hash, len(runs), plan, restart, backend)
                if restart:
                    clear_records(out)
                share = cluster.share(len(plan))
            else:
                if restart:
                    raise store.ResultsError("--restart is only for process 0 of a multi-host "
                                             "sweep (it clears the folder before the others "
                                             "read)")
                wait_for(lambda: (out / "manifest.json").is_file()
                         and store.read_manifest(out).get("spec_hash") == spec_hash,
                         f"process 0 to prepare {out}", timeout_s=600)
                done = store.done_run_ids(out)
                share = cluster.share(len(plan))
            mine = _interleave_groups(plan, [i for i in share if any(
                r["run_id"] not in done for r in plan[i].runs)])
            todo = [r for i in mine for r in plan[i].runs if r["run_id"] not in done]
            groups = {plan[i].static for i in mine}
            total_steps = sum(r["steps"] for r in todo)
            progress = _Progress(total_steps, len(todo),
                                 f"{spec.name}: {len(todo)} runs, {len(groups)} groups", quiet)
            enable_compile_cache()
            job = Job(sweep=spec.name, spec_hash=spec_hash, out=str(out), done=frozenset(done),
                      rule=rule, checkpoints=spec.checkpoints, options=options, tag=tag)
            work = Work(job=job, plan=plan, chunks=mine, runs=tuple(runs), plugins=spec.plugins,
                        budget=budget, x64=x64, workers=min(workers, len(mine)) or 1)
            live = LiveReport(out, options.report_seconds,
                              enabled=report and cluster.is_leader and shard is None)

            def chunk_done(c: ChunkDone) -> None:
                progress.chunk(c)
                live.chunk_done()  # now and then: the page of the rows written so far

            try:
                trained = backend.train(work, progress.steps, chunk_done)
            finally:
                progress.close()
            if cluster.is_leader and cluster.num_processes > 1:
                want = {r["run_id"] for r in runs}
                wait_for(lambda: want <= store.done_run_ids(out),
                         f"the other {cluster.num_processes - 1} processes to finish their "
                         "chunks", timeout_s=wait_timeout_s)
            wall_s = time.perf_counter() - t0
            result = SweepReport(
                spec.name, out, len(runs), len(done), len(todo), len(groups), len(mine),
                trained.programs, progress.diverged, trained.workers,
                max((plan[i].size for i in mine), default=0), wall_s, trained.compile_s,
                total_steps, options.backend, trained.startup_s)
            if shard is not None:
                write_record(out, shard, spec_hash, share, sum(len(plan[i].runs)
                                                               for i in share), len(todo), wall_s)
                if {r["run_id"] for r in runs} <= store.done_run_ids(out):
                    with locks.folder_lock(out, ".lock", wait_s=600):  # the last shard reports
                        _finish(out, spec, spec_hash, len(runs), result, report)
            elif cluster.is_leader:  # still under the lock: no --restart mid-report
                _finish(out, spec, spec_hash, len(runs), result, report)
    finally:
        backend.close()
    if not quiet:
        print(result.line(), file=sys.stderr)
    return result


def _finish(out: Path, spec: SweepSpec, spec_hash: str, n_runs: int, result: SweepReport,
            report: bool) -> None:
    """The manifest's last_run numbers, and the report."""
    manifest = manifest_for(spec, spec_hash, n_runs, spec.phases)
    manifest["last_run"] = {**dataclasses.asdict(result), "out": str(out),
                            "model_steps_per_s": result.model_steps_per_s}
    store.write_manifest(out, manifest)
    if report:
        from grokjax.report import write_report

        write_report(out)


@contextlib.contextmanager
def x64_for(runs: list[dict[str, Any]]):
    """x64 on while float64 runs are planned, trained and reported (their arrays must not be
    truncated to float32); the caller's setting is restored afterwards, because x64 changes
    jax.numpy's default dtypes for the whole process."""
    before = bool(jax.config.read("jax_enable_x64"))
    if any(r["dtype"] == "float64" for r in runs):
        jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", before)


def estimate_runs(spec: SweepSpec, options: EngineOptions | None = None) -> dict[str, int]:
    opts = options or spec.engine
    runs = spec.runs()
    with x64_for(runs):
        plan = plan_chunks(runs, opts)
    return {"runs": len(runs), "groups": len({c.static for c in plan}), "chunks": len(plan),
            "model_steps": sum(r["steps"] for r in runs),
            "chunk_size": max(c.size for c in plan), "workers": resolved_workers(opts)}
