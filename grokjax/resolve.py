"""A run's full configuration: its components' defaults plus the file's values, cross-checked
by the components' resolve hooks; run ids; expansion of a grid into runs."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any

from grokjax import (
    builtins,  # noqa: F401  (registers the built-in components)
    registry,
)
from grokjax.errors import SpecError
from grokjax.hashing import stable_hash

# ---------------------------------------------------------------------------------------------


def resolve(task: str, overrides: Mapping[str, Any], source: str = "<config>",
            where: Callable[[str], str] | None = None) -> dict[str, Any]:
    """Full configuration of one run: its components' defaults plus overrides, cross-checked by
    the components' resolve hooks (which add derived values such as ``train_size``)."""
    where = where or (lambda key: key)
    try:
        sel = registry.select_for({**overrides, "task": task})
    except registry.RegistryError as e:
        raise SpecError(source, where("model"), str(e)) from None
    cfg = {s.name: sel.default(s) for s in sel.settings}
    cfg.update({k: v for k, v in overrides.items() if k in cfg})
    cfg["task"], cfg["model"] = task, sel.model.name

    def fail(key: str, message: str) -> None:
        raise SpecError(source, where(key), message)

    if cfg["steps"] % cfg["log_every"]:
        fail("log_every", f"steps = {cfg['steps']} must be a multiple of log_every = "
             f"{cfg['log_every']}")
    sel.task.resolve(cfg, fail)
    if sel.model.resolve is not None:
        sel.model.resolve(cfg, fail)
    if "train_size" not in cfg:
        fail("task", f"task {task!r} did not set train_size in its resolve hook")
    # A derived train_size is checked like a given one (an int32 on the device).
    registry.TRAIN_SIZE.coerce(source, where("train_size") if "train_size" in overrides
                               else "train_size (derived from the task's settings)",
                               int(cfg["train_size"]))
    return cfg


def run_id(cfg: Mapping[str, Any]) -> str:
    """Stable hash of a run's full configuration (settings and derived values, not ids)."""
    sel = registry.select_for(cfg)
    own = {s.name: s for s in sel.settings}
    keep = {}
    for k, v in cfg.items():
        s = own.get(k)
        if k == "run_id" or (s is not None and not s.id_at_default and v == sel.default(s)):
            continue
        keep[k] = v
    return stable_hash(keep)


def expand(task: str, fixed: Mapping[str, Any], grid: Mapping[str, list[Any]], data_seeds: str,
           source: str) -> list[dict[str, Any]]:
    """Every run of the sweep, in grid order, each a full configuration with its run_id."""
    axes = list(grid)

    def where(key: str) -> str:
        return f"[grid] {key}" if key in grid else f"[fixed] {key}" if key in fixed \
            else f"{key} (default)"

    runs, seen = [], {}
    for combo in itertools.product(*(grid[a] for a in axes)):
        point = dict(zip(axes, combo, strict=True))
        if data_seeds == "per_seed":
            point["data_seed"] = point["seed"]
        cfg = resolve(task, {**fixed, **point}, source, where)
        rid = run_id(cfg)
        if rid in seen:  # e.g. two fixed_embed lists, or an axis the run's components ignore
            raise SpecError(source, "[grid]", f"two grid points give the same run: "
                            f"{seen[rid]} and {dict(zip(axes, combo, strict=True))}")
        seen[rid] = dict(zip(axes, combo, strict=True))
        cfg["run_id"] = rid
        runs.append(cfg)
    return runs


def resolve_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The full configuration of a stored run, rebuilt from its result row (null cells are
    settings its components do not have; rows written before the ``model`` setting existed
    use the task's default model)."""
    overrides = {}
    for name in registry.all_settings():
        v = row.get(name)
        if v is None or _is_na(v):
            continue
        overrides[name] = _plain(v)
    return resolve(str(row["task"]), overrides, source=f"run {row.get('run_id')}")


def _is_na(v: Any) -> bool:
    """None, NaN or pandas.NA (a null cell); a list or an array is never null."""
    if v is None:
        return True
    if isinstance(v, (str, bool)) or hasattr(v, "__len__"):
        return False
    try:
        return math.isnan(v)
    except TypeError:  # pandas.NA (its float() raises)
        return type(v).__name__ == "NAType"


def _plain(v: Any) -> Any:
    if hasattr(v, "tolist"):
        return v.tolist()
    return v
