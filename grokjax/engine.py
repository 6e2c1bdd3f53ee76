"""The sweep engine: group runs by static shape, chunk, train vmapped chunks, write rows.

The host loop drives chunks of runs and segments of steps; between them (never inside jit) it
updates progress, writes Parquet parts and records what is done, so an interrupted sweep
resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from grokjax import phases, problem, store
from grokjax.config import SETTINGS, STATIC, SpecError, SweepSpec
from grokjax.static import Static
from grokjax.summary import NULLABLE_INT, summarize
from grokjax.train import METRICS, HParams, metrics_of, init_state, run_segment

# ---------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    """How a sweep is executed (never what it computes: results do not depend on these).

    chunk_size: runs vmapped together (None: per backend -- small on CPU where activations
      must stay in cache, wide on GPU/TPU).
    bucket_train_size: group runs by exact train size (no padded rows, one program per size)
      instead of padding every run of a group to the group's largest train set.
    segment_steps: steps per compiled call; the host reports progress between calls.
    flush_rows / flush_seconds: write a Parquet part when this many rows are buffered or this
      long has passed since the last write.
    """

    chunk_size: int | None = None
    bucket_train_size: bool = True
    segment_steps: int = 5000
    flush_rows: int = 512
    flush_seconds: float = 60.0

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], source: str = "<engine>"
                     ) -> EngineOptions:
        kinds = {"chunk_size": int, "bucket_train_size": bool, "segment_steps": int,
                 "flush_rows": int, "flush_seconds": float}
        kw = {}
        for key, value in options.items():
            where = f"[engine] {key}"
            if key not in kinds:
                raise SpecError(source, where, "unknown key; allowed: " + ", ".join(kinds))
            want = kinds[key]
            ok = isinstance(value, want) and not (want is not bool and isinstance(value, bool))
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                ok, value = True, float(value)
            if not ok:
                raise SpecError(source, where, f"{value!r}: allowed: "
                                f"{'true or false' if want is bool else want.__name__}")
            if want is not bool and value <= 0:
                raise SpecError(source, where, f"{value!r}: allowed: a number > 0")
            kw[key] = value
        return cls(**kw)

    def resolved_chunk(self) -> int:
        if self.chunk_size:
            return self.chunk_size
        return 4 if jax.default_backend() == "cpu" else 1024


# ---------------------------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------------------------


def group_runs(runs: Sequence[Mapping[str, Any]], bucket_train_size: bool = True
               ) -> dict[Static, list[dict]]:
    """Runs by static configuration.  ``train_pad`` is the longest train set in the group."""
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for r in runs:
        key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(r.items())
                    if k in SETTINGS and SETTINGS[k].role == STATIC)
        if bucket_train_size:
            key += (("train_size", r["train_size"]),)
        by_key[key].append(dict(r))
    groups = {}
    for members in by_key.values():
        pad = max(r["train_size"] for r in members)
        # Sort by data seed so chunks can share one data set (passed unbatched to vmap).
        members.sort(key=lambda r: r["data_seed"])
        groups[Static.from_config(members[0], train_pad=pad)] = members
    return groups


# ---------------------------------------------------------------------------------------------
# Compiled programs (one set per static configuration)
# ---------------------------------------------------------------------------------------------


@functools.cache
def _programs(static: Static, shared_data: bool, n_blocks: int):
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

    return (jax.jit(gj_data),
            jax.jit(jax.vmap(gj_start, in_axes=(0, d_axis))),
            jax.jit(jax.vmap(gj_segment, in_axes=(0, d_axis, 0)), donate_argnums=2))


def _segment_blocks(static: Static, segment_steps: int) -> int:
    """Largest divisor of the run's block count that fits in ``segment_steps`` steps, so every
    segment has the same length and compiles once."""
    total = static.steps // static.log_every
    target = max(1, segment_steps // static.log_every)
    return max(d for d in range(1, min(total, target) + 1) if total % d == 0)


def train_chunk(static: Static, configs: Sequence[Mapping[str, Any]], *, size: int | None = None,
                segment_steps: int = 5000, on_segment=None) -> tuple[dict[str, np.ndarray],
                                                                     dict[str, np.ndarray]]:
    """Train runs of one group together.  Returns (curves name -> R x L, final diverged info).

    ``size`` pads the chunk (repeating the last run) so every chunk of a group has the same
    shape and the group compiles once; padded rows are dropped.
    """
    static.check_precision()
    n_real = len(configs)
    padded = list(configs) + [configs[-1]] * ((size or n_real) - n_real)
    hp = HParams.from_configs(padded, static.dtype)
    shared = len({c["data_seed"] for c in padded}) == 1
    n_blocks = _segment_blocks(static, segment_steps)
    make, start, segment = _programs(static, shared, n_blocks)
    seeds = np.array([c["data_seed"] for c in padded], np.uint32)
    data = make(seeds[0] if shared else seeds)
    state, m0 = start(hp, data)
    chunks = [jax.tree.map(lambda x: np.asarray(x)[:, None], m0)]
    for _ in range(static.steps // static.log_every // n_blocks):
        state, m = segment(hp, data, state)
        chunks.append(jax.tree.map(np.asarray, m))
        if on_segment is not None:
            on_segment(n_real * n_blocks * static.log_every)
    curves = {k: np.concatenate([c[k] for c in chunks], axis=1)[:n_real] for k in METRICS}
    info = {"diverged": ~np.asarray(state.alive)[:n_real],
            "nan_step": np.asarray(state.nan_step)[:n_real]}
    return curves, info


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------


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
    steps_L = np.arange(static.n_logs, dtype=np.int64) * static.log_every
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
    for k in METRICS:
        cols[k] = list(curves[k].astype(np.float32))
    for k, v in provenance().items():
        cols[k] = [v] * n
    cols["wall_time_s"] = [wall_s / n] * n
    cols["created_at"] = [dt.datetime.now(dt.UTC).isoformat(timespec="seconds")] * n
    return phases.classify_frame(pd.DataFrame(cols), rule)


def group_id(static: Static) -> str:
    from grokjax.config import _hash

    return _hash(dataclasses.asdict(static), 8)


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class SweepReport:
    name: str
    out: Path
    n_runs: int
    n_done_before: int
    n_trained: int
    n_groups: int
    n_programs: int
    n_diverged: int
    wall_s: float
    compile_s: float
    model_steps: int

    @property
    def model_steps_per_s(self) -> float:
        return self.model_steps / self.wall_s if self.wall_s > 0 else 0.0

    def line(self) -> str:
        return (f"{self.name}: {self.n_runs} runs ({self.n_done_before} already done, "
                f"{self.n_trained} trained) in {self.n_groups} compiled groups, "
                f"{self.n_programs} programs compiled ({self.compile_s:.1f} s); "
                f"{self.wall_s:.1f} s, "
                f"{self.model_steps_per_s:,.0f} model-steps/s, {self.n_diverged} diverged "
                f"-> {self.out}")


def manifest_for(spec: SweepSpec, spec_hash: str, n_runs: int, rule) -> dict[str, Any]:
    return {
        "sweep": spec.name, "source": spec.source, "description": spec.description,
        "spec": spec.raw, "spec_hash": spec_hash, "n_runs": n_runs, "task": spec.task,
        "fixed": spec.fixed, "grid": spec.grid, "varying": spec.varying,
        "phase_rule": rule.name, "phase_params": rule.params(), **provenance(),
    }


def _check_existing(out: Path, spec_hash: str, restart: bool) -> None:
    if restart:
        store.clear_runs(out)
        return
    mpath = out / "manifest.json"
    if mpath.is_file():
        old = store.read_manifest(out).get("spec_hash")
        if old != spec_hash and store.part_files(out):
            raise store.ResultsError(
                f"{out}: holds results of a different sweep spec (spec_hash {old}, this spec "
                f"{spec_hash}); nothing was changed. Re-run with --restart to discard them, or "
                "write elsewhere with --out")
    elif store.part_files(out):
        raise store.ResultsError(f"{out}: has part files but no manifest.json; refusing to mix "
                                 "rows. Use --restart to discard them, or another --out")


def run_sweep(spec: SweepSpec, out: str | Path | None = None, *,
              options: EngineOptions | None = None, restart: bool = False,
              quiet: bool = False, report: bool = True) -> SweepReport:
    """Train every run of ``spec`` not yet on disk in ``out`` (default results/NAME)."""
    options = options or EngineOptions.from_mapping(spec.engine, spec.source)
    rule = phases.rule_from_options(spec.phases, source=spec.source)
    out = Path(out) if out is not None else Path("results") / spec.name
    runs = spec.runs()
    spec_hash = spec.spec_hash()
    t0 = time.perf_counter()
    with store.folder_lock(out):
        _check_existing(out, spec_hash, restart)
        store.write_manifest(out, manifest_for(spec, spec_hash, len(runs), rule))
        done = store.done_run_ids(out)
        todo = [r for r in runs if r["run_id"] not in done]
        if any(r["dtype"] == "float64" for r in todo):
            jax.config.update("jax_enable_x64", True)
        groups = group_runs(todo, options.bucket_train_size)
        total_steps = sum(r["steps"] for r in todo)
        bar = _progress(total_steps, quiet, spec.name, len(todo), len(groups))
        chunk = options.resolved_chunk()
        programs_before, compile_before = COMPILES.programs, COMPILES.seconds
        buffer: list[pd.DataFrame] = []
        last_flush = time.perf_counter()
        n_div = 0

        def flush():
            nonlocal last_flush
            if buffer:
                store.write_part(out, pd.concat(buffer, ignore_index=True),
                                 tag=f"p{jax.process_index()}")
                buffer.clear()
            last_flush = time.perf_counter()

        for static, members in groups.items():
            size = min(chunk, len(members))
            for i in range(0, len(members), size):
                configs = members[i:i + size]
                tc = time.perf_counter()
                curves, info = train_chunk(static, configs, size=size,
                                           segment_steps=options.segment_steps,
                                           on_segment=bar.update)
                wall = time.perf_counter() - tc
                buffer.append(build_rows(spec, spec_hash, static, configs, curves, info, wall,
                                         rule))
                n_div += int(info["diverged"].sum())
                bar.set_postfix_str(f"diverged {n_div}", refresh=False)
                if (sum(len(b) for b in buffer) >= options.flush_rows
                        or time.perf_counter() - last_flush >= options.flush_seconds):
                    flush()
        flush()
        bar.close()
        wall_s = time.perf_counter() - t0
        result = SweepReport(spec.name, out, len(runs), len(done), len(todo), len(groups),
                             COMPILES.programs - programs_before, n_div, wall_s,
                             COMPILES.seconds - compile_before, total_steps)
        manifest = manifest_for(spec, spec_hash, len(runs), rule)
        manifest["last_run"] = {**dataclasses.asdict(result), "out": str(out),
                                "model_steps_per_s": result.model_steps_per_s}
        store.write_manifest(out, manifest)
    if report:
        from grokjax.report import write_report

        write_report(out)
    if not quiet:
        print(result.line(), file=sys.stderr)
    return result


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


def _progress(total: int, quiet: bool, name: str, n_runs: int, n_groups: int):
    from tqdm.auto import tqdm

    disable = quiet or os.environ.get("GROKJAX_QUIET") == "1"
    return tqdm(total=total, unit="step", unit_scale=True, disable=disable, dynamic_ncols=True,
                desc=f"{name}: {n_runs} runs, {n_groups} groups", smoothing=0.1,
                mininterval=0.5)


def estimate_runs(spec: SweepSpec) -> dict[str, int]:
    runs = spec.runs()
    groups = group_runs(runs, EngineOptions.from_mapping(spec.engine).bucket_train_size)
    return {"runs": len(runs), "groups": len(groups),
            "model_steps": sum(r["steps"] for r in runs),
            "max_group": max(len(v) for v in groups.values()),
            "chunks": sum(math.ceil(len(v) / EngineOptions().resolved_chunk())
                          for v in groups.values())}
