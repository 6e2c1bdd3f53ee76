"""One worker process per CPU core, each confined to its core before JAX starts.

Measured on 2 cores (docs/benchmarks.md): two pinned processes training small vmaps together
beat one process using both cores by about 2x -- XLA's CPU thread pool does not split these
small matmuls well, and the thread-count flags do not limit it.  Workers ask the parent for
chunk indices (so a slow group does not leave a core idle), recompute the same chunk plan from the
spec, train, and write their own part files; the parent only shows progress.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import signal
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from grokjax.store import ResultsError

_PR_SET_PDEATHSIG = 1


@dataclasses.dataclass(frozen=True)
class WorkerJob:
    """What a worker process is sent: the job, and how to recompute the sweep's chunk plan
    (its runs and the plugin files that register their components)."""

    job: Any  # grokjax.runner.Job
    runs: tuple
    plugins: tuple[str, ...]
    budget: int
    x64: bool
    pin: bool = True
    parent: int = 0


class WorkerError(RuntimeError):
    """A worker process failed; its traceback is in the message."""


def _die_with_parent() -> None:
    # A worker must never outlive a killed parent: it would keep writing rows that a re-run of
    # the sweep also writes (duplicates).  Linux: the kernel SIGKILLs us when the parent dies.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _worker_main(worker: int, core: int | None, work: WorkerJob, conn) -> None:
    _die_with_parent()
    if work.parent != os.getppid():  # the parent died before prctl took effect
        os._exit(1)
    if core is not None:
        os.sched_setaffinity(0, {core})  # before JAX creates its CPU client and thread pool

    def send(kind: str, value: Any) -> None:
        with contextlib.suppress(OSError):  # the parent is gone: nobody to tell
            conn.send((kind, value))

    try:
        import jax

        if work.x64:
            jax.config.update("jax_enable_x64", True)
        from grokjax import builtins, registry  # noqa: F401  (built-in components)
        from grokjax.plan import plan_chunks
        from grokjax.runner import COMPILES, enable_compile_cache, execute_chunks

        registry.load_plugins(work.plugins)  # a user's components, as the parent loaded them
        enable_compile_cache()
        plan = plan_chunks(work.runs, work.job.options, budget=work.budget)

        def pull():
            while True:
                conn.send(("next", worker))  # ask for a chunk when the last one is written
                if (index := conn.recv()) is None:
                    return
                yield plan[index]

        job = dataclasses.replace(work.job, tag=f"{work.job.tag}w{worker}")
        execute_chunks(job, pull(), on_steps=lambda n: send("steps", n),
                       on_chunk=lambda c: send("chunk", c))

        send("compiles", (COMPILES.programs, COMPILES.seconds))
        send("exit", worker)
    except (OSError, ResultsError) as e:  # the folder cannot be written: one line, exit 2
        send("failed", f"worker {worker}: {e}")
        raise SystemExit(2) from None
    except BaseException as e:
        send("error", f"worker {worker}: {type(e).__name__}: {e}\n" + traceback.format_exc())
        raise SystemExit(1) from None


def run_workers(n_workers: int, chunk_ids: Sequence[int], work: WorkerJob,
                on_steps: Callable[[float], None], on_chunk: Callable[[Any], None],
                on_compiles: Callable[[int, float], None] = lambda p, s: None) -> None:
    """Train the chunks ``chunk_ids`` on ``n_workers`` pinned processes; return when done.

    Each worker has one pipe to the parent: it asks for the next chunk index when it is free
    (so a slow group does not leave a core idle) and reports its progress on it.  Pipes, not
    ``multiprocessing.Queue``: a queue's semaphores are tracked by a resource-tracker process,
    which warns about "leaked semaphore objects" when the sweep is killed with kill -9.
    """
    ctx = mp.get_context("spawn")  # a fresh interpreter: no JAX state inherited from us
    todo = list(chunk_ids)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = work.pin and len(cores) >= n_workers
    work = dataclasses.replace(work, parent=os.getpid())
    pipes = [ctx.Pipe() for _ in range(n_workers)]
    procs = [ctx.Process(target=_worker_main, daemon=True, name=f"grokjax-worker-{w}",
                         args=(w, cores[w] if pin else None, work, pipes[w][1]))
             for w in range(n_workers)]
    for p in procs:
        p.start()
    for _, child in pipes:
        child.close()  # the worker holds it now: its death is EOF on our end
    conns = {pipes[w][0]: w for w in range(n_workers)}
    running = set(range(n_workers))
    interrupted = False
    try:
        while running:
            ready = mp_connection.wait([c for c, w in conns.items() if w in running],
                                       timeout=1.0)
            for conn in ready:
                w = conns[conn]
                try:
                    kind, value = conn.recv()
                except EOFError:
                    procs[w].join(timeout=10)
                    raise WorkerError(f"worker {w} died (exit code {procs[w].exitcode}); rows "
                                      "it wrote are kept, run the sweep again to resume"
                                      ) from None
                if kind == "next":
                    conn.send(todo.pop(0) if todo else None)
                elif kind == "steps":
                    on_steps(value)
                elif kind == "chunk":
                    on_chunk(value)
                elif kind == "compiles":
                    on_compiles(*value)
                elif kind == "exit":
                    running.discard(value)
                elif kind == "failed":
                    raise ResultsError(value)
                elif kind == "error":
                    raise WorkerError(value)
    except KeyboardInterrupt:
        interrupted = True  # Ctrl-C reached the workers too: let them flush what they hold
        raise
    finally:
        for p in procs:
            p.join(timeout=10 if interrupted else 0.1)
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(timeout=10)
        for conn in conns:
            conn.close()
