"""Shards for job arrays: ``--shard I/N`` trains a fixed slice of the chunk plan, no coordinator.

Every array task (SLURM ``--array``, a Kubernetes Indexed Job, any scheduler) computes the same
chunk plan from the spec (``grokjax.plan``: cut from the whole sweep, so it never depends on
what is done) and trains one contiguous slice of it, balanced by model-steps.  Shards write into
one shared folder (or each into its own, merged by copying ``runs/`` together): parts are
tagged ``sIofN``, the shared ``.lock`` is held only while a shard checks the folder and the
manifest, ``.lock-sIofN`` while it trains, so a shard started twice fails at once instead of
writing its runs twice.  A finished shard writes ``shards/I-of-N.json``; ``status`` lists them,
and any later command (``report``, a plain ``sweep`` re-run, which trains what a dead shard
left) reads the merged rows.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grokjax import store
from grokjax.errors import SpecError
from grokjax.plan import Chunk

SHARD_DIR = "shards"


@dataclasses.dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @property
    def tag(self) -> str:
        return f"s{self.index}of{self.count}"

    @property
    def lock(self) -> str:
        return f".lock-{self.tag}"

    def record_path(self, out: Path) -> Path:
        return Path(out) / SHARD_DIR / f"{self.index}-of-{self.count}.json"


def parse_shard(text: str, source: str = "command line") -> Shard:
    """``"I/N"`` with 0 <= I < N, e.g. ``$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise SpecError(source, "--shard", f"{text!r}: allowed: I/N with integers 0 <= I < N, "
                        "e.g. 0/4")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 0 <= i < n:
        raise SpecError(source, "--shard", f"{text!r}: allowed: I/N with 0 <= I < N and "
                        "N >= 1, e.g. 0/4 .. 3/4")
    return Shard(i, n)


def chunk_cost(chunk: Chunk) -> int:
    return sum(int(r["steps"]) for r in chunk.runs)


def shard_slice(plan: Sequence[Chunk], shard: Shard) -> list[int]:
    """The chunk indices of ``shard``: contiguous, cut where the running model-steps cross
    I/N of the total, so shards get about equal work; the N slices cover the plan once."""
    costs = [chunk_cost(c) for c in plan]
    total = sum(costs) or 1
    mine, before = [], 0
    for i, cost in enumerate(costs):
        # A chunk belongs to the shard whose share holds its midpoint.
        if int((before + cost / 2) * shard.count // total) == shard.index:
            mine.append(i)
        before += cost
    return mine


def write_record(out: Path, shard: Shard, spec_hash: str, chunks: Sequence[int],
                 n_runs: int, n_trained: int, wall_s: float) -> Path:
    path = shard.record_path(out)
    store.ensure_folder(path.parent, "the shard records")
    record = {"shard": shard.index, "count": shard.count, "spec_hash": spec_hash,
              "chunks": [min(chunks), max(chunks)] if chunks else [], "n_runs": n_runs,
              "n_trained": n_trained, "wall_s": round(wall_s, 3),
              "host": os.uname().nodename, "pid": os.getpid(),
              "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    store.atomic_write_bytes(path, json.dumps(record, indent=1).encode())
    return path


def read_records(out: Path, spec_hash: str | None = None) -> list[dict[str, Any]]:
    """Finished-shard records in ``out`` (of this spec only, when ``spec_hash`` is given)."""
    folder = Path(out) / SHARD_DIR
    records = []
    for path in sorted(folder.glob("*-of-*.json")) if folder.is_dir() else []:
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise store.ResultsError(f"{path}: unreadable shard record ({e}); delete it (the "
                                     "shard's rows are in runs/ regardless)") from None
        if spec_hash is None or rec.get("spec_hash") == spec_hash:
            records.append(rec)
    return records


def clear_records(out: Path) -> None:
    folder = Path(out) / SHARD_DIR
    for path in folder.glob("*-of-*.json") if folder.is_dir() else []:
        path.unlink()


def describe(out: Path, spec_hash: str | None) -> str | None:
    """One line per shard count for ``status``: which shards are complete (None if none)."""
    by_count: dict[int, set[int]] = {}
    for rec in read_records(out, spec_hash):
        by_count.setdefault(int(rec["count"]), set()).add(int(rec["shard"]))
    if not by_count:
        return None
    lines = []
    for n, done in sorted(by_count.items()):
        missing = [i for i in range(n) if i not in done]
        lines.append(f"shards of {n}: {len(done)} complete ({_ranges(sorted(done))})"
                     + (f", not complete: {_ranges(missing)}" if missing else ""))
    return "\n".join(lines)


def _ranges(ids: Sequence[int]) -> str:
    parts: list[tuple[int, int]] = []
    for i in ids:
        if parts and parts[-1][1] == i - 1:
            parts[-1] = (parts[-1][0], i)
        else:
            parts.append((i, i))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in parts)
