"""Training chunks of runs and turning them into rows: sharding over local devices, compile
accounting, and the loop that trains a list of chunks and writes parts.

This is what one process does, whether it is the only one or one of several workers or hosts.
The programs themselves are assembled in ``grokjax.train`` (the only assembly of a run).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from grokjax import phases, store
from grokjax.checkpoints import save_params
from grokjax.options import CheckpointOptions, EngineOptions
from grokjax.plan import Chunk
from grokjax.rows import ChunkResult, build_rows
from grokjax.static import HParams, Static
from grokjax.train import programs


def enable_compile_cache() -> str | None:
    """JAX's persistent compilation cache, so a resumed sweep, a second worker reaching a group
    another worker compiled, or the next sweep of the same shapes loads programs instead of
    compiling them.  GROKJAX_CACHE_DIR sets the folder (default ~/.cache/grokjax/jax); "off"
    disables it."""
    folder = os.environ.get("GROKJAX_CACHE_DIR",
                            os.path.join(os.path.expanduser("~"), ".cache", "grokjax", "jax"))
    if folder.lower() in ("", "off", "0", "none"):
        return None
    if jax.config.jax_compilation_cache_dir is None:
        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return folder


def _segment_blocks(static: Static, segment_steps: int) -> int:
    """Largest divisor of the run's block count that fits in ``segment_steps`` steps, so every
    segment has the same length and compiles once."""
    total = static.steps // static.log_every
    target = max(1, segment_steps // static.log_every)
    return max(d for d in range(1, min(total, target) + 1) if total % d == 0)


def _mesh() -> Mesh | None:
    devices = jax.local_devices()
    return Mesh(np.array(devices), ("runs",)) if len(devices) > 1 else None


def train_chunk(static: Static, configs: Sequence[Mapping[str, Any]], *, size: int | None = None,
                segment_steps: int = 5000, on_segment: Callable[[int], None] | None = None,
                snapshots: int = 0, snapshot_runs: Sequence[bool] | None = None,
                shared_data: bool | None = None) -> ChunkResult:
    """Train runs of one group together.

    ``size`` pads the chunk (repeating the last run) so every chunk of a group has the same
    shape and the group compiles once; padded rows are dropped.  With several local devices
    the run axis is sharded over a 1-D mesh (padded to a multiple of the device count).
    ``snapshots`` evenly spaced parameter snapshots of the runs in ``snapshot_runs`` are taken
    at segment boundaries.  ``shared_data`` (default: whether the chunk's runs share one data
    seed) passes one data set unbatched to every run.
    """
    static.check_precision()
    n_real = len(configs)
    mesh = _mesh()
    size = size or n_real
    if mesh is not None:
        size = -(-size // mesh.size) * mesh.size
    padded = list(configs) + [configs[-1]] * (size - n_real)
    hp = HParams.from_configs(padded, static.dtype)
    shared = (len({c["data_seed"] for c in padded}) == 1 if shared_data is None
              else shared_data)
    if snapshots > 1:  # segment boundaries are where snapshots can be taken
        segment_steps = min(segment_steps, max(static.log_every,
                                               static.steps // (snapshots - 1)))
    n_blocks = _segment_blocks(static, segment_steps)
    n_segments = static.steps // static.log_every // n_blocks
    keep_at = set(np.round(np.linspace(0, n_segments, min(snapshots, n_segments + 1))).astype(
        int).tolist()) if snapshots else set()
    pick = np.flatnonzero(np.asarray(snapshot_runs if snapshot_runs is not None
                                     else [True] * n_real))
    snaps: dict[int, Any] = {}

    def snapshot(k: int, state) -> None:
        if k in keep_at and len(pick):
            snaps[k * n_blocks * static.log_every] = (pick, jax.tree.map(
                lambda x: np.asarray(x)[pick], state.params))

    single = size == 1  # one run: a plain program, no vmap (see train.programs)
    shared = shared or single
    prog = programs(static, shared, n_blocks, batched=not single)
    seeds = np.array([c["data_seed"] for c in padded], np.uint32)
    seeds = seeds[0] if shared else seeds
    if mesh is not None:
        runs = NamedSharding(mesh, PartitionSpec("runs"))
        hp = jax.device_put(hp, runs)
        seeds = jax.device_put(seeds, NamedSharding(mesh, PartitionSpec()) if shared else runs)
    data, state, m0 = prog.start(hp, seeds)
    snapshot(0, state)
    chunks = [jax.tree.map(lambda x: np.asarray(x)[:, None], m0)]
    for k in range(1, n_segments + 1):
        state, m = prog.segment(hp, data, state)
        chunks.append(jax.tree.map(np.asarray, m))
        snapshot(k, state)
        if on_segment is not None:
            on_segment(n_real * n_blocks * static.log_every)
    curves = {k: np.concatenate([c[k] for c in chunks], axis=1)[:n_real] for k in chunks[0]}
    task = static.components.task
    columns = task.run_columns(static, state.params, n_real) if task.run_columns else {}
    return ChunkResult(curves=curves, diverged=~np.asarray(state.alive)[:n_real],
                       nan_step=np.asarray(state.nan_step)[:n_real], columns=columns,
                       params=jax.tree.map(lambda x: np.asarray(x)[:n_real], state.params),
                       snapshots=snaps, vmap_width=size,
                       n_devices=mesh.size if mesh is not None else 1)


class CompileStats:
    """Counts the engine's own compilations (functions named gj_*) and their time, from JAX's
    monitoring events: tracing, lowering and backend compilation."""

    events = ("/jax/core/compile/jaxpr_trace_duration",
              "/jax/core/compile/jaxpr_to_mlir_module_duration",
              "/jax/core/compile/backend_compile_duration")

    def __init__(self):
        self.programs = 0
        self.seconds = 0.0
        jax.monitoring.register_event_duration_secs_listener(self._on_event)

    def _on_event(self, event: str, duration: float, **kw) -> None:
        if event in self.events and "gj_" in str(kw.get("fun_name", "")):
            self.seconds += duration
            self.programs += event == self.events[-1]


COMPILES = CompileStats()


@dataclasses.dataclass(frozen=True)
class Job:
    """What a process needs to train chunks of a sweep and write their rows."""

    sweep: str
    spec_hash: str
    out: str
    done: frozenset[str]
    rule: phases.Rule
    checkpoints: CheckpointOptions
    options: EngineOptions
    tag: str


@dataclasses.dataclass(frozen=True)
class ChunkDone:
    """Sent from the training loop to whoever shows progress."""

    index: int
    n_trained: int
    n_diverged: int


@dataclasses.dataclass(frozen=True)
class TrainedChunk:
    """One chunk's new rows and the parameters to store with them: what a worker, a Ray actor
    or this process hands to the ``PartWriter``."""

    index: int
    rows: pd.DataFrame
    params: dict[str, dict[int, Any]]  # run_id -> step -> parameters (numpy)
    done: ChunkDone


@dataclasses.dataclass(frozen=True)
class Work:
    """What a backend trains: the job, the sweep's plan and the indices of its chunks to train
    (plus what a separate process needs to recompute that plan: runs, plugins, budget, x64)."""

    job: Job
    plan: Sequence[Chunk]
    chunks: Sequence[int]
    runs: tuple
    plugins: tuple[str, ...]
    budget: int
    x64: bool
    workers: int


@dataclasses.dataclass
class Trained:
    """What a backend reports back: programs compiled and their seconds, processes used."""

    programs: int = 0
    compile_s: float = 0.0
    workers: int = 1
    startup_s: float = 0.0



def _params_to_save(chunk: Chunk, keep: np.ndarray, result: ChunkResult,
                    ckpt: CheckpointOptions) -> dict[str, dict[int, Any]]:
    """Final parameters and snapshots of the chunk's new runs, by run id."""
    out: dict[str, dict[int, Any]] = {}
    for i in keep:
        by_step: dict[int, dict] = {}
        for step, (pick, params) in result.snapshots.items():
            j = np.flatnonzero(pick == i)
            if len(j):
                by_step[step] = jax.tree.map(lambda v, j=j: v[j[0]], params)
        if ckpt.final:
            by_step[chunk.static.steps] = jax.tree.map(lambda v, i=i: v[i], result.params)
        if by_step:
            out[chunk.runs[i]["run_id"]] = by_step
    return out


