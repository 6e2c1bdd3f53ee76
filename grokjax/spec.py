"""Sweep files: validation with precise errors, grid expansion, run ids -- each done once.

A sweep file (``sweeps/NAME.toml``) has these tables::

    [sweep]            # name (default: file stem; a plain name, see NAME_RULE), description,
                       # seeds = N (seed axis 0..N-1),
                       # data_seeds = "fixed" | "per_seed", plugins = ["my_task.py", ...]
    [fixed]            # settings shared by every run
    [grid]             # axes: lists, or {logspace = [a, b], num = n} / {linspace = [a, b], num = n}
    [phases] [report] [engine] [checkpoints]   # options of the later stages (typed, below)
    [quick]            # the CI-sized variant (``sweep NAME --quick``)

The product of the grid axes (times the seeds) is the set of runs; more than ``MAX_RUNS`` is
refused (counted before the grid is expanded) unless ``allow_huge`` (``--allow-huge``).  A file
must give at least one setting in [fixed] or [grid] (an empty file is a mistake, not a default
run).  Settings are declared by the
components a run selects (``grokjax.registry``): the core settings, its task's, its model's, its
optimizer's and its penalty's.  ``parse_spec`` loads the file's plugins, checks every table,
expands the grid once and parses each stage's options into its typed object.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grokjax import (
    builtins,  # noqa: F401  (registers the built-in components)
    phases,
    registry,
)
from grokjax.adaptive_options import AdaptiveOptions, parse_adaptive
from grokjax.errors import SpecError
from grokjax.hashing import stable_hash
from grokjax.options import CheckpointOptions, EngineOptions, ReportOptions
from grokjax.registry import describe_settings
from grokjax.resolve import expand, resolve, resolve_row, run_id
from grokjax.settings import Setting, typename

__all__ = ["SpecError", "SweepSpec", "describe_settings", "expand", "load_spec", "parse_spec",
           "resolve", "resolve_row", "run_id"]

SECTIONS = ("sweep", "fixed", "grid", "phases", "report", "engine", "checkpoints", "adaptive",
            "quick")
QUICK_KEYS = ("seeds", "fixed", "grid", "adaptive")
SWEEP_KEYS = ("name", "description", "seeds", "data_seeds", "plugins")
DATA_SEEDS = ("fixed", "per_seed")
MAX_RUNS = 1_000_000  # larger sweeps need allow_huge (--allow-huge)
# A sweep name names its folder results/NAME, so it must be a plain name, never a path.
MAX_NAME = 100
QUICK_SUFFIX = "_quick"
_NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
NAME_RULE = (f"a plain name: letters, digits, _, - and . (not first), at most {MAX_NAME} "
             "characters (the results go to results/NAME; only --out chooses another path)")


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file: its runs (expanded once) and the typed options of each stage."""

    name: str
    source: str
    description: str
    data_seeds: str  # "fixed": the data_seed setting; "per_seed": data_seed = seed
    fixed: dict[str, Any]
    grid: dict[str, list[Any]]  # axis name -> values, in file order; "seed" is the last axis
    phases: phases.Rule
    report: ReportOptions
    engine: EngineOptions
    checkpoints: CheckpointOptions
    plugins: tuple[str, ...] = ()  # absolute paths of the plugin files, loaded in this order
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)  # the file's tables as read
    base_dir: str = "."
    _runs: tuple = dataclasses.field(default=(), repr=False, compare=False)
    _quick: Any = dataclasses.field(default=None, repr=False, compare=False)  # parsed [quick]
    adaptive: AdaptiveOptions | None = None  # [adaptive]: refined round by round
    _hash: str = dataclasses.field(default="", repr=False, compare=False)  # with_runs
    manifest_extra: dict = dataclasses.field(default_factory=dict, compare=False)  # with_runs

    @property
    def task(self) -> str:
        return self.fixed.get("task", registry.setting("task").default)

    @property
    def varying(self) -> list[str]:
        """Axes with more than one value, seed excluded."""
        return [k for k, v in self.grid.items() if len(v) > 1 and k != "seed"]

    def runs(self) -> list[dict[str, Any]]:
        """Every run, in grid order, each a full configuration with its ``run_id``."""
        return list(self._runs)

    def spec_hash(self) -> str:
        """Hash of the training definition: the sorted run ids (phases/report excluded)."""
        if self._hash:
            return self._hash
        ids = [r["run_id"] for r in self._runs]
        if self.adaptive is not None:  # round 0 + how later rounds are chosen
            return self.adaptive.spec_hash(ids, self.phases.name, self.phases.params())
        return stable_hash(sorted(ids))

    def with_runs(self, runs: list[dict[str, Any]], manifest: Mapping | None = None
                  ) -> SweepSpec:
        """The same sweep and spec hash over other runs (an adaptive round), with keys that
        its manifest.json adds or replaces."""
        return dataclasses.replace(self, _runs=tuple(runs), _hash=self.spec_hash(), _quick=None,
                                   manifest_extra=dict(manifest or {}))

    @property
    def has_quick(self) -> bool:
        return "quick" in self.raw

    def quick(self) -> SweepSpec:
        """The file's ``[quick]`` variant (``sweep --quick``), named ``NAME_quick``."""
        if not self.has_quick:
            raise SpecError(self.source, "[quick]", "this sweep file has no [quick] table, so "
                            "it has no --quick variant")
        if self._quick is not None:  # parsed (and its grid expanded) when the file was read
            return self._quick
        return _quick_spec(self.raw, self.source, self.name, self.base_dir)


