"""The ``ray`` backend: a sweep's chunks trained by actors of a Ray cluster (``grokjax[ray]``).

One actor per device (``num_gpus=1`` on GPU nodes; one per TPU host, with all its chips) or
per CPU core (``num_cpus=1``: one run at a time, pinned to one core as the local workers are,
so a Ray row equals the local row bit for bit).  An actor imports
JAX, loads the sweep's plugins and plans the sweep once, then trains chunk after chunk, so its
compiled programs are reused.  The driver hands chunks to idle actors (fast actors take more),
gets each chunk's rows back and writes the Parquet parts itself, in a writer thread that overlaps
training: no shared filesystem is needed, and as only the driver writes, a chunk is written at
most once.  A chunk whose task fails is retried (``RETRIES`` times); an actor that dies (node
lost, process killed) is replaced and its chunk trained again.  Ctrl-C kills the actors; what
was written stays, and a re-run trains only what is missing.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grokjax import store
from grokjax.errors import SpecError
from grokjax.layout import Layout
from grokjax.options import EngineOptions
from grokjax.runner import ChunkDone, Job, PartWriter, Trained, TrainedChunk, Work
from grokjax.workers import WorkerError

RETRIES = 2  # a chunk whose task raises is tried this many more times before the sweep fails
REPLACEMENTS = 8  # actors that may die (and be replaced) before the sweep gives up
DEPTH = 2  # chunks queued per actor: the next one is there when a chunk ends (no round trip)


def _ray():
    try:
        import ray
    except ImportError:
        raise SpecError("[engine] backend", "ray", "Ray is not installed; pip install "
                        "'grokjax[ray]' (or use backend = \"local\")") from None
    return ray


def local_runtime_env() -> dict[str, Any]:
    """Workers of a cluster started here import the same grokjax as this driver."""
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return {"env_vars": {"PYTHONPATH": path, "GROKJAX_QUIET": "1"}}


class Trainer:
    """One Ray actor's state: JAX with the sweep's components, and the sweep's plan."""

    def __init__(self, runs: tuple, plugins: tuple[tuple[str, str], ...], x64: bool,
                 slot: int | None = None):
        t0 = time.perf_counter()
        if slot is not None and hasattr(os, "sched_setaffinity"):
            # A CPU actor (num_cpus=1) gets one core before JAX starts, as a local worker
            # does: XLA's CPU thread pool, and with it the floats, are then the same.
            cores = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(0, {cores[slot % len(cores)]})
        import tempfile

        import jax

        if x64:
            jax.config.update("jax_enable_x64", True)
        from grokjax import builtins, registry  # noqa: F401  (built-in components)
        from grokjax.runner import enable_compile_cache

        folder = Path(tempfile.mkdtemp(prefix="grokjax-plugins-"))
        for name, text in plugins:  # the driver's plugin files, by content: no shared disk
            (folder / name).write_text(text)
            registry.load_plugin(folder / name)
        enable_compile_cache()
        self.runs, self.plan, self.job = runs, None, None
        self.init_s = time.perf_counter() - t0

    def describe(self, options: EngineOptions) -> dict[str, Any]:
        """This actor's pid, device layout, and the options it would plan with."""
        import jax

        from grokjax import plan

        dev = jax.devices()[0]
        resolved = options.replace(
            chunk_size=plan.default_chunk(options),
            bucket_train_size=plan.resolved_bucketing(options),
            memory_budget=options.memory_budget or plan.default_budget(
                plan.resolved_workers(EngineOptions())))
        from grokjax.layout import cpu_threads

        return {"pid": os.getpid(), "backend": jax.default_backend(),
                "device_kind": dev.device_kind, "n_devices": len(jax.local_devices()),
                "cpu_threads": cpu_threads(),
                "jax_version": jax.__version__, "options": resolved, "init_s": self.init_s}

    def setup(self, job: Job, budget: int) -> None:
        from grokjax.plan import plan_chunks

        self.job, self.plan = job, plan_chunks(self.runs, job.options, budget=budget)

    def train(self, index: int) -> tuple[TrainedChunk | None, tuple[int, float]]:
        from grokjax.runner import COMPILES, train_rows

        trained = train_rows(self.job, self.plan[index])
        return trained, (COMPILES.programs, COMPILES.seconds)


