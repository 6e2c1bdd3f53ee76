"""Sweep files: the settings registry, validation with precise errors, grid expansion, run ids.

A sweep file (``sweeps/NAME.toml``) has four tables::

    [sweep]            # name (default: file stem), description, seeds = N (seed axis 0..N-1),
                       # data_seeds = "fixed" (default: the data_seed setting) or "per_seed"
    [fixed]            # settings shared by every run
    [grid]             # axes: lists, or {logspace = [a, b], num = n} / {linspace = [a, b], num = n}
    [phases] [report] [engine]   # classification, page and engine options (see their modules)

The product of the grid axes (times the seeds) is the set of runs.  Every setting is declared once
in ``SETTINGS`` below: its type, default, allowed values, the tasks it applies to, and its role --
``static`` settings change array shapes or code paths (one compiled program per distinct
combination), ``run`` settings are per-run numbers that become traced, vmapped arrays.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

TASKS = ("parity", "modular")
STATIC, RUN = "static", "run"


class SpecError(ValueError):
    """A sweep file is wrong.  The message names the file, the key and what is allowed."""

    def __init__(self, source: str, key: str, message: str):
        self.source, self.key, self.message = source, key, message
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------


def _positive(v):
    return None if v > 0 else "must be > 0"


def _nonneg(v):
    return None if v >= 0 else "must be >= 0"


def _unit_open(v):
    return None if 0 <= v < 1 else "must be in [0, 1)"


def _frac(v):
    return None if 0 < v < 1 else "must be strictly between 0 and 1"


def _freqs(v):
    if any((not isinstance(f, int)) or isinstance(f, bool) or f < 1 for f in v):
        return "must be a list of integer frequencies >= 1"
    if len(set(v)) != len(v):
        return "must not repeat a frequency"
    return None


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str
    type: type  # int, float, str, bool or list (a list of ints)
    default: Any  # a value, or a dict task -> value
    role: str  # STATIC or RUN
    tasks: tuple[str, ...]
    doc: str
    choices: tuple | None = None
    check: Callable[[Any], str | None] | None = None
    # Settings added after results existed leave run ids unchanged at their default (the runs
    # are the same runs), and change them only when set otherwise.
    id_at_default: bool = True

    def default_for(self, task: str) -> Any:
        return self.default[task] if isinstance(self.default, dict) else self.default

    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        reason = {
            _positive: "> 0",
            _nonneg: ">= 0",
            _unit_open: "in [0, 1)",
            _frac: "strictly between 0 and 1",
        }.get(self.check)
        tname = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
        base = tname.get(self.type, "a list of integers")
        return f"{base} {reason}" if reason else base


_BOTH = TASKS
_P, _M = ("parity",), ("modular",)

SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting("task", str, "parity", STATIC, _BOTH, "which task", choices=TASKS),
        # training length and logging
        Setting("steps", int, {"parity": 20_000, "modular": 50_000}, STATIC, _BOTH,
                "full-batch optimizer steps", check=_positive),
        Setting("log_every", int, 100, STATIC, _BOTH,
                "metrics are logged at step 0 and every log_every steps", check=_positive),
        Setting("dtype", str, "float32", STATIC, _BOTH,
                "float type of parameters and arithmetic", choices=("float32", "float64")),
        Setting("matmul_precision", str, "highest", STATIC, _BOTH,
                "highest: matrix products in the full dtype on every backend; default: the "
                "backend's fast default (TF32 on recent NVIDIA GPUs, bfloat16 passes on TPU), "
                "which changes training curves", choices=("highest", "default"),
                id_at_default=False),
        # optimizer
        Setting("optimizer", str, "adamw", STATIC, _BOTH,
                "adamw: decoupled weight decay; adam: penalty added to the gradient before Adam;"
                " sgd: plain gradient descent with the penalty in the gradient",
                choices=("adamw", "adam", "sgd")),
        Setting("reg", str, "l2", STATIC, _BOTH, "weight-decay penalty: l2 (w) or l1 (sign w)",
                choices=("l2", "l1")),
        Setting("lr", float, {"parity": 3e-3, "modular": 1e-3}, RUN, _BOTH, "learning rate",
                check=_positive),
        Setting("weight_decay", float, {"parity": 0.1, "modular": 1.0}, RUN, _BOTH,
                "weight-decay strength", check=_nonneg),
        Setting("beta1", float, {"parity": 0.99, "modular": 0.9}, RUN, _BOTH, "Adam beta1",
                check=_unit_open),
        Setting("beta2", float, 0.98, RUN, _BOTH, "Adam beta2", check=_unit_open),
        Setting("eps", float, 1e-8, RUN, _BOTH, "Adam epsilon", check=_positive),
        # model
        Setting("hidden", int, {"parity": 64, "modular": 24}, STATIC, _BOTH, "hidden neurons",
                check=_positive),
        Setting("activation", str, "relu", STATIC, _BOTH, "hidden activation",
                choices=("relu", "square", "gelu", "tanh", "linear")),
        Setting("init_scale", float, 1.0, RUN, _BOTH, "multiplier on every initial weight",
                check=_positive),
        Setting("seed", int, 0, RUN, _BOTH, "initialisation seed", check=_nonneg),
        Setting("data_seed", int, 0, RUN, _BOTH,
                "seed of the data (parity sequences, modular train/test split)", check=_nonneg),
        # sparse parity
        Setting("n", int, 30, STATIC, _P, "bits per sequence", check=_positive),
        Setting("k", int, 3, STATIC, _P, "the label is the parity of the first k bits",
                check=_positive),
        Setting("train_size", int, 1000, RUN, _P, "training sequences (a fixed batch)",
                check=_positive),
        Setting("test_size", int, 5000, STATIC, _P, "held-out test sequences", check=_positive),
        # modular arithmetic
        Setting("p", int, 67, STATIC, _M, "modulus", check=lambda v: None if v >= 2 else
                "must be >= 2"),
        Setting("op", str, "add", STATIC, _M, "operation (a op b) mod p",
                choices=("add", "sub", "mul")),
        Setting("symmetric", bool, False, STATIC, _M,
                "only pairs with a <= b (commutative ops only)"),
        Setting("train_frac", float, 0.4, RUN, _M, "fraction of pairs used for training",
                check=_frac),
        Setting("embed", int, 500, STATIC, _M, "embedding width d (ignored with fixed_embed)",
                check=_positive),
        Setting("input_side", str, "factored", STATIC, _M,
                "factored: hidden = E[a] W_in + E[b] W_in; collapsed: hidden = E[a] + E[b]",
                choices=("factored", "collapsed")),
        Setting("output_side", str, "factored", STATIC, _M,
                "factored: logits = h W_out U^T; collapsed: logits = h W_output (hidden x p)",
                choices=("factored", "collapsed")),
        Setting("tie", str, "tied", STATIC, _M,
                "tied: one E embeds a, b and unembeds; input_tied: a and b share E, separate"
                " unembedding; untied: separate E_a, E_b and unembedding",
                choices=("tied", "input_tied", "untied")),
        Setting("shared_win", bool, True, STATIC, _M, "a and b share W_in (else W_in_a, W_in_b)"),
        Setting("fixed_embed", list, [], STATIC, _M,
                "frequencies of a fixed circular embedding (empty: trained embedding)",
                check=_freqs),
        Setting("loss", str, "ce", STATIC, _M,
                "ce: cross-entropy averaged over examples; ce_class_mean: also averaged over"
                " the p classes (the notebooks' CE/p)", choices=("ce", "ce_class_mean")),
    ]
}

# Columns derived from settings, stored beside them in the results.
DERIVED = ("train_size",)  # for modular runs: the number of training pairs, round(train_frac*P)


def applicable(task: str) -> list[str]:
    return [name for name, s in SETTINGS.items() if task in s.tasks]


# ---------------------------------------------------------------------------------------------
# Spec parsing
# ---------------------------------------------------------------------------------------------

SECTIONS = ("sweep", "fixed", "grid", "phases", "report", "engine", "checkpoints", "quick")
QUICK_KEYS = ("seeds", "fixed", "grid")
SWEEP_KEYS = ("name", "description", "seeds", "data_seeds")
DATA_SEEDS = ("fixed", "per_seed")


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file: the runs it expands to and the options of the later stages."""

    name: str
    source: str
    description: str
    data_seeds: str  # "fixed": the data_seed setting; "per_seed": data_seed = seed
    fixed: dict[str, Any]
    grid: dict[str, list[Any]]  # axis name -> values, in file order; "seed" is the last axis
    phases: dict[str, Any]
    report: dict[str, Any]
    engine: dict[str, Any]
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)  # the file's tables as read

    @property
    def task(self) -> str:
        return self.fixed.get("task", SETTINGS["task"].default)

    @property
    def varying(self) -> list[str]:
        """Axes with more than one value, seed excluded."""
        return [k for k, v in self.grid.items() if len(v) > 1 and k != "seed"]

    def runs(self) -> list[dict[str, Any]]:
        return expand(self)

    def spec_hash(self) -> str:
        """Hash of the training definition: the sorted run ids (phases/report excluded)."""
        return _hash(sorted(r["run_id"] for r in self.runs()))

    @property
    def has_quick(self) -> bool:
        return "quick" in self.raw

    def quick(self) -> SweepSpec:
        """The file's ``[quick]`` variant (``sweep --quick``), named ``NAME_quick``."""
        if not self.has_quick:
            raise SpecError(self.source, "[quick]", "this sweep file has no [quick] table, so "
                            "it has no --quick variant")
        return _quick_spec(self.raw, self.source, self.name)


