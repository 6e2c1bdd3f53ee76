"""One Parquet row per run: identity, configuration, summary, phase, curves, provenance."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from grokjax import phases, registry
from grokjax.hashing import stable_hash
from grokjax.layout import cpu_threads
from grokjax.static import Static
from grokjax.summary import NULLABLE_INT, summarize


@dataclasses.dataclass(frozen=True)
class ChunkResult:
    """What training a chunk gives, for its ``n`` real runs (padding dropped).

    curves: name -> R x L logged values; diverged / nan_step: per run; columns: the task's extra
    row columns (e.g. ``key_freqs``); params: final parameters (leading run axis); snapshots:
    step -> (indices of the runs it holds, their parameters); vmap_width / n_devices: the
    layout the chunk was trained in (it decides the float results, ``grokjax.layout``).
    """

    curves: dict[str, np.ndarray]
    diverged: np.ndarray
    nan_step: np.ndarray
    columns: dict[str, list]
    params: Any
    snapshots: dict[int, tuple[np.ndarray, Any]]
    vmap_width: int = 1
    n_devices: int = 1

    def take(self, keep: np.ndarray) -> ChunkResult:
        """The same result for the runs at ``keep`` (snapshots and params unchanged)."""
        return dataclasses.replace(
            self, curves={k: v[keep] for k, v in self.curves.items()},
            diverged=self.diverged[keep], nan_step=self.nan_step[keep],
            columns={k: [v[i] for i in keep] for k, v in self.columns.items()})


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


def group_id(static: Static) -> str:
    return stable_hash({**static.values(), "train_pad": static.train_pad}, 8)


def build_rows(sweep: str, spec_hash: str, static: Static, configs: Sequence[Mapping],
               result: ChunkResult, wall_s: float, rule: phases.Rule) -> pd.DataFrame:
    """One row per run of ``configs`` (the runs of ``result``, in order)."""
    n = len(configs)
    steps_L = np.arange(static.n_logs, dtype=np.int64) * static.log_every  # logged steps
    cols: dict[str, Any] = {
        "sweep": [sweep] * n, "run_id": [c["run_id"] for c in configs],
        "spec_hash": [spec_hash] * n, "group": [group_id(static)] * n}
    for name, s in registry.all_settings().items():
        values = [c.get(name) for c in configs]
        # Nullable dtypes: a setting another component uses is null here, and stays typed.
        cols[name] = (pd.array(values, dtype="Int64") if s.type is int else
                      pd.array(values, dtype="boolean") if s.type is bool else values)
    for k, v in summarize(result.curves, steps_L).items():
        cols[k] = pd.array(v, dtype="Int64") if k in NULLABLE_INT else v
    cols["diverged"] = result.diverged
    cols["nan_step"] = pd.array(np.where(result.diverged, result.nan_step, np.nan),
                                dtype="Int64")
    cols["step"] = [steps_L] * n
    cols.update({k: list(v) for k, v in result.columns.items()})
    for k, curve_RxL in result.curves.items():
        cols[k] = list(curve_RxL.astype(np.float32))
    for k, v in provenance().items():
        cols[k] = [v] * n
    # the layout that decided the float results (grokjax.layout)
    cols["vmap_width"] = pd.array([result.vmap_width] * n, dtype="Int64")
    cols["n_devices"] = pd.array([result.n_devices] * n, dtype="Int64")
    cols["cpu_threads"] = pd.array([cpu_threads()] * n, dtype="Int64")
    if any("adaptive_round" in c for c in configs):  # the round that chose it (grokjax.adaptive)
        cols["adaptive_round"] = pd.array([c.get("adaptive_round") for c in configs], "Int64")
    cols["wall_time_s"] = [wall_s / n] * n
    cols["created_at"] = [dt.datetime.now(dt.UTC).isoformat(timespec="seconds")] * n
    return phases.classify_frame(pd.DataFrame(cols), rule)
