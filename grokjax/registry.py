"""Components registered by name, the core settings every run has, and plugin files.

``register(component)`` adds a task, model, optimizer or penalty; a sweep file selects them by
name (``task = "parity"``, ``model = "mlp"``, ``optimizer = "adamw"``, ``reg = "l2"``).  Built-ins
register themselves when ``grokjax.builtins`` is imported; a sweep file's ``[sweep] plugins``
are Python files that call ``register`` the same way (``load_plugin``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import importlib.util
import itertools
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from grokjax.components import (
    Component,
    GradFilter,
    Model,
    Normaliser,
    Optimizer,
    Penalty,
    Task,
)
from grokjax.settings import RUN, STATIC, Setting, nonneg, positive


class RegistryError(ValueError):
    """A component cannot be registered (a name taken, a setting that conflicts)."""


_KINDS: dict[type, str] = {Task: "task", Model: "model", Optimizer: "optimizer",
                           Penalty: "penalty", GradFilter: "grad_filter",
                           Normaliser: "normaliser"}
_COMPONENTS: dict[str, dict[str, Any]] = {kind: {} for kind in _KINDS.values()}
_SETTINGS: dict[str, Setting] = {}  # every setting by name: core first, then components'
_PLUGINS: dict[Path, str] = {}  # plugin file -> sha256 of its text when loaded


def names(kind: str) -> tuple[str, ...]:
    return tuple(_COMPONENTS[kind])


def _choices(kind: str):
    return lambda: names(kind)


CORE: tuple[Setting, ...] = (
    Setting("task", str, "parity", STATIC, "which task", choices=_choices("task")),
    Setting("model", str, "", STATIC, "which model (default: the task's own)",
            choices=_choices("model"), id_at_default=False),
    Setting("optimizer", str, "adamw", STATIC,
            "adamw: decoupled weight decay; adam: penalty added to the gradient before Adam; "
            "sgd: plain gradient descent with the penalty in the gradient; muon: "
            "optax.contrib.muon on matrices, Nesterov Adam on the rest, decoupled penalty",
            choices=_choices("optimizer")),
    Setting("reg", str, "l2", STATIC, "weight-decay penalty: l2 (w) or l1 (sign w)",
            choices=_choices("penalty")),
    Setting("grad_filter", str, "none", STATIC,
            "a filter on the loss gradient before the optimizer and its penalty: none, "
            "grokfast_ema, grokfast_ma (Lee et al. 2024) or orthograd (Prieto et al. 2025)",
            choices=_choices("grad_filter"), id_at_default=False),
    Setting("steps", int, 20_000, STATIC, "optimizer steps", check=positive),
    Setting("batch_size", int, 0, STATIC,
            "examples per step, drawn without replacement among the run's train_size from a "
            "key of (seed, step) (docs/extending.md); 0: full batch",
            check=nonneg, id_at_default=False),
    Setting("log_every", int, 100, STATIC,
            "metrics are logged at step 0 and every log_every steps", check=positive),
    Setting("dtype", str, "float32", STATIC, "float type of parameters and arithmetic",
            choices=("float32", "float64")),
    Setting("matmul_precision", str, "highest", STATIC,
            "highest: matrix products in the full dtype on every backend; default: the "
            "backend's fast default (TF32 on recent NVIDIA GPUs, bfloat16 passes on TPU), "
            "which changes training curves", choices=("highest", "default"),
            id_at_default=False),
    Setting("init_scale", float, 1.0, RUN, "multiplier on every initial weight",
            check=positive),
    Setting("seed", int, 0, RUN, "initialisation seed", check=nonneg, array="uint32"),
    Setting("data_seed", int, 0, RUN, "seed of the task's data (its sequences, its split)",
            check=nonneg, array="uint32"),
)
# Selects a component: setting name -> kind
SELECTORS = {"task": "task", "model": "model", "optimizer": "optimizer", "reg": "penalty",
             "grad_filter": "grad_filter"}
# Set by every task's resolve hook (the number of training examples; masks the padded set)
TRAIN_SIZE = Setting("train_size", int, 1000, RUN, "training examples (derived for most tasks)",
                     check=positive, array="int32")


def _add_setting(owner: str, s: Setting) -> None:
    old = _SETTINGS.get(s.name)
    if old is None:
        _SETTINGS[s.name] = s
    elif (old.type, old.role, old.array) != (s.type, s.role, s.array):
        raise RegistryError(f"{owner}: setting {s.name!r} ({s.type.__name__}, {s.role}) "
                            f"conflicts with the registered one ({old.type.__name__}, "
                            f"{old.role}); give it another name")


for _s in (*CORE, TRAIN_SIZE):
    _add_setting("core", _s)


def register(component: Component) -> Component:
    """Register a task, model, optimizer or penalty under its name; returns it."""
    kind = _KINDS.get(type(component))
    if kind is None:
        raise RegistryError(f"cannot register {component!r}: not a Task, Model, Optimizer, "
                            "Penalty, GradFilter or Normaliser (grokjax.components)")
    if component.name in _COMPONENTS[kind]:
        raise RegistryError(f"a {kind} named {component.name!r} is already registered; "
                            "choose another name")
    core = {s.name for s in CORE}
    seen = set()
    settings = getattr(component, "settings", ())
    for s in settings:
        if s.name in core or s.name in seen:
            raise RegistryError(f"{kind} {component.name!r}: setting {s.name!r} is declared "
                                "twice (core settings: " + ", ".join(sorted(core)) + ")")
        seen.add(s.name)
    for s in settings:
        _add_setting(f"{kind} {component.name!r}", s)
    _COMPONENTS[kind][component.name] = component
    _SELECTIONS.clear()
    return component


def get(kind: str, name: str) -> Any:
    try:
        return _COMPONENTS[kind][name]
    except KeyError:
        raise RegistryError(f"no {kind} named {name!r}; registered: "
                            + ", ".join(names(kind))) from None


def setting(name: str) -> Setting | None:
    return _SETTINGS.get(name)


def all_settings() -> dict[str, Setting]:
    return dict(_SETTINGS)


@dataclasses.dataclass(frozen=True)
class Selection:
    """The components one run uses, and the settings they declare (core first)."""

    task: Task
    model: Model
    optimizer: Optimizer
    penalty: Penalty
    grad_filter: GradFilter

    @functools.cached_property
    def settings(self) -> tuple[Setting, ...]:
        out: dict[str, Setting] = {s.name: s for s in CORE}
        for c in (self.task, self.model, self.optimizer, self.penalty, self.grad_filter):
            for s in c.settings:
                out.setdefault(s.name, s)
        return tuple(out.values())

    def default(self, s: Setting) -> Any:
        """A setting's default for this run: declared < the task's defaults < the model's."""
        if s.name == "model":
            return self.task.default_model
        for overrides in (self.model.defaults, self.task.defaults):
            if s.name in overrides:
                return overrides[s.name]
        return s.default