def _quick_spec(raw: Mapping[str, Any], source: str, name: str) -> SweepSpec:
    """``[quick]`` overrides the file: ``seeds`` replaces [sweep] seeds, ``fixed`` keys are merged
    into [fixed] (and leave [grid]), ``grid`` axes replace the file's axes of the same name;
    [report] axes that no longer vary are dropped."""
    q = raw["quick"]
    for key in q:
        if key not in QUICK_KEYS:
            raise SpecError(source, f"[quick] {key}", "unknown key; allowed: "
                            + ", ".join(QUICK_KEYS))
    for key in ("fixed", "grid"):
        if not isinstance(q.get(key, {}), dict):
            raise SpecError(source, f"[quick] {key}", f"must be a table ({key} = {{ ... }}); "
                            f"got {_typename(q[key])}")
    qfixed, qgrid = dict(q.get("fixed", {})), dict(q.get("grid", {}))
    sweep = {**raw.get("sweep", {}), "name": f"{name}_quick"}
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
    return parse_spec(data, source=f"{source} [quick]", name=f"{name}_quick")


def _hash(obj: Any, n: int = 16) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:n]


def _typename(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(v), type(v).__name__)


def _coerce(source: str, where: str, setting: Setting, v: Any) -> Any:
    """Check one value's type and range; ints are accepted where floats are expected."""
    t = setting.type
    ok = (
        (t is bool and isinstance(v, bool))
        or (t is int and isinstance(v, int) and not isinstance(v, bool))
        or (t is float and isinstance(v, (int, float)) and not isinstance(v, bool))
        or (t is str and isinstance(v, str))
        or (t is list and isinstance(v, list))
    )
    if not ok:
        raise SpecError(source, where, f"{v!r} is {_typename(v)}; allowed: {setting.allowed()}")
    if t is float:
        v = float(v)
        if not math.isfinite(v):
            raise SpecError(source, where, f"{v!r} is not finite; allowed: {setting.allowed()}")
    if setting.choices is not None and v not in setting.choices:
        raise SpecError(source, where, f"{v!r} is not allowed; allowed: {setting.allowed()}")
    if setting.check is not None:
        reason = setting.check(v)
        if reason:
            raise SpecError(source, where, f"{v!r} {reason}")
    return list(v) if t is list else v


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
                        f" got {_typename(raw)} {raw!r}")
    if not vals:
        raise SpecError(source, where, "the axis is empty; give at least one value")
    out = [_coerce(source, f"{where}[{i}]", setting, v) for i, v in enumerate(vals)]
    keys = [json.dumps(v) for v in out]
    if len(set(keys)) != len(keys):
        raise SpecError(source, where, f"the axis repeats a value: {out!r}")
    return out


