"""A run's configuration split for jit: ``Static`` (hashable, one program per value) and
``HParams`` (per-run numbers, traced and vmapped)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grokjax import registry
from grokjax.settings import RUN, STATIC


class Static:
    """The static settings of a group of runs, read as attributes (``cfg.hidden``).

    Hashable, so it is a static argument of jit.  ``train_pad`` is the padded train-set length of
    the group: each run uses its own first ``train_size`` rows (a traced number), so runs with
    different train sizes can share one program.  ``progress=False`` skips the task's progress
    measures and ``telemetry=False`` the stability telemetry (the benchmark prices both).
    """

    __slots__ = ("_items", "progress", "telemetry", "train_pad")

    def __init__(self, values: Mapping[str, Any], train_pad: int, progress: bool = True,
                 telemetry: bool = True):
        items = tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                             for k, v in values.items()))
        object.__setattr__(self, "_items", items)
        object.__setattr__(self, "train_pad", int(train_pad))
        object.__setattr__(self, "progress", bool(progress))
        object.__setattr__(self, "telemetry", bool(telemetry))

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], train_pad: int | None = None,
                    progress: bool = True) -> Static:
        """The static part of one resolved run configuration."""
        sel = registry.select_for(cfg)
        names = [s.name for s in sel.settings if s.role == STATIC]
        values = {n: cfg[n] for n in names if n in cfg}
        values["model"] = sel.model.name
        return cls(values, train_pad or int(cfg["train_size"]), progress)

    def __getattr__(self, name: str) -> Any:
        for k, v in object.__getattribute__(self, "_items"):
            if k == name:
                return v
        raise AttributeError(f"the run's static configuration has no setting {name!r}")

    def __setattr__(self, name, value):
        raise AttributeError("Static is immutable; use replace()")

    def __hash__(self) -> int:
        return hash((self._items, self.train_pad, self.progress, self.telemetry))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Static) and self._items == other._items
                and self.train_pad == other.train_pad and self.progress == other.progress
                and self.telemetry == other.telemetry)

    def __repr__(self) -> str:
        return f"Static({dict(self._items)}, train_pad={self.train_pad})"

    def __reduce__(self):
        return (Static, (dict(self._items), self.train_pad, self.progress, self.telemetry))

    def get(self, name: str, default: Any = None) -> Any:
        return dict(self._items).get(name, default)

    def values(self) -> dict[str, Any]:
        return dict(self._items)

    def replace(self, **kw: Any) -> Static:
        pad = kw.pop("train_pad", self.train_pad)
        progress = kw.pop("progress", self.progress)
        tele = kw.pop("telemetry", self.telemetry)
        return Static({**dict(self._items), **kw}, pad, progress, tele)

    @property
    def components(self) -> registry.Selection:
        return _selection(self.task, self.model, self.optimizer, self.reg,
                          self.get("grad_filter", "none"))

    @property
    def jnp_dtype(self):
        return jnp.dtype(self.dtype)

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every + 1

    def check_precision(self) -> None:
        if self.dtype == "float64" and not jax.config.read("jax_enable_x64"):
            raise RuntimeError("dtype = 'float64' needs jax_enable_x64: call "
                               "jax.config.update('jax_enable_x64', True) before training "
                               "(the sweep engine does this for you)")

    def short(self) -> str:
        """A compact human label for progress output: the settings that tell groups apart."""
        skip = {"task", "model", "dtype", "optimizer", "reg", "steps", "log_every",
                "matmul_precision"}
        rest = " ".join(f"{k}={_fmt(v)}" for k, v in self._items if k not in skip)
        return (f"{self.task}/{self.model} {rest} N<={self.train_pad} "
                f"{self.optimizer}/{self.reg} {self.dtype}")


def _fmt(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, tuple) else str(v)


@functools.cache
def _selection(task: str, model: str, optimizer: str, reg: str, grad_filter: str
               ) -> registry.Selection:
    return registry.select(task, model, optimizer, reg, grad_filter)


@jax.tree_util.register_pytree_node_class
class HParams:
    """Per-run numbers by setting name (``hp.lr``, ``hp.train_size``): scalars for one run, a
    leading run axis under vmap.  Seeds are uint32, train_size int32, other numbers the run's
    float dtype."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]):
        object.__setattr__(self, "_values", dict(sorted(values.items())))

    def __getattr__(self, name: str) -> Any:
        try:
            return object.__getattribute__(self, "_values")[name]
        except KeyError:
            raise AttributeError(f"no per-run number {name!r}; this run has: "
                                 + ", ".join(object.__getattribute__(self, "_values"))) from None

    def __setattr__(self, name, value):
        raise AttributeError("HParams is immutable")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def keys(self):
        return self._values.keys()

    def tree_flatten(self):
        return tuple(self._values.values()), tuple(self._values)

    @classmethod
    def tree_unflatten(cls, keys, leaves):
        return cls(dict(zip(keys, leaves, strict=True)))

    def __repr__(self) -> str:
        return f"HParams({self._values})"

    @classmethod
    def from_configs(cls, configs: Sequence[Mapping[str, Any]], dtype) -> HParams:
        """Stack the per-run numbers of runs of one group (leading run axis)."""
        c0 = configs[0]
        sel = registry.select_for(c0)
        return cls({name: jnp.asarray(np.array([c[name] for c in configs], dtype=dt))
                    for name, dt in _run_dtypes(sel, dtype).items()})

    @classmethod
    def placeholder(cls, static: Static) -> HParams:
        """Ones for every per-run number of ``static``'s components (shapes, not values)."""
        return cls({name: jnp.ones((), dt)
                    for name, dt in _run_dtypes(static.components, static.dtype).items()})

    @classmethod
    def from_config(cls, config: Mapping[str, Any], dtype) -> HParams:
        return jax.tree.map(lambda x: x[0], cls.from_configs([config], dtype))


def _run_dtypes(sel: registry.Selection, dtype) -> dict[str, np.dtype]:
    """Each per-run number of a run's components (and train_size) -> its array dtype."""
    f = np.dtype(dtype)
    return {s.name: (np.dtype(bool) if s.type is bool else
                     f if s.array == "float" else np.dtype(s.array))
            for s in [s for s in sel.settings if s.role == RUN] + [registry.TRAIN_SIZE]}