def _check_name(source: str, name: str, given: bool, quick: bool) -> None:
    limit = MAX_NAME + (len(QUICK_SUFFIX) if quick else 0)
    if _NAME_RE.fullmatch(name) and len(name) <= limit:
        return
    if given:
        raise SpecError(source, "[sweep] name", f"{name!r} is not allowed; allowed: {NAME_RULE}")
    raise SpecError(source, "[sweep] name", f"the default name, the file's stem {name!r}, is "
                    f"not a plain name; give [sweep] name = \"...\": {NAME_RULE}")


def _quick_spec(raw: Mapping[str, Any], source: str, name: str, base_dir: str,
                allow_huge: bool = False) -> SweepSpec:
    """``[quick]`` overrides the file: ``seeds`` replaces [sweep] seeds, ``fixed`` keys are merged
    into [fixed] (and leave [grid]), ``grid`` axes replace the file's axes of the same name;
    [report] axes that no longer vary are dropped."""
    q = raw["quick"]
    for key in q:
        if key not in QUICK_KEYS:
            raise SpecError(source, f"[quick] {key}", "unknown key; allowed: "
                            + ", ".join(QUICK_KEYS))
    for key in ("fixed", "grid", "adaptive"):
        if not isinstance(q.get(key, {}), dict):
            raise SpecError(source, f"[quick] {key}", f"must be a table ({key} = {{ ... }}); "
                            f"got {typename(q[key])}")
    qfixed, qgrid = dict(q.get("fixed", {})), dict(q.get("grid", {}))
    sweep = {**raw.get("sweep", {}), "name": f"{name}{QUICK_SUFFIX}"}
    if "seeds" in q:
        sweep["seeds"] = q["seeds"]
    grid = {k: v for k, v in raw.get("grid", {}).items() if k not in qfixed}
    grid.update(qgrid)
    fixed = {k: v for k, v in raw.get("fixed", {}).items() if k not in qgrid}
    fixed.update(qfixed)
    varying = {k for k, v in grid.items() if isinstance(v, list) and len(v) > 1}
    report = {k: v for k, v in raw.get("report", {}).items()
              if k not in ("x", "y", "facet") or v in varying}
    data = {**{k: v for k, v in raw.items() if k != "quick"}, "sweep": sweep, "fixed": fixed,
            "grid": grid, "report": report}
    if "adaptive" in q:  # its keys replace those of [adaptive]
        data["adaptive"] = {**raw.get("adaptive", {}), **q["adaptive"]}
    return parse_spec(data, source=f"{source} [quick]", name=f"{name}{QUICK_SUFFIX}",
                      base_dir=base_dir, allow_huge=allow_huge, _quick=True)


