"""Execution plan of a sweep: options, grouping by static shape, memory-bounded chunks.

The plan is cut from the whole sweep (never from what is left to do), so every run is always
trained in the same company and vmap width: a resumed sweep reproduces an uninterrupted one bit
for bit, and every worker or host can recompute the same plan from the spec alone.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grokjax import train
from grokjax.errors import PlanError
from grokjax.optim import make_optimizer
from grokjax.options import EngineOptions, fmt_bytes
from grokjax.static import HParams, Static

__all__ = ["Chunk", "EngineOptions", "PlanError", "group_runs", "plan_chunks", "run_bytes"]


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
    """Runs per compiled program.  Accelerators want the run axis wide (1,024).  A pinned CPU
    core is fastest with one plain (unvmapped) run at a time -- no vmap width beat it on any
    shape measured (docs/benchmarks.md, "Performance notes the code relies on") -- so the engine
    runs one model per core on CPU."""
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


def group_runs(runs: Sequence[Mapping[str, Any]], bucket_train_size: bool = True
               ) -> dict[Static, list[dict]]:
    """Runs by static configuration.  ``train_pad`` is the longest train set in the group."""
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for r in runs:
        key = Static.from_config(r, train_pad=1)
        by_key[(key, r["train_size"] if bucket_train_size else None)].append(dict(r))
    groups = {}
    for (key, _), members in by_key.items():
        pad = max(r["train_size"] for r in members)
        # Sort by data seed so chunks can share one data set (passed unbatched to vmap).
        members.sort(key=lambda r: r["data_seed"])
        groups[key.replace(train_pad=pad)] = members
    return groups


def _nbytes(tree) -> int:
    return sum(math.prod(x.shape) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


def run_bytes(static: Static) -> int:
    """Estimated device memory of one run in a chunk: parameters, optimizer state, gradients,
    its data, activations of a training step and an evaluation, and its logged curves."""
    item = np.dtype(static.dtype).itemsize
    one = jnp.ones((), static.dtype)
    hp = HParams.placeholder(static)
    params = jax.eval_shape(lambda k: train.init_params(static, k, one), jax.random.key(0))
    data = jax.eval_shape(lambda s: train.make_data(static, s), jnp.uint32(0))
    batches = jax.eval_shape(
        lambda d: static.components.task.eval_batches(static, d, hp), data)
    n_eval = sum(b.train_mask.shape[0] for b in batches)
    model = static.components.model
    if model.activation_width is not None:
        width = model.activation_width(static)
    else:  # a guess for a model that gives none: its widest weight plus its output width
        out = jax.eval_shape(lambda p, d: model.apply(
            p, static, static.components.task.train_batch(static, d, hp).inputs), params, data)
        width = max((x.shape[-1] for x in jax.tree.leaves(params) if x.ndim), default=1) + \
            math.prod(jax.tree.leaves(out)[0].shape[1:])
    # params, gradients, updates, and the optimizer's own state (Adam's moments, a gradient
    # filter's buffer: Grokfast MA keeps `window` copies of the gradient)
    opt_state = jax.eval_shape(lambda p: make_optimizer(static, hp).init(p), params)
    state = 3 * _nbytes(params) + _nbytes(opt_state)
    acts = (3 * static.train_pad + 2 * n_eval) * width * item
    curves = static.n_logs * len(train.metric_names(static)) * item
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