_SELECTIONS: dict[tuple, Selection] = {}


def select(task: str, model: str | None = None, optimizer: str = "adamw",
           reg: str = "l2", grad_filter: str = "none") -> Selection:
    """The components of a run (the task's default model unless ``model`` is given)."""
    key = (task, model or None, optimizer, reg, grad_filter)
    if key not in _SELECTIONS:
        _SELECTIONS[key] = _select(*key)
    return _SELECTIONS[key]


def select_for(cfg: Mapping[str, Any]) -> Selection:
    """The components a run configuration (a mapping of settings) selects, defaults where
    a selector is absent."""
    return select(cfg["task"], cfg.get("model") or None, cfg.get("optimizer") or "adamw",
                  cfg.get("reg") or "l2", cfg.get("grad_filter") or "none")


def settings_of(task: str, choices: Mapping[str, Any]) -> list[str]:
    """The settings of every run a sweep's selectors could pick: ``choices`` maps a selector
    (model, optimizer, reg, grad_filter) to a value or a list of values (a [grid] axis);
    unknown or incompatible choices are left out (they fail with their own error)."""
    keys = [k for k in SELECTORS if k != "task"]
    axes = [v if isinstance(v, list) else [v] for v in (choices.get(k) for k in keys)]
    names_: dict[str, None] = {}
    for combo in itertools.product(*axes):
        try:
            sel = select_for({"task": task, **dict(zip(keys, combo, strict=True))})
        except (RegistryError, TypeError):
            continue
        names_.update(dict.fromkeys(s.name for s in sel.settings))
    return list(names_) or [s.name for s in select(task).settings]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest candidate, or ''."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _select(task: str, model: str | None, optimizer: str, reg: str, grad_filter: str
            ) -> Selection:
    t = get("task", task)
    m = get("model", model or t.default_model)
    if m.inputs is not None and t.inputs not in m.inputs:
        raise RegistryError(f"model {m.name!r} does not apply to task {t.name!r} (it takes "
                            f"{'/'.join(m.inputs)} inputs, the task gives {t.inputs!r}); "
                            f"models for {t.name!r}: " + ", ".join(models_for(t)))
    return Selection(t, m, get("optimizer", optimizer), get("penalty", reg),
                     get("grad_filter", grad_filter))