def _axis_values(source: str, where: str, setting: Setting, raw: Any) -> list[Any]:
    if isinstance(raw, dict):
        kinds = [k for k in ("logspace", "linspace") if k in raw]
        extra = set(raw) - {"logspace", "linspace", "num"}
        if len(kinds) != 1 or extra or "num" not in raw:
            raise SpecError(source, where, f"a range table must be {{logspace = [start, stop], "
                            f"num = N}} or {{linspace = [start, stop], num = N}}; got {raw!r}")
        ends, num = raw[kinds[0]], raw["num"]
        if (not isinstance(ends, list) or len(ends) != 2
                or not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in ends)):
            raise SpecError(source, where, f"{kinds[0]} needs [start, stop] numbers; got {ends!r}")
        if not isinstance(num, int) or isinstance(num, bool) or num < 1:
            raise SpecError(source, where, f"num must be an integer >= 1; got {num!r}")
        if setting.type not in (int, float):
            raise SpecError(source, where, f"ranges need a numeric setting; allowed: "
                            f"{setting.allowed()}")
        a, b = (float(e) for e in ends)
        if kinds[0] == "logspace":
            if a <= 0 or b <= 0:
                raise SpecError(source, where, f"logspace ends must be > 0; got {ends!r}")
            vals = [a] if num == 1 else [
                math.exp(math.log(a) + (math.log(b) - math.log(a)) * i / (num - 1))
                for i in range(num)]
        else:
            vals = [a] if num == 1 else [a + (b - a) * i / (num - 1) for i in range(num)]
        # Round so that run ids do not depend on the last bits of exp/log on this machine.
        vals = [round(v) if setting.type is int else float(f"{v:.12g}") for v in vals]
    elif isinstance(raw, list):
        vals = raw
    else:
        raise SpecError(source, where, f"a grid axis must be a list of values or a range table;"
                        f" got {typename(raw)} {raw!r}")
    if not vals:
        raise SpecError(source, where, "the axis is empty; give at least one value")
    out = [setting.coerce(source, f"{where}[{i}]", v) for i, v in enumerate(vals)]
    keys = [json.dumps(v) for v in out]
    if len(set(keys)) != len(keys):
        raise SpecError(source, where, f"the axis repeats a value: {out!r}")
    return out


def _load_plugins(source: str, sweep: Mapping[str, Any], base_dir: Path) -> tuple[str, ...]:
    plugins = sweep.get("plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise SpecError(source, "[sweep] plugins", f"{plugins!r}: allowed: a list of Python "
                        "file paths (relative to the sweep file)")
    paths = []
    for i, rel in enumerate(plugins):
        path = (base_dir / rel).resolve()
        if path.suffix != ".py" or not path.is_file():
            raise SpecError(source, f"[sweep] plugins[{i}]", f"{rel!r}: no such Python file "
                            f"({path})")
        try:
            registry.load_plugin(path)
        except registry.RegistryError as e:
            raise SpecError(source, f"[sweep] plugins[{i}]", str(e)) from None
        paths.append(str(path))
    return tuple(paths)


def _selector_values(key: str, fixed: Mapping, grid: Mapping) -> list[str | None]:
    if key in grid:
        return list(grid[key])
    return [fixed.get(key)]


