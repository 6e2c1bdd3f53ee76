"""Parameters on disk: the final parameters of every run, and snapshots during training.

``results/NAME/params/RUN_ID.npz`` holds one run's parameters at one or more steps (keys
``"STEP/NAME"``), written atomically before the run's row (the row is the commit point: a run
whose row is missing is trained again and its file rewritten).  Snapshots are taken at the host
loop's segment boundaries, never inside jit::

    [checkpoints]
    snapshots = 10                  # evenly spaced steps (incl. 0 and the last); 0: final only
    where = {weight_decay = [1.0]}  # only runs matching every listed axis (default: all runs)
    final = true                    # store every run's final parameters (default)

Without a ``[checkpoints]`` table, sweeps of at most 64 runs keep 10 snapshots of every run and
larger sweeps keep final parameters only.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from grokjax.config import SpecError
from grokjax.store import ResultsError, _resolve_dir, atomic_write_bytes

SMALL_SWEEP = 64
DEFAULT_SNAPSHOTS = 10


@dataclasses.dataclass(frozen=True)
class CheckpointOptions:
    snapshots: int = 0
    where: tuple[tuple[str, tuple], ...] = ()  # (axis, allowed values)
    final: bool = True

    @classmethod
    def from_spec(cls, spec: Any) -> CheckpointOptions:
        options = spec.raw.get("checkpoints")
        if options is None:
            n = len(spec.runs())
            return cls(snapshots=DEFAULT_SNAPSHOTS if n <= SMALL_SWEEP else 0)
        src = spec.source
        kw: dict[str, Any] = {}
        for key, value in options.items():
            where = f"[checkpoints] {key}"
            if key == "snapshots":
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise SpecError(src, where, f"{value!r}: allowed: an integer >= 0")
                kw[key] = value
            elif key == "final":
                if not isinstance(value, bool):
                    raise SpecError(src, where, f"{value!r}: allowed: true or false")
                kw[key] = value
            elif key == "where":
                if not isinstance(value, dict):
                    raise SpecError(src, where, "a table {axis = [values]}")
                axes = [*spec.grid, *spec.fixed]
                sel = []
                for axis, vals in value.items():
                    if axis not in axes:
                        raise SpecError(src, f"{where}.{axis}", "not a setting of this sweep;"
                                        " allowed: " + ", ".join(axes))
                    sel.append((axis, tuple(vals if isinstance(vals, list) else [vals])))
                kw[key] = tuple(sel)
            else:
                raise SpecError(src, where, "unknown key; allowed: snapshots, where, final")
        return cls(**kw)

    def selects(self, run: Mapping[str, Any]) -> bool:
        return all(run.get(axis) in vals for axis, vals in self.where)


def _path(results_dir: Path, run_id: str) -> Path:
    return Path(results_dir) / "params" / f"{run_id}.npz"


def save_params(results_dir: Path, run_id: str, by_step: Mapping[int, Mapping[str, Any]]
                ) -> None:
    """Write one run's parameters at the given steps, atomically."""
    arrays = {f"{step}/{name}": np.asarray(w) for step, params in by_step.items()
              for name, w in params.items()}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    folder = Path(results_dir) / "params"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(_path(results_dir, run_id), buf.getvalue())


def saved_steps(results: str | Path, run_id: str) -> list[int]:
    path = _path(_resolve_dir(results), run_id)
    if not path.is_file():
        return []
    with np.load(path) as z:
        return sorted({int(k.split("/")[0]) for k in z.files})


def load_params(results: str | Path, run_id: str, step: int | None = None
                ) -> dict[str, np.ndarray]:
    """The parameter pytree of a run at ``step`` (default: its last saved step)."""
    path = _path(_resolve_dir(results), run_id)
    if not path.is_file():
        raise ResultsError(f"{path}: no parameters saved for run {run_id} (the sweep's "
                           "[checkpoints] table decides which runs keep them)")
    with np.load(path) as z:
        steps = sorted({int(k.split("/")[0]) for k in z.files})
        if step is None:
            step = steps[-1]
        if step not in steps:
            raise ResultsError(f"{path}: no parameters at step {step}; saved steps: "
                               + ", ".join(map(str, steps)))
        prefix = f"{step}/"
        return {k[len(prefix):]: z[k] for k in z.files if k.startswith(prefix)}
