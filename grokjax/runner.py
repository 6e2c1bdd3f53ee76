"""Training chunks of runs and turning them into rows: the compiled programs, sharding over
local devices, compile accounting, and the loop that trains a list of chunks and writes parts.

This is what one process does, whether it is the only one or one of several workers or hosts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from grokjax import phases, problem, store
from grokjax.analysis.fourier import dft_basis, input_side_weights, key_frequencies_by_norm
from grokjax.analysis.progress import KEY_FRACTION
from grokjax.checkpoints import CheckpointOptions, save_params
from grokjax.config import SETTINGS, SweepSpec
from grokjax.plan import Chunk
from grokjax.static import Static
from grokjax.summary import NULLABLE_INT, summarize
from grokjax.train import HParams, init_state, metrics_of, run_segment

# Compiled programs (one set per static configuration)


def enable_compile_cache() -> str | None:
    """JAX's persistent compilation cache, so a resumed sweep, a second worker reaching a group
    another worker compiled, or the next sweep of the same shapes loads programs instead of
    compiling them (measured: 6.1 s -> 0.65 s for a parity group).  GROKJAX_CACHE_DIR sets the
    folder (default ~/.cache/grokjax/jax); "off" disables it."""
    folder = os.environ.get("GROKJAX_CACHE_DIR",
                            os.path.join(os.path.expanduser("~"), ".cache", "grokjax", "jax"))
    if folder.lower() in ("", "off", "0", "none"):
        return None
    if jax.config.jax_compilation_cache_dir is None:
        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return folder



@functools.cache
def _programs(static: Static, shared_data: bool, n_blocks: int, batched: bool = True):
    """(data, start, segment) programs.  ``batched=False`` compiles one run without vmap and
    wraps it to keep the leading run axis: on CPU a plain single-run program is ~1.8x faster
    than the same run under vmap with a batch of 1 (parity H=64: 8,960 vs 5,070 model-steps/s
    on one core), and as fast as any vmap width (20,560 vs 20,580 / 19,440 at width 4 / 8 for
    H=16)."""
    d_axis = None if shared_data else 0

    # The gj_ names let CompileStats tell the engine's programs from incidental ones.
    def gj_data(seeds):
        return (problem.make_data(static, seeds) if shared_data
                else jax.vmap(lambda s: problem.make_data(static, s))(seeds))

    def gj_start(hp, data):
        state = init_state(static, hp, data)
        return state, metrics_of(static, hp, data, state)

    def gj_segment(hp, data, state):
        return run_segment(static, hp, data, state, n_blocks)

    if not batched:
        start1 = jax.jit(gj_start)
        segment1 = jax.jit(gj_segment, donate_argnums=2)

        def one(tree):
            return jax.tree.map(lambda x: x[0], tree)

        def run_axis(tree):
            return jax.tree.map(lambda x: x[None], tree)

        return (jax.jit(gj_data),
                lambda hp, data: run_axis(start1(one(hp), data)),
                lambda hp, data, state: run_axis(segment1(one(hp), data, one(state))))
    return (jax.jit(gj_data),
            jax.jit(jax.vmap(gj_start, in_axes=(0, d_axis))),
            jax.jit(jax.vmap(gj_segment, in_axes=(0, d_axis, 0)), donate_argnums=2))


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
                shared_data: bool | None = None
                ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Train runs of one group together.  Returns (curves name -> R x L, info).

    ``size`` pads the chunk (repeating the last run) so every chunk of a group has the same
    shape and the group compiles once; padded rows are dropped.  With several local devices
    the run axis is sharded over a 1-D mesh (padded to a multiple of the device count).
    info: ``diverged``, ``nan_step``, ``key_freqs``, ``params`` (final, R leading) and
    ``snapshots`` ({step: params of the runs in ``snapshot_runs``}, taken at segment
    boundaries, ``snapshots`` evenly spaced steps).  ``shared_data`` (default: whether the
    chunk's runs share one data seed) passes one data set unbatched to every run.
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
            snaps[k * n_blocks * static.log_every] = jax.tree.map(
                lambda x: np.asarray(x)[pick], state.params)

    single = size == 1  # one run: a plain program, no vmap (see _programs)
    shared = shared or single
    make, start, segment = _programs(static, shared, n_blocks, batched=not single)
    seeds = np.array([c["data_seed"] for c in padded], np.uint32)
    data = make(seeds[0] if shared else seeds)
    if mesh is not None:
        runs = NamedSharding(mesh, PartitionSpec("runs"))
        hp = jax.device_put(hp, runs)
        data = jax.device_put(data, NamedSharding(mesh, PartitionSpec()) if shared else runs)
    state, m0 = start(hp, data)
    snapshot(0, state)
    chunks = [jax.tree.map(lambda x: np.asarray(x)[:, None], m0)]
    for k in range(1, n_segments + 1):
        state, m = segment(hp, data, state)
        chunks.append(jax.tree.map(np.asarray, m))
        snapshot(k, state)
        if on_segment is not None:
            on_segment(n_real * n_blocks * static.log_every)
    curves = {k: np.concatenate([c[k] for c in chunks], axis=1)[:n_real] for k in chunks[0]}
    info = {"diverged": ~np.asarray(state.alive)[:n_real],
            "nan_step": np.asarray(state.nan_step)[:n_real],
            "key_freqs": _key_freqs(static, state.params, n_real),
            "params": jax.tree.map(lambda x: np.asarray(x)[:n_real], state.params),
            "snapshots": {step: (pick, p) for step, p in snaps.items()}}
    return curves, info


@functools.cache
def _key_mask_program(static: Static):
    # gj_ name: counted with the engine's programs.
    f_PxP = dft_basis(static.p, static.jnp_dtype)

    def gj_key_freqs(params):
        return key_frequencies_by_norm(input_side_weights(params, static), f_PxP, KEY_FRACTION)

    return jax.jit(jax.vmap(gj_key_freqs))


def _key_freqs(static: Static, params: dict, n: int) -> list[np.ndarray]:
    """Final input-side key frequencies of each run (the scale-free norm-fraction rule of
    grokjax.analysis); empty for parity tasks and even p."""
    if static.task != "modular" or static.p % 2 == 0:
        return [np.zeros(0, np.int64)] * n
    mask_RxK = np.asarray(_key_mask_program(static)(params))[:n]
    return [np.flatnonzero(m).astype(np.int64) + 1 for m in mask_RxK]


# Rows


@functools.cache
def provenance() -> dict[str, str]:
    import grokjax

    commit = "unknown"
    with_git = Path(grokjax.__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(with_git), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            commit = out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    dev = jax.devices()[0]
    return {"grokjax_version": grokjax.__version__, "git_commit": commit,
            "jax_version": jax.__version__, "backend": jax.default_backend(),
            "device_kind": dev.device_kind}


def build_rows(spec: SweepSpec, spec_hash: str, static: Static, configs: Sequence[Mapping],
               curves: dict[str, np.ndarray], info: dict[str, np.ndarray], wall_s: float,
               rule) -> pd.DataFrame:
    """One row per run: identity, configuration, summary, phase, curves, provenance."""
    n = len(configs)
    steps_L = np.arange(static.n_logs, dtype=np.int64) * static.log_every  # logged steps
    cols: dict[str, Any] = {
        "sweep": [spec.name] * n, "run_id": [c["run_id"] for c in configs],
        "spec_hash": [spec_hash] * n, "group": [group_id(static)] * n}
    for name, s in SETTINGS.items():
        values = [c.get(name) for c in configs]
        # Nullable dtypes: a setting another task uses is null here, and stays typed on disk.
        cols[name] = (pd.array(values, dtype="Int64") if s.type is int else
                      pd.array(values, dtype="boolean") if s.type is bool else values)
    for k, v in summarize(curves, steps_L).items():
        cols[k] = pd.array(v, dtype="Int64") if k in NULLABLE_INT else v
    cols["diverged"] = info["diverged"]
    nan_step = np.where(info["diverged"], info["nan_step"], np.nan)
    cols["nan_step"] = pd.array(nan_step, dtype="Int64")
    cols["step"] = [steps_L] * n
    cols["key_freqs"] = list(info["key_freqs"])
    for k, curve_RxL in curves.items():
        cols[k] = list(curve_RxL.astype(np.float32))
    for k, v in provenance().items():
        cols[k] = [v] * n
    cols["wall_time_s"] = [wall_s / n] * n
    cols["created_at"] = [dt.datetime.now(dt.UTC).isoformat(timespec="seconds")] * n
    return phases.classify_frame(pd.DataFrame(cols), rule)


def group_id(static: Static) -> str:
    from grokjax.config import _hash

    return _hash(dataclasses.asdict(static), 8)


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


def _save_params(out: Path, chunk: Chunk, keep: np.ndarray, info: dict[str, Any],
                 ckpt: CheckpointOptions) -> None:
    """Final parameters and snapshots of the chunk's new runs (before their rows: the row is
    the commit point)."""
    for i in keep:
        by_step: dict[int, dict] = {}
        for step, (pick, params) in info["snapshots"].items():
            j = np.flatnonzero(pick == i)
            if len(j):
                by_step[step] = {k: v[j[0]] for k, v in params.items()}
        if ckpt.final:
            by_step[chunk.static.steps] = {k: v[i] for k, v in info["params"].items()}
        if by_step:
            save_params(out, chunk.runs[i]["run_id"], by_step)


@dataclasses.dataclass
class ChunkDone:
    """Sent from the training loop to whoever shows progress."""

    index: int
    n_trained: int
    n_diverged: int


def execute_chunks(spec: SweepSpec, spec_hash: str, out: Path, chunks: Sequence[Chunk],
                   done: set[str], rule, *, segment_steps: int, flush_rows: int,
                   flush_seconds: float, tag: str, checkpoints: CheckpointOptions | None = None,
                   on_steps: Callable[[float], None] = lambda n: None,
                   on_chunk: Callable[[ChunkDone], None] = lambda c: None) -> None:
    """Train ``chunks`` (skipping runs in ``done``) and write their rows as part files.

    Rows are buffered and flushed every ``flush_rows`` rows or ``flush_seconds``; a process
    killed in between loses only its unflushed chunks, which a re-run trains again.
    """
    ckpt = checkpoints or CheckpointOptions()
    buffer: list[pd.DataFrame] = []
    last_flush = time.perf_counter()

    def flush() -> None:
        nonlocal last_flush
        if buffer:
            store.write_part(out, pd.concat(buffer, ignore_index=True), tag=tag)
            buffer.clear()
        last_flush = time.perf_counter()

    def _train_one(chunk: Chunk) -> None:
        missing = [c["run_id"] not in done for c in chunk.runs]
        if not any(missing):
            return
        share = sum(missing) / len(chunk.runs)  # progress counts only runs not yet on disk
        snap_runs = [ckpt.selects(c) for c in chunk.runs]
        t0 = time.perf_counter()
        curves, info = train_chunk(chunk.static, chunk.runs, size=chunk.size,
                                   segment_steps=segment_steps,
                                   on_segment=lambda n, share=share: on_steps(n * share),
                                   snapshots=ckpt.snapshots if any(snap_runs) else 0,
                                   snapshot_runs=snap_runs, shared_data=chunk.shared_data)
        wall = time.perf_counter() - t0
        keep = np.flatnonzero(missing)
        _save_params(out, chunk, keep, info, ckpt)
        rows = build_rows(spec, spec_hash, chunk.static, [chunk.runs[i] for i in keep],
                          {k: v[keep] for k, v in curves.items()},
                          {k: info[k][keep] for k in ("diverged", "nan_step")}
                          | {"key_freqs": [info["key_freqs"][i] for i in keep]},
                          wall * len(keep) / len(chunk.runs), rule)
        buffer.append(rows)
        if (sum(len(b) for b in buffer) >= flush_rows
                or time.perf_counter() - last_flush >= flush_seconds):
            flush()
        on_chunk(ChunkDone(chunk.index, len(keep), int(rows["diverged"].sum())))

    try:
        for chunk in chunks:
            _train_one(chunk)
    finally:
        flush()  # buffered rows are whole chunks: keep them even if we are interrupted
