"""Every call the benchmark makes into grokjax, in two functions: adapt here when grokjax changes.

``sweep`` is the user's path (a sweep spec through ``grokjax.run_sweep``); ``one_model`` is one
jitted model of a workload (``grokjax.train``) and the arrays it trains on, for the jit-1,
progress-cost and PyTorch columns.  The rest of benchmarks/ sees plain dicts, numpy arrays and
callables.  (The environment variables GROKJAX_QUIET and GROKJAX_CACHE_DIR, set for the
measuring subprocesses in bench.py, are the other interface.)
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def sweep(name: str, fixed: dict[str, Any], seeds: int, workers: int | None) -> dict[str, Any]:
    """One sweep of ``seeds`` runs of the ``fixed`` settings (one shared data set), no output
    kept.  Returns the engine's numbers; ``workers`` is None where the engine has no such option.
    """
    import grokjax

    spec = grokjax.parse_spec({"sweep": {"name": name, "seeds": seeds}, "fixed": fixed},
                              source="bench")
    has_workers = "workers" in {f.name for f in dataclasses.fields(grokjax.EngineOptions)}
    kw = {"workers": workers} if workers is not None and has_workers else {}
    with tempfile.TemporaryDirectory(prefix="grokjax-bench-") as tmp:
        rep = grokjax.run_sweep(spec, out=Path(tmp) / "out", options=grokjax.EngineOptions(**kw),
                                quiet=True, report=False)
    return {"model_steps": rep.model_steps, "wall_s": rep.wall_s, "compile_s": rep.compile_s,
            "n_programs": rep.n_programs, "has_workers": has_workers,
            "workers": getattr(rep, "workers", None)}


@dataclasses.dataclass(frozen=True)
class OneModel:
    config: dict[str, Any]  # the resolved settings (user-facing names: lr, beta1, p, embed, ...)
    hparams: Callable[[int], Any]  # seed -> the compiled function's argument
    compile: Callable[[Any], Callable[[Any], Any]]  # hparams(seed) -> compiled fn of hparams
    data: Callable[[], dict[str, np.ndarray]]  # the task's arrays, see one_model


def one_model(task: str, fixed: dict[str, Any], progress: bool | None = None,
              telemetry: bool | None = None) -> OneModel:
    """One model of the ``fixed`` settings: ``compile(hp)`` is
    ``jax.jit(grokjax.train, static_argnums=0)`` compiled ahead of time for ``hp``'s shapes; the
    compiled function takes any ``hparams(seed)`` and trains that model to the end (block on its
    result).  ``progress`` / ``telemetry`` override whether the progress measures / the
    stability telemetry are logged.

    ``data()``: parity ``x_train, y_train, x_test, y_test`` (x with the constant-1 column);
    modular ``a_train, b_train, y_train`` (the training pairs) and ``a_all, b_all, y_all,
    is_train`` (every pair, as evaluated).
    """
    import jax

    import grokjax
    from grokjax.train import make_data  # the task's data as the engine builds it

    cfg = grokjax.resolve(task, fixed, source="bench")
    static = grokjax.Static.from_config(cfg)
    if progress is not None:
        static = static.replace(progress=progress)
    if telemetry is not None:
        static = static.replace(telemetry=telemetry)

    def hparams(seed: int):
        return grokjax.HParams.from_config({**cfg, "seed": seed}, static.dtype)

    def compile_(hp: Any) -> Callable[[Any], Any]:
        return jax.jit(grokjax.train, static_argnums=0).lower(static, hp).compile()

    def data() -> dict[str, np.ndarray]:
        d = make_data(static, np.uint32(cfg["data_seed"]))
        if task == "parity":
            return {"x_train": np.array(d.x_train_NxD), "y_train": np.array(d.y_train_N),
                    "x_test": np.array(d.x_test_MxD), "y_test": np.array(d.y_test_M)}
        return {"a_train": np.array(d.a_train_N), "b_train": np.array(d.b_train_N),
                "y_train": np.array(d.y_train_N), "a_all": np.array(d.a_P),
                "b_all": np.array(d.b_P), "y_all": np.array(d.y_P),
                "is_train": np.array(d.rank_P) < cfg["train_size"]}

    return OneModel(cfg, hparams, compile_, data)


def step_flops_xla(task: str, fixed: dict[str, Any]) -> float:
    """XLA's FLOP count of one training step of the ``fixed`` settings (``cost_analysis`` of
    the compiled ``grokjax.train.train_step``; every op, elementwise ones included)."""
    import jax

    import grokjax
    from grokjax.train import init_state, make_data, train_step

    cfg = grokjax.resolve(task, fixed, source="bench")
    static = grokjax.Static.from_config(cfg)
    hp = grokjax.HParams.from_config(cfg, static.dtype)
    data = make_data(static, hp.data_seed)
    state = init_state(static, hp, data)
    compiled = jax.jit(train_step, static_argnums=0).lower(static, hp, data, state).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost.get("flops", float("nan")))
