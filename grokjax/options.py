"""Typed options of the stages after the spec: ``[engine]``, ``[checkpoints]``, ``[report]``.

Each table is parsed once, when the sweep file is read (``grokjax.spec``), into a frozen
dataclass the stage receives; errors name the file and the key.  (The ``[phases]`` table is
parsed by ``grokjax.phases.rule_from_options``.)
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from grokjax.errors import SpecError

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 2**10, "m": 1e6, "mb": 1e6, "mib": 2**20,
          "g": 1e9, "gb": 1e9, "gib": 2**30, "t": 1e12, "tb": 1e12, "tib": 2**40}


def parse_bytes(text: str | int | float) -> int:
    """'512MiB', '2GB', '1.5e9' or a number of bytes: a finite size of at least one byte."""
    hint = "use e.g. 512MiB, 2GB or a number of bytes (finite, >= 1)"
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        n = float(text)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+]?[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
        if not m or m.group(2).lower() not in _UNITS:
            raise ValueError(f"{text!r} is not a size; {hint}")
        n = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not math.isfinite(n) or n < 1:
        raise ValueError(f"{text!r} is not a usable size; {hint}")
    return int(n)


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    """How a sweep is executed -- never what a run computes.

    chunk_size: runs vmapped together (None: per backend -- one plain run at a time on CPU,
      1,024 on GPU/TPU), capped by the memory budget.
    workers: processes on this host (None: one per core on CPU, each pinned to its core; 1 on
      GPU/TPU, where the chunk is sharded over the local devices instead).
    memory_budget: bytes for one chunk's arrays (None: a safe share of the device's memory).
    bucket_train_size: group runs by exact train size (no padded rows, one program per size)
      instead of padding every run of a group to the group's largest train set (None: per
      backend -- yes on CPU, where padded rows are pure waste; no on GPU/TPU, where compiling
      dominates).
    segment_steps: steps per compiled call; the host reports progress between calls.
    flush_rows / flush_seconds: write a Parquet part when a chunk ends and this many rows are
      buffered or this long has passed since the last write (a worker killed with kill -9
      loses at most that much of its work).
    merge_parts: a writer that ends cleanly merges the parts it wrote into one (a folder of
      many small parts loads slowly); false keeps one part per flush.
    report_seconds: re-render ``index.html`` from the rows on disk this often while a sweep
      trains (and never for more than 5% of the time: ``grokjax.live_report``).
    backend: "local" (this host's workers or devices) or "ray" (a Ray cluster's actors; the
      optional extra ``grokjax[ray]``).
    ray_address: the Ray cluster to connect to (e.g. "ray://head:10001" or "auto"); None
      starts a local one.
    """

    chunk_size: int | None = None
    workers: int | None = None
    memory_budget: int | None = None
    bucket_train_size: bool | None = None
    segment_steps: int = 5000
    flush_rows: int = 512
    flush_seconds: float = 10.0
    merge_parts: bool = True
    report_seconds: float = 300.0
    backend: str = "local"
    ray_address: str | None = None

    BACKENDS: ClassVar[tuple[str, ...]] = ("local", "ray")
    KINDS: ClassVar[dict[str, Any]] = {
        "chunk_size": int, "workers": int, "memory_budget": "bytes", "bucket_train_size": bool,
        "segment_steps": int, "flush_rows": int, "flush_seconds": float,
        "merge_parts": bool, "report_seconds": float, "backend": BACKENDS,
        "ray_address": str}

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], source: str = "<engine>"
                     ) -> EngineOptions:
        kw = {}
        for key, value in options.items():
            where = f"[engine] {key}"
            want = cls.KINDS.get(key)
            if want is None:
                raise SpecError(source, where, "unknown key; allowed: " + ", ".join(cls.KINDS))
            if isinstance(want, tuple) or want is str:
                if not isinstance(value, str) or not value.strip() or (
                        isinstance(want, tuple) and value not in want):
                    allowed = ", ".join(want) if isinstance(want, tuple) else "a non-empty string"
                    raise SpecError(source, where, f"{value!r}: allowed: {allowed}")
                kw[key] = value
                continue
            if want == "bytes":
                try:
                    value = parse_bytes(value)
                except ValueError as e:
                    raise SpecError(source, where, str(e)) from None
            elif want is float and isinstance(value, (int, float)) and not isinstance(value, bool):
                value = float(value)
                if not math.isfinite(value):
                    raise SpecError(source, where, f"{value!r}: allowed: a finite number > 0")
            elif not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
                allowed = "true or false" if want is bool else f"{want.__name__} > 0"
                raise SpecError(source, where, f"{value!r}: allowed: {allowed}")
            if want is not bool and value <= 0:
                raise SpecError(source, where, f"{value!r}: allowed: a number > 0")
            kw[key] = value
        return cls(**kw)

    def replace(self, **kw) -> EngineOptions:
        return dataclasses.replace(self, **{k: v for k, v in kw.items() if v is not None})


SMALL_SWEEP = 64  # sweeps this small keep snapshots of every run and get explorer pages
DEFAULT_SNAPSHOTS = 10


@dataclasses.dataclass(frozen=True)
class CheckpointOptions:
    """``[checkpoints]``: snapshots = 10 (evenly spaced steps, incl. 0 and the last; 0: final
    only), where = {weight_decay = [1.0]} (only runs matching every listed axis), final = true
    (store every run's final parameters).  Without the table, sweeps of at most 64 runs keep 10
    snapshots of every run and larger sweeps final parameters only."""

    snapshots: int = 0
    where: tuple[tuple[str, tuple], ...] = ()  # (axis, allowed values)
    final: bool = True

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None, source: str, n_runs: int,
                     axes: Sequence[str]) -> CheckpointOptions:
        if options is None:
            return cls(snapshots=DEFAULT_SNAPSHOTS if n_runs <= SMALL_SWEEP else 0)
        kw: dict[str, Any] = {}
        for key, value in options.items():
            where = f"[checkpoints] {key}"
            if key == "snapshots":
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise SpecError(source, where, f"{value!r}: allowed: an integer >= 0")
                kw[key] = value
            elif key == "final":
                if not isinstance(value, bool):
                    raise SpecError(source, where, f"{value!r}: allowed: true or false")
                kw[key] = value
            elif key == "where":
                if not isinstance(value, dict):
                    raise SpecError(source, where, "a table {axis = [values]}")
                sel = []
                for axis, vals in value.items():
                    if axis not in axes:
                        raise SpecError(source, f"{where}.{axis}", "not a setting of this "
                                        "sweep; allowed: " + ", ".join(axes))
                    sel.append((axis, tuple(vals if isinstance(vals, list) else [vals])))
                kw[key] = tuple(sel)
            else:
                raise SpecError(source, where, "unknown key; allowed: snapshots, where, final")
        return cls(**kw)

    def selects(self, run: Mapping[str, Any]) -> bool:
        return all(run.get(axis) in vals for axis, vals in self.where)


ROLES = ("x", "y", "facet")
REPORT_KEYS = ("x", "y", "facet", "curves_per_phase", "curve_points")
_INT_RANGES = {"curves_per_phase": (1, 20), "curve_points": (10, 2000)}
REPORT_DEFAULTS = {"curves_per_phase": 3, "curve_points": 101}


def check_axis_options(source: str, options: Mapping[str, Any], allowed: Sequence[str],
                       where: str = "[report] ") -> None:
    """Validate the axis roles in ``options`` (x, y, facet; None = automatic)."""
    seen: dict[str, str] = {}
    for role in ROLES:
        v = options.get(role)
        if v is None:
            continue
        key = f"{where}{role}"
        if not isinstance(v, str):
            raise SpecError(source, key, f"{v!r} is not an axis name (a string); allowed: "
                            + ", ".join(allowed))
        if v not in allowed:
            raise SpecError(source, key, f"{v!r} is not an axis of this sweep; allowed: "
                            + ", ".join(allowed))
        if v in seen:
            raise SpecError(source, key, f"{v!r} is already drawn as {seen[v]}; give each axis "
                            "one role; allowed: " + ", ".join(a for a in allowed if a not in seen))
        seen[v] = role


@dataclasses.dataclass(frozen=True)
class ReportOptions:
    """``[report]``: x / y / facet (grid axes; None: chosen from the varying axes),
    curves_per_phase (1..20, default 3), curve_points (10..2000, default 101)."""

    x: str | None = None
    y: str | None = None
    facet: str | None = None
    curves_per_phase: int = REPORT_DEFAULTS["curves_per_phase"]
    curve_points: int = REPORT_DEFAULTS["curve_points"]

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], source: str, axes: Sequence[str]
                     ) -> ReportOptions:
        if not isinstance(options, Mapping):
            raise SpecError(source, "[report]", "must be a table")
        for key in options:
            if key not in REPORT_KEYS:
                raise SpecError(source, f"[report] {key}", "unknown key; allowed: "
                                + ", ".join(REPORT_KEYS))
        check_axis_options(source, options, list(axes))
        for key, (lo, hi) in _INT_RANGES.items():
            if key in options:
                v = options[key]
                if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                    raise SpecError(source, f"[report] {key}", f"{v!r}: allowed: an integer "
                                    f"from {lo} to {hi}")
        return cls(**dict(options))
