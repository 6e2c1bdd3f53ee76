"""Many hosts under ``jax.distributed``: start-up and each process's share of the chunk plan.

Only for platforms that require it -- a TPU pod slice, whose hosts must initialise together
before their chips are usable.  Elsewhere the Ray backend (``grokjax.ray_backend``) or job-array
shards (``grokjax.shards``) need no polling and survive a dead process (docs/clusters.md).

Every process computes the same chunk plan from the spec and trains the chunks whose index is
``process_id`` modulo ``num_processes``, writing its own part files (tagged with its id) to the
shared results folder.  Process 0 then waits until every run of the sweep is on disk before it
writes the final manifest and the report.  No collectives are needed, so the same code works on
CPU hosts, GPU nodes and TPU pod slices.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

import jax

ENV = {"coordinator": ("GROKJAX_COORDINATOR", "JAX_COORDINATOR_ADDRESS"),
       "num_processes": ("GROKJAX_NUM_PROCESSES", "JAX_NUM_PROCESSES"),
       "process_id": ("GROKJAX_PROCESS_ID", "JAX_PROCESS_ID")}


@dataclasses.dataclass(frozen=True)
class Cluster:
    process_id: int = 0
    num_processes: int = 1

    @property
    def is_leader(self) -> bool:
        return self.process_id == 0

    def share(self, n_chunks: int) -> list[int]:
        return [i for i in range(n_chunks) if i % self.num_processes == self.process_id]


def _env(name: str) -> str | None:
    for var in ENV[name]:
        if os.environ.get(var):
            return os.environ[var]
    return None


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> Cluster:
    """Start ``jax.distributed`` from flags or the usual environment variables; a single
    process when none are given (or a cluster JAX detects by itself: SLURM, TPU pods)."""
    coordinator = coordinator or _env("coordinator")
    num = num_processes if num_processes is not None else _env("num_processes")
    pid = process_id if process_id is not None else _env("process_id")
    if coordinator is None and num is None and pid is None:
        return Cluster(jax.process_index(), jax.process_count())
    if coordinator is None or num is None or pid is None:
        raise ValueError("multi-host needs all three of --coordinator HOST:PORT, "
                         "--num-processes N and --process-id I (or GROKJAX_COORDINATOR, "
                         "GROKJAX_NUM_PROCESSES, GROKJAX_PROCESS_ID)")
    num, pid = int(num), int(pid)
    if not 0 <= pid < num:
        raise ValueError(f"--process-id {pid} must be in 0..{num - 1}")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num,
                               process_id=pid)
    return Cluster(jax.process_index(), jax.process_count())


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float,
             poll_s: float = 2.0) -> None:
    """Poll the shared results folder until ``predicate`` holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout_s:.0f} s waiting for {what}")
        time.sleep(poll_s)