def parse_spec(data: Mapping[str, Any], source: str = "<spec>", name: str | None = None,
               base_dir: str | Path | None = None, *, allow_huge: bool = False,
               _quick: bool = False) -> SweepSpec:
    """Validate a parsed sweep table.  Raises SpecError naming ``source`` and the key.

    ``allow_huge``: accept more than ``MAX_RUNS`` runs (``--allow-huge``).  The name is [sweep]
    name, else ``name`` (both must be plain names, ``NAME_RULE``), else the stem of ``source``
    if it is one, else "sweep"."""
    for sec in data:
        if sec not in SECTIONS:
            raise SpecError(source, f"[{sec}]", "unknown table; allowed: "
                            + ", ".join(f"[{s}]" for s in SECTIONS))
        if not isinstance(data[sec], dict):
            raise SpecError(source, sec, f"must be a table [{sec}]; got {typename(data[sec])}")
    sweep = dict(data.get("sweep", {}))
    for key in sweep:
        if key not in SWEEP_KEYS:
            raise SpecError(source, f"[sweep] {key}", "unknown key; allowed: "
                            + ", ".join(SWEEP_KEYS))
    base = Path(base_dir) if base_dir is not None else Path(".")
    plugins = _load_plugins(source, sweep, base)
    fixed_raw, grid_raw = dict(data.get("fixed", {})), dict(data.get("grid", {}))
    for key in ("name", "description"):
        if key in sweep and not isinstance(sweep[key], str):
            raise SpecError(source, f"[sweep] {key}", f"{sweep[key]!r}: allowed: a string")
    sweep_name = sweep.get("name") or name
    if sweep_name:  # a given name, or the file's stem (load_spec): it must be a plain name
        _check_name(source, sweep_name, bool(sweep.get("name")), _quick)
    else:  # parse_spec(data) from Python without a name: the source's stem if plain
        stem = Path(source).stem
        sweep_name = stem if _NAME_RE.fullmatch(stem) and len(stem) <= MAX_NAME else "sweep"

    if "task" in grid_raw:
        raise SpecError(source, "[grid] task", "the task must be fixed: put it in [fixed]")
    task = registry.setting("task").coerce(source, "[fixed] task",
                                           fixed_raw.get("task", registry.setting("task").default))
    try:
        registry.select(task)
    except registry.RegistryError as e:  # pragma: no cover - task was checked above
        raise SpecError(source, "[fixed] task", str(e)) from None

    def lookup(section: str, key: str) -> Setting:
        s = registry.setting(key)
        if s is None:  # the settings of the components these runs choose, not the defaults'
            allowed = registry.settings_of(task, {**grid_raw, **fixed_raw})
            raise SpecError(source, f"[{section}] {key}", "unknown setting"
                            + registry.did_you_mean(key, allowed) + "; allowed: "
                            + ", ".join(allowed))
        return s

    fixed: dict[str, Any] = {}
    for key, v in fixed_raw.items():
        fixed[key] = lookup("fixed", key).coerce(source, f"[fixed] {key}", v)
    grid: dict[str, list[Any]] = {}
    for key, raw in grid_raw.items():
        if key in fixed:
            raise SpecError(source, f"[grid] {key}", "is also in [fixed]; give it in one place")
        grid[key] = _axis_values(source, f"[grid] {key}", lookup("grid", key), raw)

    # The components the runs select, and the settings they declare: every key must apply.
    selections = {}
    selector_keys = [k for k in registry.SELECTORS if k != "task"]
    for combo in itertools.product(*(_selector_values(k, fixed, grid)
                                     for k in selector_keys)):
        model = combo[0]
        where = f"[{'grid' if 'model' in grid else 'fixed'}] model" if model else "[fixed] task"
        try:
            selections[combo] = registry.select_for(
                {"task": task, **dict(zip(selector_keys, combo, strict=True))})
        except registry.RegistryError as e:
            raise SpecError(source, where, str(e)) from None
    usable = {s.name for sel in selections.values() for s in sel.settings}
    for section, keys in (("fixed", fixed), ("grid", grid)):
        for key in keys:
            if key not in usable:
                sel = next(iter(selections.values()))
                raise SpecError(source, f"[{section}] {key}", f"does not apply to task "
                                f"{task!r} (model {sel.model.name!r}, optimizer "
                                f"{sel.optimizer.name!r}, reg {sel.penalty.name!r}); settings "
                                "of these runs: " + ", ".join(sorted(usable)))

    seeds = sweep.get("seeds")
    if seeds is not None:
        if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
            raise SpecError(source, "[sweep] seeds", f"{seeds!r}: allowed: an integer >= 1")
        if "seed" in grid or "seed" in fixed:
            raise SpecError(source, "[sweep] seeds", "give either [sweep] seeds or a seed "
                            "setting, not both")
        grid["seed"] = list(range(seeds))
    elif "seed" in grid:
        grid["seed"] = grid.pop("seed")  # the seed axis is always last, so seeds sit together

    data_seeds = sweep.get("data_seeds", "fixed")
    if data_seeds not in DATA_SEEDS:
        raise SpecError(source, "[sweep] data_seeds", f"{data_seeds!r}: allowed: "
                        + ", ".join(repr(d) for d in DATA_SEEDS))
    if data_seeds == "per_seed":
        if "data_seed" in fixed or "data_seed" in grid:
            raise SpecError(source, "[sweep] data_seeds", "'per_seed' sets data_seed = seed; "
                            "do not also give a data_seed setting")
        if "seed" not in grid:
            raise SpecError(source, "[sweep] data_seeds", "'per_seed' needs a seed axis "
                            "([sweep] seeds = N or a [grid] seed list)")
    stages = dict(
        phases=phases.rule_from_options(dict(data.get("phases", {})), source=source),
        report=ReportOptions.from_mapping(dict(data.get("report", {})), source, list(grid)),
        engine=EngineOptions.from_mapping(dict(data.get("engine", {})), source))
    if not fixed_raw and not grid_raw:
        raise SpecError(source, "[fixed]", "the file gives no settings; add a [fixed] table "
                        "with at least task = \"...\" (tasks: "
                        + ", ".join(registry.names("task")) + ")")
    n_runs = math.prod(len(v) for v in grid.values())
    if n_runs > MAX_RUNS and not allow_huge:  # counted before anything is expanded
        raise SpecError(source, "[grid]", f"{n_runs:,} runs (the product of the axes' lengths"
                        f"{', seeds included' if 'seed' in grid else ''}) is more than the "
                        f"limit of {MAX_RUNS:,}; pass --allow-huge (sweep, validate) to run "
                        "it anyway")
    runs = expand(task, fixed, grid, data_seeds, source)
    stages["checkpoints"] = CheckpointOptions.from_mapping(data.get("checkpoints"), source,
                                                           len(runs), [*grid, *fixed])
    adaptive = parse_adaptive(data.get("adaptive"), source, grid, grid_raw, fixed, len(runs))
    raw = json.loads(json.dumps(dict(data), default=str))
    # A bad [quick] table is an error of the file, found when it is read; parsed once, here.
    quick = (_quick_spec(raw, source, sweep_name, str(base), allow_huge)
             if "quick" in data else None)
    return SweepSpec(name=sweep_name, source=source, description=sweep.get("description", ""),
                     data_seeds=data_seeds, fixed=fixed, grid=grid, **stages, plugins=plugins,
                     raw=raw, base_dir=str(base), _runs=tuple(runs), _quick=quick,
                     adaptive=adaptive)


def load_spec(path: str | Path, *, allow_huge: bool = False) -> SweepSpec:
    """Read and validate ``sweeps/NAME.toml`` (or a bare NAME, looked up in ``sweeps/``)."""
    p = Path(path)
    if not p.suffix and not p.exists():
        p = Path("sweeps") / f"{p}.toml"
    source = str(path) if str(path) == str(p) else f"{path} ({p})"
    if p.is_dir():
        raise SpecError(source, "", "is a directory, not a sweep file (give a .toml file)")
    if not p.is_file():
        choices = sorted(q.stem for q in Path("sweeps").glob("*.toml")) if Path(
            "sweeps").is_dir() else []
        hint = f"; sweeps in ./sweeps: {', '.join(choices)}" if choices else ""
        raise SpecError(source, "", f"no such sweep file{hint}")
    try:
        data = tomllib.loads(p.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise SpecError(source, "", f"not UTF-8 text (byte {e.start}); a sweep file is TOML, "
                        "which is UTF-8") from None
    except OSError as e:
        raise SpecError(source, "", f"cannot read the sweep file ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(source, "", f"not valid TOML: {e}") from None
    return parse_spec(data, source=str(p), name=p.stem, base_dir=p.resolve().parent,
                      allow_huge=allow_huge)
