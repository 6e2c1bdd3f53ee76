"""Execution plan of a sweep: options, grouping by static shape, memory-bounded chunks.

The plan is cut from the whole sweep (never from what is left to do), so every run is always
trained in the same company and vmap width: a resumed sweep reproduces an uninterrupted one bit
for bit, and every worker or host can recompute the same plan from the spec alone.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from grokjax.config import SETTINGS, STATIC, SpecError
from grokjax.static import Static


class PlanError(RuntimeError):
    """The sweep cannot be executed as asked (e.g. a memory budget below one run)."""


_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 2**10, "m": 1e6, "mb": 1e6, "mib": 2**20,
          "g": 1e9, "gb": 1e9, "gib": 2**30, "t": 1e12, "tb": 1e12, "tib": 2**40}


def parse_bytes(text: str | int | float) -> int:
    """'512MiB', '2GB', '1.5e9' or a number of bytes."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(text)
    m = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"{text!r} is not a size; use e.g. 512MiB, 2GB or a number of bytes")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    """How a sweep is executed -- never what a run computes.

    chunk_size: runs vmapped together (None: per backend -- small on CPU, where activations must
      stay in cache; wide on GPU/TPU), capped by the memory budget.
    workers: processes on this host (None: one per core on CPU, each pinned to its core; 1 on
      GPU/TPU, where the chunk is sharded over the local devices instead).
    memory_budget: bytes for one chunk's arrays (None: a safe share of the device's memory).
    bucket_train_size: group runs by exact train size (no padded rows, one program per size)
      instead of padding every run of a group to the group's largest train set (None: per
      backend -- yes on CPU, where one run trains at a time and padded rows are pure waste;
      no on GPU/TPU, where compiling dominates: the 1,125-run parity grid took 159 s with
      25 size buckets and 75 s with 5 padded groups on an H100).
    segment_steps: steps per compiled call; the host reports progress between calls.
    flush_rows / flush_seconds: write a Parquet part when this many rows are buffered or this
      long has passed since the last write.
    """

    chunk_size: int | None = None
    workers: int | None = None
    memory_budget: int | None = None
    bucket_train_size: bool | None = None
    segment_steps: int = 5000
    flush_rows: int = 512
    flush_seconds: float = 60.0

    KINDS: ClassVar[dict[str, Any]] = {"chunk_size": int, "workers": int, "memory_budget": "bytes",
             "bucket_train_size": bool, "segment_steps": int, "flush_rows": int,
             "flush_seconds": float}

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], source: str = "<engine>"
                     ) -> EngineOptions:
        kw = {}
        for key, value in options.items():
            where = f"[engine] {key}"
            want = cls.KINDS.get(key)
            if want is None:
                raise SpecError(source, where, "unknown key; allowed: " + ", ".join(cls.KINDS))
            if want == "bytes":
                try:
                    value = parse_bytes(value)
                except ValueError as e:
                    raise SpecError(source, where, str(e)) from None
            elif want is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            elif not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
                allowed = "true or false" if want is bool else f"{want.__name__} > 0"
                raise SpecError(source, where, f"{value!r}: allowed: {allowed}")
            if want is not bool and value <= 0:
                raise SpecError(source, where, f"{value!r}: allowed: a number > 0")
            kw[key] = value
        return cls(**kw)

    def replace(self, **kw) -> EngineOptions:
        return dataclasses.replace(self, **{k: v for k, v in kw.items() if v is not None})


def backend() -> str:
    return jax.default_backend()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolved_workers(options: EngineOptions) -> int:
    if options.workers:
        return options.workers
    return usable_cores() if backend() == "cpu" else 1


def resolved_bucketing(options: EngineOptions) -> bool:
    if options.bucket_train_size is not None:
        return options.bucket_train_size
    return backend() == "cpu"


def default_chunk(options: EngineOptions, static: Static | None = None) -> int:
    """Runs per compiled program.  Accelerators want the run axis wide (1,024).  A CPU core is
    fastest with one plain (unvmapped) run at a time -- measured per pinned core, model-steps/s
    at width 1 / 4 / 8: parity H=16, 750 sequences 20,560 / 20,580 / 19,440; H=32, 1,000
    sequences 11,810 / 11,320 / 10,180; mod-31 24 neurons 9,510 / 9,520 / 9,270; parity H=64
    8,960 at width 1 against 8,390 for two vmapped runs -- so the engine runs one model per core
    on CPU, as design.md's pinned-process measurements suggested."""
    if options.chunk_size:
        return options.chunk_size
    return 1 if backend() == "cpu" else 1024


