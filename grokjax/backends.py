"""Where a sweep's chunks are trained: a small table of backends the engine looks up by name.

``local`` trains on this host (one pinned worker process per CPU core -- or, with one worker,
this process -- or one process sharding each chunk over the local GPU/TPU devices); ``ray``
trains on a Ray cluster's actors (``grokjax.ray_backend``, imported only when asked for: Ray is
an optional extra).  Both get the
same ``Work`` and write rows through ``grokjax.runner.PartWriter``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from grokjax.layout import Layout, planned
from grokjax.options import EngineOptions
from grokjax.plan import backend, resolved_workers, usable_cores
from grokjax.runner import COMPILES, ChunkDone, Trained, Work, execute_chunks


class Backend(Protocol):
    def resolve(self, options: EngineOptions, runs: tuple, plugins: tuple[str, ...],
                x64: bool) -> EngineOptions:
        """The options to plan with (a remote backend fills in what its devices want)."""

    def layout(self, vmap_width: int) -> Layout:
        """The layout a chunk of ``vmap_width`` runs is trained in (for the resume check)."""

    def train(self, work: Work, on_steps: Callable[[float], None],
              on_chunk: Callable[[ChunkDone], None]) -> Trained: ...

    def close(self) -> None: ...


class LocalBackend:
    """This host: pinned worker processes on CPU (``grokjax.workers``), else this process."""

    def __init__(self, options: EngineOptions):
        self.options = options
        self.pinned = False

    def resolve(self, options: EngineOptions, runs: tuple, plugins: tuple[str, ...],
                x64: bool) -> EngineOptions:
        # Several workers on CPU, one per core: each is pinned, so XLA gives it one thread --
        # also when a resume leaves a single chunk (in this process it would get every core,
        # and other floats: grokjax.layout).
        workers = resolved_workers(options)
        self.pinned = backend() == "cpu" and 1 < workers <= usable_cores()
        return options

    def layout(self, vmap_width: int) -> Layout:
        return planned(vmap_width, threads=1 if self.pinned else None)

    def train(self, work: Work, on_steps: Callable[[float], None],
              on_chunk: Callable[[ChunkDone], None]) -> Trained:
        if work.workers > 1 or self.pinned:
            from grokjax.workers import WorkerJob, run_workers

            got = Trained(workers=work.workers)

            def compiles(programs: int, seconds: float) -> None:
                got.programs += programs
                got.compile_s += seconds

            run_workers(work.workers, list(work.chunks),
                        WorkerJob(job=work.job, runs=work.runs, plugins=work.plugins,
                                  budget=work.budget, x64=work.x64),
                        on_steps, on_chunk, on_compiles=compiles)
            return got
        programs0, seconds0 = COMPILES.programs, COMPILES.seconds
        execute_chunks(work.job, [work.plan[i] for i in work.chunks], on_steps=on_steps,
                       on_chunk=on_chunk)
        return Trained(COMPILES.programs - programs0, COMPILES.seconds - seconds0, 1)

    def close(self) -> None:
        pass


def _ray(options: EngineOptions) -> Any:
    from grokjax.ray_backend import RayBackend

    return RayBackend(options)


BACKENDS: dict[str, Callable[[EngineOptions], Backend]] = {"local": LocalBackend, "ray": _ray}


def make_backend(options: EngineOptions) -> Backend:
    return BACKENDS[options.backend](options)