def parse_spec(data: Mapping[str, Any], source: str = "<spec>", name: str | None = None
               ) -> SweepSpec:
    """Validate a parsed sweep table.  Raises SpecError naming ``source`` and the key."""
    for sec in data:
        if sec not in SECTIONS:
            raise SpecError(source, f"[{sec}]", "unknown table; allowed: "
                            + ", ".join(f"[{s}]" for s in SECTIONS))
        if not isinstance(data[sec], dict):
            raise SpecError(source, sec, f"must be a table [{sec}]; got {_typename(data[sec])}")
    sweep = dict(data.get("sweep", {}))
    for key in sweep:
        if key not in SWEEP_KEYS:
            raise SpecError(source, f"[sweep] {key}", "unknown key; allowed: "
                            + ", ".join(SWEEP_KEYS))
    fixed_raw, grid_raw = dict(data.get("fixed", {})), dict(data.get("grid", {}))

    task = fixed_raw.get("task", SETTINGS["task"].default)
    if "task" in grid_raw:
        raise SpecError(source, "[grid] task", "the task must be fixed: put it in [fixed]")
    task = _coerce(source, "[fixed] task", SETTINGS["task"], task)

    def lookup(section: str, key: str) -> Setting:
        s = SETTINGS.get(key)
        if s is None:
            raise SpecError(source, f"[{section}] {key}", "unknown setting; allowed: "
                            + ", ".join(applicable(task)))
        if task not in s.tasks:
            raise SpecError(source, f"[{section}] {key}", f"does not apply to task {task!r}; "
                            f"settings of {task!r}: " + ", ".join(applicable(task)))
        return s

    fixed: dict[str, Any] = {}
    for key, v in fixed_raw.items():
        fixed[key] = _coerce(source, f"[fixed] {key}", lookup("fixed", key), v)
    grid: dict[str, list[Any]] = {}
    for key, raw in grid_raw.items():
        if key in fixed:
            raise SpecError(source, f"[grid] {key}", "is also in [fixed]; give it in one place")
        grid[key] = _axis_values(source, f"[grid] {key}", lookup("grid", key), raw)

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

    for key in ("name", "description"):
        if key in sweep and not isinstance(sweep[key], str):
            raise SpecError(source, f"[sweep] {key}", f"{sweep[key]!r}: allowed: a string")
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
    spec = SweepSpec(
        name=sweep.get("name") or name or Path(source).stem,
        source=source,
        description=sweep.get("description", ""),
        data_seeds=data_seeds,
        fixed=fixed,
        grid=grid,
        phases=dict(data.get("phases", {})),
        report=dict(data.get("report", {})),
        engine=dict(data.get("engine", {})),
        raw=json.loads(json.dumps(dict(data), default=str)),
    )
    runs = expand(spec)  # validates every combination (k <= n, sizes, ...)
    _check_stage_options(spec)
    if len(runs) == 0:  # pragma: no cover - every axis has >= 1 value
        raise SpecError(source, "[grid]", "the sweep has no runs")
    if "quick" in data:  # a bad [quick] table is an error of the file, found when it is read
        _quick_spec(spec.raw, source, spec.name)
    return spec


