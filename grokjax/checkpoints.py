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

import contextlib
import io
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from grokjax.options import SMALL_SWEEP, CheckpointOptions
from grokjax.store import ResultsError, atomic_write_bytes, ensure_folder, resolve_dir

__all__ = ["SMALL_SWEEP", "CheckpointOptions", "load_params", "save_params", "saved_steps"]

def _path(results_dir: Path, run_id: str) -> Path:
    return Path(results_dir) / "params" / f"{run_id}.npz"


def save_params(results_dir: Path, run_id: str, by_step: Mapping[int, Mapping[str, Any]]
                ) -> None:
    """Write one run's parameters at the given steps, atomically."""
    arrays = {f"{step}/{name}": np.asarray(w) for step, params in by_step.items()
              for name, w in _flat(params).items()}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    ensure_folder(Path(results_dir) / "params", "parameter snapshots")
    atomic_write_bytes(_path(results_dir, run_id), buf.getvalue())


def _flat(params: Any, prefix: str = "") -> dict[str, Any]:
    """A nested dict of arrays as {"a/b": array} (a model's parameters may nest)."""
    if not isinstance(params, Mapping):
        return {prefix: params}
    out: dict[str, Any] = {}
    for k, v in params.items():
        out.update(_flat(v, f"{prefix}/{k}" if prefix else str(k)))
    return out


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, w in flat.items():
        *path, leaf = name.split("/")
        node = out
        for p in path:
            node = node.setdefault(p, {})
        node[leaf] = w
    return out


def saved_steps(results: str | Path, run_id: str) -> list[int]:
    path = _path(resolve_dir(results), run_id)
    if not path.is_file():
        return []
    with _open(path) as z:
        return sorted({int(k.split("/")[0]) for k in z.files})


@contextlib.contextmanager
def _open(path: Path) -> Iterator[Any]:
    """``np.load`` of a params file, with a corrupt or unreadable file a ResultsError."""
    try:
        z = np.load(path)
        steps = [int(k.split("/")[0]) for k in z.files]
    except Exception as e:  # zipfile, numpy and OS errors: all mean the file is unusable
        raise ResultsError(f"{path}: corrupt parameter file ({type(e).__name__}: {e}); delete "
                           "it and re-run the sweep to train that run again") from None
    if not steps:
        raise ResultsError(f"{path}: corrupt parameter file (no arrays)")
    with z:
        try:
            yield z
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise ResultsError(f"{path}: corrupt parameter file ({type(e).__name__}: "
                               f"{e})") from None


def load_params(results: str | Path, run_id: str, step: int | None = None
                ) -> dict[str, np.ndarray]:
    """The parameter pytree of a run at ``step`` (default: its last saved step)."""
    path = _path(resolve_dir(results), run_id)
    if not path.is_file():
        raise ResultsError(f"{path}: no parameters saved for run {run_id} (the sweep's "
                           "[checkpoints] table decides which runs keep them)")
    with _open(path) as z:
        steps = sorted({int(k.split("/")[0]) for k in z.files})
        if step is None:
            step = steps[-1]
        if step not in steps:
            raise ResultsError(f"{path}: no parameters at step {step}; saved steps: "
                               + ", ".join(map(str, steps)))
        prefix = f"{step}/"
        return _nest({k[len(prefix):]: z[k] for k in z.files if k.startswith(prefix)})
