"""The layout that decides a run's numbers, recorded per row, and the resume check.

Measured on this CPU (README "Reproducibility"): the same run trained at vmap width 1, 4 and 8
gives three different float results (the summation order of a batched matmul changes with the
batch), and so does the size of XLA's CPU thread pool, which is the number of cores the
training process may use when JAX starts (a pinned worker or Ray actor: 1; an unpinned process:
all of them): XLA splits a large matmul into one block per thread.  The chunk order and resume
points change nothing.  So a row records its ``vmap_width``, ``n_devices`` and ``cpu_threads``
beside the backend, device kind and jax version, and a sweep refuses to add rows to a folder
whose rows were trained in another layout: a resumed sweep stays bit-identical to an
uninterrupted one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import pyarrow.parquet as pq

from grokjax.store import ResultsError, read_parts

LAYOUT_COLUMNS = ("vmap_width", "n_devices", "backend", "device_kind", "jax_version",
                  "cpu_threads")


class Layout(NamedTuple):
    vmap_width: int
    n_devices: int
    backend: str
    device_kind: str
    jax_version: str
    cpu_threads: int = 0  # XLA's CPU thread pool (0 on GPU/TPU: host threads do not matter)

    def describe(self) -> str:
        threads = (f", {self.cpu_threads} CPU thread{'s' if self.cpu_threads > 1 else ''}"
                   if self.cpu_threads else "")
        return (f"vmap width {self.vmap_width} on {self.n_devices} {self.backend} device"
                f"{'s' if self.n_devices > 1 else ''} ({self.device_kind}, jax "
                f"{self.jax_version}{threads})")


def cpu_threads(backend: str | None = None) -> int:
    """The size of XLA's CPU thread pool in this process: the cores it may run on (XLA reads
    the affinity mask once, when JAX starts; grokjax pins workers before that), 0 off CPU."""
    if (backend or jax.default_backend()) != "cpu":
        return 0
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def n_devices() -> int:
    return len(jax.local_devices())


def planned(vmap_width: int, threads: int | None = None) -> Layout:
    """The layout this process trains a chunk of ``vmap_width`` runs in (the width a chunk is
    padded to; several local devices shard it, so the width rounds up to their count);
    ``threads``: the CPU threads of the process that trains it (default: this one's)."""
    devices = n_devices()
    width = -(-vmap_width // devices) * devices if devices > 1 else vmap_width
    dev = jax.devices()[0]
    backend = jax.default_backend()
    return Layout(width, devices, backend, dev.device_kind, jax.__version__,
                  cpu_threads(backend) if threads is None or backend != "cpu" else threads)


def stored(results_dir: Path) -> dict[str, Layout]:
    """run_id -> the layout its row was trained in (rows written before layouts were recorded
    are left out: nothing is known about them; rows written before ``cpu_threads`` was
    recorded are compared without it)."""

    def read(part: Path) -> list[dict[str, Any]]:
        schema = pq.read_schema(part)
        cols = [c for c in LAYOUT_COLUMNS if c in schema.names]
        if not all(c in cols for c in LAYOUT_COLUMNS[:5]):
            return []
        return pq.read_table(part, columns=["run_id", *cols]).to_pylist()

    out: dict[str, Layout] = {}
    for rows in read_parts(results_dir, read, lambda part, e: (
            f"{part}: corrupt part file ({e}); move it away (its runs will be trained again) "
            "or start over with --restart")):
        for r in rows:
            out[r["run_id"]] = Layout(*(r.get(c) for c in LAYOUT_COLUMNS))
    return out


def check_resume(results_dir: Path, chunks: Iterable[Any], done: set[str],
                 layout_of: Callable[[int], Layout] = planned) -> None:
    """Refuse to train the missing runs of a group in another layout than its done runs
    (``layout_of``: the layout a chunk of that width is trained in, by the chosen backend)."""
    have = stored(results_dir)
    if not have:
        return
    groups: dict[Any, list] = {}
    for chunk in chunks:
        groups.setdefault(chunk.static, []).append(chunk)
    for group in groups.values():
        runs = [r["run_id"] for c in group for r in c.runs]
        if all(r in done for r in runs):
            continue  # nothing of this group will be trained
        want = layout_of(group[0].size)
        old = next((have[r] for r in runs if r in have and not _same(have[r], want)), None)
        if old is not None:
            chunk = group[0]
            raise ResultsError(
                f"{results_dir}: its rows were trained at {old.describe()}; this sweep would "
                f"train the rest of group '{chunk.static.short()}' at {want.describe()}, and a "
                "run's float results depend on that layout (README: Reproducibility). Nothing "
                f"was changed. Resume with --chunk-size {old.vmap_width} on the same backend"
                + (" and as many --workers as before (a pinned worker has 1 CPU thread; "
                   "--workers 1 trains in this process, on all its cores)"
                   if old.cpu_threads not in (None, want.cpu_threads) else "")
                + ", or use --restart or another --out")


def _same(old: Layout, want: Layout) -> bool:
    """``old.cpu_threads`` None: a row from before it was recorded, compared without it."""
    return old == want or (old.cpu_threads is None and old[:5] == want[:5])