class RayBackend:
    """Chunks on a Ray cluster's actors; rows written by this driver (see the module doc)."""

    def __init__(self, options: EngineOptions):
        self.ray = _ray()
        self.address = options.ray_address
        self.started = False
        self.actors: list[Any] = []
        self.pids: dict[Any, int] = {}  # actor -> its process id (tests kill one)
        self.startup_s: list[float] = []  # per actor: creation until ready
        self.replaced = 0
        self.slots = 0  # CPU actors started: actor i is pinned to core i mod its node's cores
        self.received = 0  # chunks whose rows came back
        self.in_flight: dict[Any, tuple[Any, int]] = {}  # task -> (actor, chunk index)
        self.info: dict[str, Any] = {}
        self.t0 = time.perf_counter()

    def _connect(self, n_cpus: int | None) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        try:
            if self.address:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            else:  # a local cluster for this sweep, shut down when it ends
                ray.init(num_cpus=n_cpus, include_dashboard=False, log_to_driver=False,
                         configure_logging=False, runtime_env=local_runtime_env())
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise store.ResultsError(f"cannot start or reach {where}: {first}") from None
        self.started = True

    def _resources(self) -> tuple[int, dict[str, Any]]:
        """How many actors, and what each asks for: a GPU, a TPU host, or a CPU core."""
        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        tpus = [int(n["Resources"]["TPU"]) for n in nodes if n["Resources"].get("TPU")]
        if tpus:  # JAX takes every chip of a TPU host: one actor per host
            return len(tpus), {"num_cpus": 0, "resources": {"TPU": min(tpus)}}
        gpus = int(sum(n["Resources"].get("GPU", 0) for n in nodes))
        if gpus:
            return gpus, {"num_cpus": 0, "num_gpus": 1}
        return max(1, int(sum(n["Resources"].get("CPU", 0) for n in nodes))), {"num_cpus": 1}

    def _spawn(self, k: int) -> list[Any]:
        """Start ``k`` actors together; each is ready once it has imported JAX, loaded the
        plugins and described its devices (that wait is its start-up time)."""
        t0 = time.perf_counter()
        cpu = "num_gpus" not in self.resources and "resources" not in self.resources
        slots = range(self.slots, self.slots + k)
        self.slots += k
        actors = [self.actor_cls.options(**self.resources).remote(
            self.runs_ref, self.plugins, self.x64, slot if cpu else None) for slot in slots]
        refs = {a.describe.remote(self.options): a for a in actors}
        while refs:
            ready, _ = self.ray.wait(list(refs), num_returns=1)
            info = self.ray.get(ready[0])
            self.pids[refs.pop(ready[0])] = info["pid"]
            self.startup_s.append(time.perf_counter() - t0)
            self.info = self.info or info
        return actors

    def resolve(self, options: EngineOptions, runs: tuple, plugins: tuple[str, ...],
                x64: bool) -> EngineOptions:
        self._connect(options.workers)
        n, self.resources = self._resources()
        self.n_actors = min(n, options.workers or n)
        self.actor_cls = self.ray.remote(Trainer)
        self.runs_ref = self.ray.put(runs)
        self.plugins = tuple((Path(p).name, Path(p).read_text()) for p in plugins)
        self.x64, self.options = x64, options
        # Every actor starts now (a sweep of R runs has at most R chunks); the first says
        # what its devices want.
        self.actors = self._spawn(min(self.n_actors, max(1, len(runs))))
        return self.info["options"]

    def layout(self, vmap_width: int) -> Layout:
        d = self.info
        devices = d["n_devices"]
        width = -(-vmap_width // devices) * devices if devices > 1 else vmap_width
        return Layout(width, devices, d["backend"], d["device_kind"], d["jax_version"],
                      d["cpu_threads"])

    def train(self, work: Work, on_steps: Callable[[float], None],
              on_chunk: Callable[[ChunkDone], None]) -> Trained:
        ray = self.ray
        for extra in self.actors[max(1, len(work.chunks)):]:  # more actors than chunks left
            ray.kill(extra)
            self.actors.remove(extra)
        ray.get([a.setup.remote(work.job, work.budget) for a in self.actors])
        started_s = time.perf_counter() - self.t0
        queue = collections.deque(work.chunks)
        idle = list(self.actors) * DEPTH  # one entry per free queue slot of an actor
        refs = self.in_flight
        tries: collections.Counter = collections.Counter()
        compiles: dict[Any, tuple[int, float]] = {}
        writer = PartWriter(work.job.out, work.job.tag, work.job.options)
        pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="grokjax-writer")
        writes: list[concurrent.futures.Future] = []
        error: store.ResultsError | None = None
        with _ctrl_c_between_chunks() as interrupted:
            try:
                while (queue or refs) and not interrupted.is_set():
                    while queue and idle:
                        actor, index = idle.pop(), queue.popleft()
                        refs[actor.train.remote(index)] = (actor, index)
                    ready, _ = ray.wait(list(refs), num_returns=1, timeout=1.0)
                    for ref in ready:
                        actor, index = refs.pop(ref)
                        try:
                            trained, compiled = ray.get(ref)
                        except ray.exceptions.RayActorError:
                            queue.appendleft(index)
                            if actor in self.actors:  # its other queued chunks fail here too
                                idle += [self._replace(actor, work)] * DEPTH
                            continue
                        except ray.exceptions.RayTaskError as e:
                            tries[index] += 1
                            if tries[index] > RETRIES:
                                raise WorkerError(f"chunk {index} failed {tries[index]} times "
                                                  f"on Ray; the last error:\n{e}") from None
                            idle.append(actor)
                            queue.appendleft(index)
                            continue
                        idle.append(actor)
                        self.received += 1
                        compiles[actor] = compiled
                        if trained is not None:
                            on_steps(sum(r["steps"] for r in work.plan[index].runs
                                         if r["run_id"] not in work.job.done))
                            writes.append(pool.submit(writer.add, trained))
                            on_chunk(trained.done)
                    for w in [w for w in writes if w.done()]:
                        writes.remove(w)
                        w.result()  # a failed write stops the sweep now
            except store.ResultsError as e:
                error = e
            finally:
                refs.clear()
                pool.shutdown(wait=True)
                for w in writes:
                    try:
                        w.result()
                    except store.ResultsError as e:
                        error = error or e
                writer.close(error)
        if interrupted.is_set():  # everything trained so far is written: now stop the sweep
            raise KeyboardInterrupt
        return Trained(sum(p for p, _ in compiles.values()),
                       sum(s for _, s in compiles.values()), len(self.actors), started_s)

    def _replace(self, dead: Any, work: Work) -> Any:
        self.replaced += 1
        if self.replaced > REPLACEMENTS:
            raise WorkerError(f"{self.replaced} Ray actors died; giving up (rows already "
                              "written are kept, run the sweep again to resume)")
        self.actors.remove(dead)
        self.pids.pop(dead, None)
        [actor] = self._spawn(1)
        self.ray.get(actor.setup.remote(work.job, work.budget))
        self.actors.append(actor)
        return actor

    def close(self) -> None:
        """Kill this sweep's actors (Ctrl-C lands here too); shut down a cluster we started."""
        for actor in self.actors:
            with contextlib.suppress(Exception):  # an actor already gone
                self.ray.kill(actor)
        self.actors = []
        if self.started:
            self.ray.shutdown()


@contextlib.contextmanager
def _ctrl_c_between_chunks():
    """Ctrl-C sets an event that the driver's loop checks after each (1 s) wait, instead of a
    KeyboardInterrupt raised wherever the main thread happens to be -- inside Ray's client or a
    lock of the writer pool, from where the shutdown could hang.  A second Ctrl-C interrupts
    at once.  Off the main thread (where signals cannot be caught) nothing changes."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return

    def on_sigint(signum, frame):
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