def _check_stage_options(spec: SweepSpec) -> None:
    """Options of later stages are validated by their own modules, imported lazily."""
    from grokjax import checkpoints, engine, phases

    phases.rule_from_options(spec.phases, source=spec.source)
    checkpoints.CheckpointOptions.from_spec(spec)
    engine.EngineOptions.from_mapping(spec.engine, source=spec.source)
    from grokjax.report import axes

    axes.check_report_options(spec, spec.report)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate ``sweeps/NAME.toml`` (or a bare NAME, looked up in ``sweeps/``)."""
    p = Path(path)
    if not p.suffix and not p.exists():
        p = Path("sweeps") / f"{p}.toml"
    source = str(path) if str(path) == str(p) else f"{path} ({p})"
    if not p.is_file():
        choices = sorted(q.stem for q in Path("sweeps").glob("*.toml")) if Path(
            "sweeps").is_dir() else []
        hint = f"; sweeps in ./sweeps: {', '.join(choices)}" if choices else ""
        raise SpecError(source, "", f"no such sweep file{hint}")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise SpecError(source, "", f"not valid TOML: {e}") from None
    return parse_spec(data, source=str(p), name=p.stem)


# ---------------------------------------------------------------------------------------------
# Expansion
# ---------------------------------------------------------------------------------------------


def n_pairs(cfg: Mapping[str, Any]) -> int:
    p = cfg["p"]
    return p * (p + 1) // 2 if cfg["symmetric"] else p * p


def resolve(task: str, overrides: Mapping[str, Any], source: str = "<config>",
            where: Callable[[str], str] | None = None) -> dict[str, Any]:
    """Full configuration of one run: defaults of the task plus overrides, cross-checked."""
    where = where or (lambda key: key)
    cfg = {name: SETTINGS[name].default_for(task) for name in applicable(task)}
    cfg.update(overrides)
    cfg["task"] = task
    if cfg["steps"] % cfg["log_every"]:
        raise SpecError(source, where("log_every"), f"steps = {cfg['steps']} must be a multiple"
                        f" of log_every = {cfg['log_every']}")
    if task == "parity":
        if cfg["k"] > cfg["n"]:
            raise SpecError(source, where("k"), f"k = {cfg['k']} exceeds n = {cfg['n']}; "
                            "allowed: 1 <= k <= n")
        if cfg["train_size"] > 2 ** cfg["n"]:
            raise SpecError(source, where("train_size"), f"train_size = {cfg['train_size']} is "
                            f"larger than the data: only 2**n = {2 ** cfg['n']} distinct "
                            "sequences exist")
    else:
        if cfg["symmetric"] and cfg["op"] == "sub":
            raise SpecError(source, where("symmetric"), "symmetric pairs (a <= b) need a "
                            "commutative op; allowed with op = 'add' or 'mul'")
        total = n_pairs(cfg)
        n_train = round(cfg["train_frac"] * total)
        if not 1 <= n_train <= total - 1:
            raise SpecError(source, where("train_frac"), f"train_frac = {cfg['train_frac']} "
                            f"gives {n_train} of {total} pairs for training; both the train and"
                            " the test split need at least one pair")
        cfg["train_size"] = n_train
        if cfg["fixed_embed"]:
            bad = [f for f in cfg["fixed_embed"] if f > (cfg["p"] - 1) // 2]
            if bad:
                raise SpecError(source, where("fixed_embed"), f"frequencies {bad} exceed "
                                f"(p-1)/2 = {(cfg['p'] - 1) // 2}")
            for key, need in (("input_side", "factored"), ("output_side", "factored"),
                              ("tie", "tied")):
                if cfg[key] != need:
                    raise SpecError(source, where(key), f"a fixed circular embedding needs "
                                    f"{key} = {need!r} (got {cfg[key]!r})")
            cfg["embed"] = 2 * len(cfg["fixed_embed"])
    return cfg


def run_id(cfg: Mapping[str, Any]) -> str:
    """Stable hash of a run's full configuration (settings only, not results or ids)."""
    task = cfg.get("task", SETTINGS["task"].default)
    return _hash({k: cfg[k] for k, s in SETTINGS.items() if k in cfg and (
        s.id_at_default or cfg[k] != s.default_for(task))})


