"""Results on disk: atomic Parquet part files, the manifest, ``load_results`` (the folder lock:
``grokjax.locks``).

Layout of ``results/NAME/``::

    manifest.json          the sweep spec, its hash, versions, device, timings
    runs/part-*.parquet    one row per run (written to a dot-file first, then renamed)
    index.html, *.png      the report
    .lock                  held (flock) while a sweep writes the folder (by a shard: briefly);
                           removed on a clean release
    .lock-sIofN            held while shard I of N trains (``--shard I/N``)
    shards/I-of-N.json     written when shard I of N has trained its slice

A run is done when its row is in a part file; re-running a sweep trains only what is missing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from grokjax import registry, sidecar

CURVE_FLOAT = pa.list_(pa.float32())
T = TypeVar("T")


class ResultsError(RuntimeError):
    """A results folder is missing, locked, inconsistent or unwritable (CLI: exit status 2)."""


class WriteError(ResultsError):
    """A file could not be written (full disk, read-only or blocked path); nothing already
    written was changed."""


def _arrow_type(name: str) -> pa.DataType | None:
    s = registry.setting(name)
    if s is not None:
        return {int: pa.int64(), float: pa.float64(), str: pa.string(), bool: pa.bool_(),
                list: pa.list_(pa.int64())}[s.type]
    return None


def to_arrow(df: pd.DataFrame) -> pa.Table:
    """A typed Arrow table: settings by their declared type, curves as list<float32>.

    Built with pandas metadata, so plain ``pandas.read_parquet`` restores nullable integer and
    boolean columns (``Int64``, ``boolean``) instead of floats and objects.
    """
    fields = []
    for col in df.columns:
        t = _arrow_type(col)
        if t is None:
            values = df[col]
            first = next((v for v in values if v is not None), None)
            if col in ("step", "key_freqs"):
                t = pa.list_(pa.int64())
            elif isinstance(first, (np.ndarray, list)):
                t = CURVE_FLOAT
            elif str(values.dtype) in ("Int64", "int64", "int32"):
                t = pa.int64()
            else:
                t = pa.array(values, from_pandas=True).type
        fields.append(pa.field(col, t))
    return pa.Table.from_pandas(df, schema=pa.schema(fields), preserve_index=False)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def ensure_folder(folder: Path, what: str) -> None:
    """Create ``folder`` if needed and check it is writable (else WriteError)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(f"{folder}: cannot create the folder ({e.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise WriteError(f"{folder}: the results folder is not writable; cannot write {what}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a hidden temp file in the same folder, fsync, then rename over ``path``."""
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        full = " (the disk is full)" if e.errno == errno.ENOSPC else ""
        raise WriteError(f"{path}: could not write{full}: {e.strerror}; nothing already "
                           "written was changed") from None
    _fsync_dir(path.parent)


class Staged:
    """Files written all or nothing: ``add`` writes each to a temp file at once (so only one
    file's bytes are held in memory); leaving the ``staged()`` block renames them all into
    place (renames need no space), and an exception removes every temp file and every folder
    made for them -- nothing changed."""

    def __init__(self) -> None:
        self.files: list[tuple[Path, Path]] = []
        self.made: list[Path] = []

    def add(self, path: Path, data: bytes) -> None:
        path = Path(path)
        if path.is_dir():
            raise WriteError(f"{path}: could not write: a folder is in the way; nothing was "
                             "changed")
        try:
            for folder in reversed([path.parent, *path.parent.parents]):
                if not folder.exists():
                    folder.mkdir()
                    self.made.append(folder)
            tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
            self.files.append((tmp, path))
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            full = " (the disk is full)" if e.errno == errno.ENOSPC else ""
            raise WriteError(f"{path}: could not write{full}: {e.strerror}; nothing was "
                             "changed") from None

    def abort(self) -> None:
        for tmp, _ in self.files:
            with contextlib.suppress(OSError):
                tmp.unlink()
        for folder in reversed(self.made):
            with contextlib.suppress(OSError):
                folder.rmdir()

    def commit(self) -> None:
        for tmp, path in self.files:
            os.replace(tmp, path)
        for folder in {path.parent for _, path in self.files}:
            _fsync_dir(folder)


@contextlib.contextmanager
def staged() -> Iterator[Staged]:
    st = Staged()
    try:
        yield st
    except BaseException:
        st.abort()
        raise
    st.commit()


def write_files(files: Iterable[tuple[Path, bytes]]) -> None:
    """Write several files all or nothing (see ``Staged``)."""
    with staged() as st:
        for path, data in files:
            st.add(path, data)


def _write_table(results_dir: Path, table: pa.Table, tag: str) -> Path:
    runs = Path(results_dir) / "runs"
    ensure_folder(runs, "result rows")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    path = runs / f"part-{tag}-{stamp}-{uuid.uuid4().hex[:6]}.parquet"
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    atomic_write_bytes(path, sink.getvalue().to_pybytes())
    return path


def write_part(results_dir: Path, df: pd.DataFrame, tag: str = "p0") -> Path:
    """Write rows as a new part file, atomically.  Returns its path."""
    return _write_table(results_dir, to_arrow(df.reset_index(drop=True)), tag)


def merge_parts(results_dir: Path, parts: list[Path], tag: str = "p0") -> Path:
    """Write the rows of ``parts`` as one new part, then remove them (atomic per file: until
    the removals, their rows are on disk twice, and ``load_results`` keeps one of each)."""
    try:
        tables = [pq.read_table(p) for p in parts]
    except (pa.ArrowInvalid, OSError) as e:
        raise ResultsError(f"{results_dir}: a part file could not be read to merge ({e})"
                           ) from None
    if all(t.schema.equals(tables[0].schema) for t in tables):  # one writer's parts: the same
        merged = _write_table(results_dir, pa.concat_tables(tables), tag)  # columns, no pandas
    else:
        merged = write_part(results_dir, pd.concat([t.to_pandas() for t in tables],
                                                   ignore_index=True), tag=tag)
    for p in parts:
        p.unlink()
    _fsync_dir(Path(results_dir) / "runs")
    return merged


def part_files(results_dir: Path) -> list[Path]:
    runs = Path(results_dir) / "runs"
    return sorted(runs.glob("part-*.parquet")) if runs.is_dir() else []


def read_parts(results_dir: Path, read: Callable[[Path], T], corrupt: Callable[[Path, Exception],
               str]) -> list[T]:
    """``read(part)`` of every part file, read while other writers may be merging theirs.

    A writer's merge writes the merged part first and then removes the parts it merged, so a
    part that vanishes between the listing and its read has its rows in a newer part: list the
    folder again (rows seen twice are identical; callers keep one).  A part that is there but
    cannot be read is corrupt: ``ResultsError(corrupt(part, error))``.
    """
    for _ in range(1000):  # each retry means a writer finished a merge meanwhile
        out: list[T] = []
        for part in part_files(results_dir):
            try:
                out.append(read(part))
            except (pa.ArrowInvalid, OSError) as e:
                if part.exists():
                    raise ResultsError(corrupt(part, e)) from None
                break  # merged away under us
        else:
            return out
    raise ResultsError(f"{results_dir}: its part files keep changing while being read")


def done_run_ids(results_dir: Path) -> set[str]:
    """Run ids already on disk (only the run_id column is read)."""
    cols = read_parts(results_dir, lambda part: pq.read_table(part, columns=["run_id"]),
                      lambda part, e: f"{part}: corrupt part file ({e}); move it away (its "
                      "runs will be trained again) or start over with --restart")
    return {r for t in cols for r in t.column(0).to_pylist()}


def resolve_dir(path: str | Path) -> Path:
    p = Path(path)
    if p.name == "runs" and not (p / "runs").exists():
        p = p.parent
    if not p.exists() and not p.is_absolute() and len(p.parts) == 1:
        p = Path("results") / p  # a bare sweep name
    return p


def load_results(path: str | Path, *, allow_mixed: bool = False) -> pd.DataFrame:
    """All rows of a results folder as one DataFrame (``results/NAME`` or a bare NAME)."""
    p = resolve_dir(path)
    tables = read_parts(p, pq.read_table,
                        lambda part, e: f"{p}: a part file could not be read ({e})")
    if not tables:
        raise ResultsError(f"{p}: no results here (no runs/part-*.parquet); run "
                           f"`python -m grokjax sweep sweeps/NAME.toml` first")
    if all(t.schema.equals(tables[0].schema) for t in tables):
        # one Arrow concat, one conversion: pandas' concat of many frames is slow
        df = pa.concat_tables(tables).to_pandas()
    else:  # parts of other columns (e.g. a plugin added a setting): pandas aligns them
        df = pd.concat([t.to_pandas() for t in tables], ignore_index=True)
    for col in ("train_acc_step_90", "test_acc_step_90", "train_acc_step_99",
                "test_acc_step_99", "grok_delay", "nan_step"):
        if col in df:
            df[col] = df[col].astype("Int64")
    hashes = df["spec_hash"].unique() if "spec_hash" in df else []
    if len(hashes) > 1 and not allow_mixed:
        raise ResultsError(f"{p}: rows from {len(hashes)} different sweep specs are mixed here "
                           f"(spec_hash {', '.join(map(str, hashes))}); re-run the sweep with "
                           "--restart, or pass allow_mixed=True")
    dup = df["run_id"].duplicated()
    if dup.any():
        # A writer killed while merging its parts, a merge finished while we read, or parts
        # copied by hand: keep one row.
        df = df[~df["run_id"].duplicated(keep="last")].reset_index(drop=True)
    try:  # columns computed after training (grokjax.sidecar), joined by run_id
        return sidecar.join_side(df, sidecar.read_side(p)[0])
    except (pa.ArrowInvalid, OSError, ValueError) as e:
        raise ResultsError(f"{sidecar.side_path(p)}: unreadable ({e}); delete it and run "
                           "`grokjax predict --write` again") from None


def read_manifest(path: str | Path) -> dict[str, Any]:
    p = resolve_dir(path) / "manifest.json"
    if not p.is_file():
        raise ResultsError(f"{p.parent}: no manifest.json; not a grokjax results folder")
    try:
        manifest = json.loads(p.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ResultsError(f"{p}: corrupt manifest ({e}); re-run the sweep with --restart, or "
                           "restore the file") from None
    except OSError as e:
        raise ResultsError(f"{p}: cannot read the manifest ({e.strerror})") from None
    if not isinstance(manifest, dict):
        raise ResultsError(f"{p}: corrupt manifest (not a JSON object)")
    return manifest


def write_manifest(results_dir: Path, manifest: Mapping[str, Any]) -> None:
    ensure_folder(Path(results_dir), "manifest.json")
    blob = json.dumps(manifest, indent=2, sort_keys=True, default=str).encode()
    atomic_write_bytes(Path(results_dir) / "manifest.json", blob)


def rewrite_parts(results_dir: Path, fn, manifest: Mapping[str, Any] | None = None) -> int:
    """Apply ``fn(df) -> df`` to every part file, all or nothing; then write ``manifest``.

    Every part is read and transformed in memory first (a part that cannot be read raises
    ResultsError with nothing changed), then all new parts are written to temp files, and only
    then renamed over the old ones, the manifest last.  A failed temp write removes the temp
    files written so far and changes nothing.
    """
    d = Path(results_dir)
    new: list[tuple[Path, bytes]] = []
    n = 0
    for part in part_files(d):
        try:
            df = pq.read_table(part).to_pandas()
        except (pa.ArrowInvalid, OSError) as e:
            raise ResultsError(f"{part}: corrupt part file ({e}); nothing was changed. Move it "
                               "away (its runs will be trained again) and run the command "
                               "again") from None
        sink = pa.BufferOutputStream()
        pq.write_table(to_arrow(fn(df)), sink, compression="zstd")
        new.append((part, sink.getvalue().to_pybytes()))
        n += len(df)
    if manifest is not None:
        ensure_folder(d, "manifest.json")
        new.append((d / "manifest.json",
                    json.dumps(manifest, indent=2, sort_keys=True, default=str).encode()))
    write_files(new)
    return n


def clear_runs(results_dir: Path) -> None:
    for part in part_files(results_dir):
        part.unlink()
    sidecar.side_path(results_dir).unlink(missing_ok=True)  # predictions of those rows


def clean_temp(results_dir: Path) -> None:
    """Remove temp files left by a writer that was killed mid-write (never read as results)."""
    d = Path(results_dir)
    for folder in (d, d / "runs", d / "params", d / "explore"):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                if tmp.is_file():
                    with contextlib.suppress(OSError):
                        tmp.unlink()