def train_rows(job: Job, chunk: Chunk, on_steps: Callable[[float], None] = lambda n: None
               ) -> TrainedChunk | None:
    """Train one chunk (skipping runs in ``job.done``) into rows; None if nothing is missing.
    Pure with respect to the results folder: nothing is written here."""
    missing = [c["run_id"] not in job.done for c in chunk.runs]
    if not any(missing):
        return None
    ckpt, opts = job.checkpoints, job.options
    share = sum(missing) / len(chunk.runs)  # progress counts only runs not yet on disk
    snap_runs = [ckpt.selects(c) for c in chunk.runs]
    t0 = time.perf_counter()
    result = train_chunk(chunk.static, chunk.runs, size=chunk.size,
                         segment_steps=opts.segment_steps,
                         on_segment=lambda n: on_steps(n * share),
                         snapshots=ckpt.snapshots if any(snap_runs) else 0,
                         snapshot_runs=snap_runs, shared_data=chunk.shared_data)
    wall = time.perf_counter() - t0
    keep = np.flatnonzero(missing)
    rows = build_rows(job.sweep, job.spec_hash, chunk.static, [chunk.runs[i] for i in keep],
                      result.take(keep), wall * len(keep) / len(chunk.runs), job.rule)
    return TrainedChunk(chunk.index, rows, _params_to_save(chunk, keep, result, ckpt),
                        ChunkDone(chunk.index, len(keep), int(rows["diverged"].sum())))