def expand(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every run of the sweep, in grid order, each a full configuration with its run_id."""
    task = spec.task
    axes = list(spec.grid)

    def where(key: str) -> str:
        return f"[grid] {key}" if key in spec.grid else f"[fixed] {key}" if key in spec.fixed \
            else f"{key} (default {SETTINGS[key].default_for(task)!r})"

    runs, seen = [], {}
    for combo in itertools.product(*(spec.grid[a] for a in axes)):
        point = dict(zip(axes, combo, strict=True))
        if spec.data_seeds == "per_seed":
            point["data_seed"] = point["seed"]
        cfg = resolve(task, {**spec.fixed, **point}, spec.source, where)
        rid = run_id(cfg)
        if rid in seen:  # e.g. two fixed_embed lists that resolve to the same run
            raise SpecError(spec.source, "[grid]", f"two grid points give the same run: "
                            f"{seen[rid]} and {dict(zip(axes, combo, strict=True))}")
        seen[rid] = dict(zip(axes, combo, strict=True))
        cfg["run_id"] = rid
        runs.append(cfg)
    return runs


def describe_settings(task: str | None = None) -> str:
    """A plain-text table of settings (for ``python -m grokjax settings`` and the docs)."""
    lines = []
    for s in SETTINGS.values():
        if task and task not in s.tasks:
            continue
        d = s.default if not isinstance(s.default, dict) else ", ".join(
            f"{t}: {v}" for t, v in s.default.items())
        lines.append(f"{s.name:13s} {s.role:6s} {'/'.join(s.tasks):15s} default {d!s:22s} "
                     f"{s.allowed()}. {s.doc}")
    return "\n".join(lines)