def default_budget(workers: int) -> int:
    """A safe share of the device's memory for one chunk (per worker on CPU)."""
    dev = jax.local_devices()[0]
    stats = dev.memory_stats() if hasattr(dev, "memory_stats") else None
    if stats and stats.get("bytes_limit"):
        return int(0.6 * stats["bytes_limit"])
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(0.25 * total / max(1, workers))


# ---------------------------------------------------------------------------------------------
# Grouping and memory
# ---------------------------------------------------------------------------------------------


def static_key(run: Mapping[str, Any]) -> tuple:
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(run.items())
                 if k in SETTINGS and SETTINGS[k].role == STATIC)


def group_runs(runs: Sequence[Mapping[str, Any]], bucket_train_size: bool = True
               ) -> dict[Static, list[dict]]:
    """Runs by static configuration.  ``train_pad`` is the longest train set in the group."""
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for r in runs:
        key = static_key(r)
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


def _nbytes(tree) -> int:
    return sum(math.prod(x.shape) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


def run_bytes(static: Static) -> int:
    """Estimated device memory of one run in a chunk: parameters, optimizer state, gradients,
    its data, activations of a training step and an evaluation, and its logged curves."""
    from grokjax import problem

    item = np.dtype(static.dtype).itemsize
    params = jax.eval_shape(lambda k: problem.init_params(static, k, jnp.ones((), static.dtype)),
                            jax.random.key(0))
    data = jax.eval_shape(lambda s: problem.make_data(static, s), jnp.uint32(0))
    state = 5 * _nbytes(params)  # params, Adam mu and nu, gradients, updates
    if static.task == "parity":
        acts = (4 * static.train_pad + 2 * static.test_size) * static.hidden * item
    else:
        pairs = data.a_P.shape[0]
        acts = (3 * static.train_pad + 2 * pairs) * (static.hidden + static.p) * item
    curves = static.n_logs * 8 * item
    return state + _nbytes(data) + acts + curves


@dataclasses.dataclass(frozen=True)
class Chunk:
    index: int
    static: Static
    runs: tuple  # run configurations (dicts)
    size: int  # padded size: every chunk of a group has one shape, so the group compiles once
    shared_data: bool  # every run of the group uses one data seed: data passed unbatched


def plan_chunks(runs: Sequence[Mapping[str, Any]], options: EngineOptions,
                budget: int | None = None) -> list[Chunk]:
    """Every chunk of the sweep, in a fixed order, each within the memory budget."""
    budget = budget or options.memory_budget or default_budget(resolved_workers(options))
    plan: list[Chunk] = []
    for static, members in group_runs(runs, resolved_bucketing(options)).items():
        want = default_chunk(options, static)
        per_run = run_bytes(static)
        fits = budget // per_run
        if fits < 1:
            raise PlanError(f"memory budget {fmt_bytes(budget)} is too small for one run of "
                            f"group '{static.short()}' (about {fmt_bytes(per_run)} per run); "
                            "raise --memory-budget")
        size = min(want, len(members), fits)
        # Runs of a chunk that share one data seed get one unbatched data set (XLA multiplies
        # one input by every run's weights).  Decided per group, so a group compiles a single
        # variant: if every data seed's block of runs divides into whole chunks, chunks are cut
        # inside the blocks and all share; otherwise data is batched for the whole group.
        blocks: dict[int, list[dict]] = defaultdict(list)
        for r in members:
            blocks[r["data_seed"]].append(r)
        shared = len(blocks) == 1 or all(len(b) % size == 0 for b in blocks.values())
        if shared:
            cuts = [b[i:i + size] for b in blocks.values() for i in range(0, len(b), size)]
        else:
            cuts = [members[i:i + size] for i in range(0, len(members), size)]
        for c in cuts:
            plan.append(Chunk(len(plan), static, tuple(c), size, shared))
    return plan
