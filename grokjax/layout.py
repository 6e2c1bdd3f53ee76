"""The layout that decides a run's numbers, recorded per row, and the resume check.

Measured on this CPU (jax 0.10.2, README "Reproducibility"): the same run trained at vmap width
1, 4 and 8 gives three different float results (the summation order of a batched matmul
changes with the batch), while the number of worker processes, the chunk order and resume
points change nothing.  So a row records its ``vmap_width`` and ``n_devices`` beside the
backend, device kind and jax version, and a sweep refuses to add rows to a folder whose rows
were trained in another layout: a resumed sweep stays bit-identical to an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import pyarrow as pa
import pyarrow.parquet as pq

from grokjax.store import ResultsError, part_files

LAYOUT_COLUMNS = ("vmap_width", "n_devices", "backend", "device_kind", "jax_version")


class Layout(NamedTuple):
    vmap_width: int
    n_devices: int
    backend: str
    device_kind: str
    jax_version: str

    def describe(self) -> str:
        return (f"vmap width {self.vmap_width} on {self.n_devices} {self.backend} device"
                f"{'s' if self.n_devices > 1 else ''} ({self.device_kind}, jax "
                f"{self.jax_version})")


def n_devices() -> int:
    return len(jax.local_devices())


def planned(vmap_width: int) -> Layout:
    """The layout this process trains a chunk of ``vmap_width`` runs in (the width a chunk is
    padded to; several local devices shard it, so the width rounds up to their count)."""
    devices = n_devices()
    width = -(-vmap_width // devices) * devices if devices > 1 else vmap_width
    dev = jax.devices()[0]
    return Layout(width, devices, jax.default_backend(), dev.device_kind, jax.__version__)


def stored(results_dir: Path) -> dict[str, Layout]:
    """run_id -> the layout its row was trained in (rows written before layouts were recorded
    are left out: nothing is known about them)."""
    out: dict[str, Layout] = {}
    for part in part_files(results_dir):
        try:
            schema = pq.read_schema(part)
            if not all(c in schema.names for c in LAYOUT_COLUMNS):
                continue
            t = pq.read_table(part, columns=["run_id", *LAYOUT_COLUMNS]).to_pylist()
        except (pa.ArrowInvalid, OSError) as e:
            raise ResultsError(f"{part}: corrupt part file ({e}); move it away (its runs will "
                               "be trained again) or start over with --restart") from None
        for r in t:
            out[r["run_id"]] = Layout(*(r[c] for c in LAYOUT_COLUMNS))
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
        old = next((have[r] for r in runs if r in have and have[r] != want), None)
        if old is not None:
            chunk = group[0]
            raise ResultsError(
                f"{results_dir}: its rows were trained at {old.describe()}; this sweep would "
                f"train the rest of group '{chunk.static.short()}' at {want.describe()}, and a "
                "run's float results depend on that layout (README: Reproducibility). Nothing "
                f"was changed. Resume with --chunk-size {old.vmap_width} on the same backend, "
                "or use --restart or another --out")