class PartWriter:
    """Buffers trained chunks and writes them as atomic Parquet parts of ``out``.

    A chunk's parameters are saved before its rows are buffered (the row is the commit point);
    rows are flushed every ``flush_rows`` rows or ``flush_seconds``, and on ``close``.  A
    process killed in between loses only its unflushed chunks, which a re-run trains again.
    Each chunk index is written at most once (a retried chunk's second result is dropped).
    A clean ``close`` merges the parts this writer wrote into one part (``merge_parts``: a
    folder of many small parts loads slowly); killed mid-merge, a run's row is on disk twice,
    identical, and ``store.load_results`` keeps one.
    """

    def __init__(self, out: str | Path, tag: str, options: EngineOptions):
        self.out, self.tag, self.options = Path(out), tag, options
        self.buffer: list[pd.DataFrame] = []
        self.written: set[int] = set()
        self.unsaved = 0  # runs of the chunk being saved (trained, not yet in the buffer)
        self.last_flush = time.perf_counter()
        self.parts: list[Path] = []  # written by this writer (merged on a clean close)

    def add(self, trained: TrainedChunk) -> bool:
        """Save and buffer one chunk; False (and nothing written) if it was written before."""
        if trained.index in self.written:
            return False
        self.unsaved = len(trained.rows)
        for run_id, by_step in trained.params.items():
            save_params(self.out, run_id, by_step)
        self.buffer.append(trained.rows)
        self.written.add(trained.index)
        self.unsaved = 0
        if (sum(len(b) for b in self.buffer) >= self.options.flush_rows
                or time.perf_counter() - self.last_flush >= self.options.flush_seconds):
            self.flush()
        return True

    def flush(self) -> None:
        if self.buffer:
            self.parts.append(store.write_part(self.out, pd.concat(self.buffer,
                                                                   ignore_index=True),
                                               tag=self.tag))
            self.buffer.clear()
        self.last_flush = time.perf_counter()

    def close(self, error: store.ResultsError | None = None) -> None:
        """Flush what is buffered (whole chunks: kept even when interrupted); raise a
        ``WriteError`` counting the lost runs if writing failed (``error``) or fails now."""
        try:
            self.flush()
            if error is None and self.options.merge_parts and len(self.parts) > 1:
                self.parts = [store.merge_parts(self.out, self.parts, tag=self.tag)]
        except store.ResultsError as e:
            error = error or e
        if error is not None:
            lost = self.unsaved + sum(len(b) for b in self.buffer)
            raise store.WriteError(
                f"{error}; {lost} trained run{'' if lost == 1 else 's'} could not be written "
                "(rows already written are kept; running the sweep again trains the lost runs "
                "again)") from None


def execute_chunks(job: Job, chunks: Iterable[Chunk], *,
                   on_steps: Callable[[float], None] = lambda n: None,
                   on_chunk: Callable[[ChunkDone], None] = lambda c: None) -> None:
    """Train ``chunks`` (skipping runs in ``job.done``) and write their rows as part files."""
    writer = PartWriter(job.out, job.tag, job.options)
    error: store.ResultsError | None = None
    try:
        for chunk in chunks:
            trained = train_rows(job, chunk, on_steps)
            if trained is not None:
                writer.add(trained)
                on_chunk(trained.done)
    except store.ResultsError as e:  # e.g. the disk is full: still try to keep the buffer
        error = e
    finally:
        writer.close(error)