def models_for(task: Task) -> list[str]:
    return [n for n, c in _COMPONENTS["model"].items()
            if c.inputs is None or task.inputs in c.inputs]


def load_plugin(path: str | Path) -> None:
    """Import a plugin file (it registers components).  A file already loaded with the same
    text is skipped; RegistryError if it fails to import or registers a taken name."""
    p = Path(path).resolve()
    try:
        text = p.read_bytes()
    except OSError as e:
        raise RegistryError(f"{path}: cannot read the plugin file ({e.strerror})") from None
    digest = hashlib.sha256(text).hexdigest()
    if _PLUGINS.get(p) == digest:
        return
    if p in _PLUGINS:
        raise RegistryError(f"{path}: this plugin was already loaded in this process with "
                            "other contents; start a new process to load the changed file")
    module = f"grokjax_plugin_{p.stem}_{digest[:8]}"
    spec = importlib.util.spec_from_file_location(module, p)
    if spec is None or spec.loader is None:
        raise RegistryError(f"{path}: not an importable Python file")
    mod = importlib.util.module_from_spec(spec)
    before = {k: dict(v) for k, v in _COMPONENTS.items()}
    settings_before = dict(_SETTINGS)
    sys.modules[module] = mod
    try:
        spec.loader.exec_module(mod)
    except RegistryError as e:
        _rollback(before, settings_before, module)
        raise RegistryError(f"{path}: {e}") from None
    except Exception as e:  # any error in user code: one line naming the file
        _rollback(before, settings_before, module)
        line = ""
        tb = e.__traceback__
        while tb is not None:
            if Path(tb.tb_frame.f_code.co_filename).resolve() == p:
                line = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        raise RegistryError(f"{path}: the plugin failed to import{line}: "
                            f"{type(e).__name__}: {e}") from None
    _PLUGINS[p] = digest


def _rollback(components: dict, settings: dict, module: str) -> None:
    # A plugin that failed half-way must not leave half of its components registered.
    for kind, comps in components.items():
        _COMPONENTS[kind].clear()
        _COMPONENTS[kind].update(comps)
    _SETTINGS.clear()
    _SETTINGS.update(settings)
    _SELECTIONS.clear()
    sys.modules.pop(module, None)


def load_plugins(paths: Iterable[str | Path]) -> None:
    for p in paths:
        load_plugin(p)


def describe_settings(task: str | None = None) -> str:
    """A plain-text table of settings by component (``python -m grokjax settings``)."""
    lines = []

    def add(owner: str, settings, defaults: Mapping[str, Any] = {}) -> None:
        for s in settings:
            d = defaults.get(s.name, s.default)
            lines.append(f"{owner:22s} {s.name:16s} {s.role:6s} default {d!s:12s} "
                         f"{s.allowed()}. {s.doc}")

    tasks = [task] if task else list(names("task"))
    add("core", CORE)
    for kind in ("optimizer", "penalty", "grad_filter"):
        for n in names(kind):
            add(f"{kind} {n}", get(kind, n).settings)
    for n in names("normaliser"):
        lines.append(f"{'normaliser ' + n:22s} {get('normaliser', n).doc}")
    for t in tasks:
        comp = get("task", t)
        add(f"task {t}", comp.settings)
        lines.append(f"{'task ' + t:22s} defaults: " + ", ".join(
            f"{k} = {v}" for k, v in comp.defaults.items()) + f", model = {comp.default_model}")
    for n in names("model"):
        m = get("model", n)
        if task and _model_excluded(task, m):
            continue
        add(f"model {n}", m.settings, m.defaults)
    return "\n".join(lines)


def _model_excluded(task: str, model: Model) -> bool:
    return model.inputs is not None and get("task", task).inputs not in model.inputs
