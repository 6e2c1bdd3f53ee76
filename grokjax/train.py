"""Training: optimizers with per-run (traced) hyperparameters, one step, segments of steps.

Everything here is pure and vmappable.  A run is ``train(static, hp)``; the engine instead calls
``init_state`` once and ``run_segment`` repeatedly, so that the host loop between segments can
report progress and write results (no callbacks inside jit).

Per-run numbers live in :class:`HParams` as arrays, so one compiled program trains any mix of
them; ``static`` (a hashable :class:`grokjax.static.Static`) decides shapes and code paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from grokjax import problem
from grokjax.analysis.progress import PROGRESS_KEYS, progress_measures
from grokjax.static import Static

METRICS = ("train_loss", "test_loss", "train_acc", "test_acc", "l2_norm", "l1_norm")


def metric_names(static: Static) -> tuple[str, ...]:
    """Curves logged for a run: the common metrics, then the task's progress measures."""
    return METRICS + (PROGRESS_KEYS[static.task] if static.progress else ())


@struct.dataclass
class HParams:
    """Per-run numbers (scalars for one run; leading run axis under vmap)."""

    seed: jax.Array  # uint32
    data_seed: jax.Array  # uint32
    lr: jax.Array
    weight_decay: jax.Array
    beta1: jax.Array
    beta2: jax.Array
    eps: jax.Array
    init_scale: jax.Array
    train_size: jax.Array  # int32, <= static.train_pad

    @classmethod
    def from_configs(cls, configs: list[Mapping[str, Any]], dtype) -> HParams:
        """Stack the per-run numbers of several run configurations (leading run axis)."""

        def col(name, dt):
            return jnp.asarray(np.array([c[name] for c in configs], dtype=dt))

        f = np.dtype(dtype)
        return cls(
            seed=col("seed", np.uint32), data_seed=col("data_seed", np.uint32),
            lr=col("lr", f), weight_decay=col("weight_decay", f), beta1=col("beta1", f),
            beta2=col("beta2", f), eps=col("eps", f), init_scale=col("init_scale", f),
            train_size=col("train_size", np.int32))

    @classmethod
    def from_config(cls, config: Mapping[str, Any], dtype) -> HParams:
        return jax.tree.map(lambda x: x[0], cls.from_configs([config], dtype))


@struct.dataclass
class TrainState:
    params: Any
    opt_state: Any
    step: jax.Array  # int32, steps taken
    alive: jax.Array  # bool: False once the loss or a gradient became NaN/inf (run frozen)
    nan_step: jax.Array  # int32: the step whose loss/gradient was non-finite, -1 if none


class Segment(NamedTuple):
    state: TrainState
    metrics: dict[str, jax.Array]  # name -> (n_blocks,) values after each block of log_every


# ---------------------------------------------------------------------------------------------
# Optimizers (small composable optax pieces; hyperparameters are traced arrays)
# ---------------------------------------------------------------------------------------------


def add_sign_decay(strength: jax.Array) -> optax.GradientTransformation:
    """Add strength * sign(w) to the updates (the L1 penalty's (sub)gradient)."""

    def update(updates, state, params):
        return jax.tree.map(lambda g, w: g + strength * jnp.sign(w), updates, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def make_optimizer(static: Static, hp: HParams) -> optax.GradientTransformation:
    """adamw: decoupled decay (update = -lr (adam + wd * penalty'(w)));
    adam / sgd: the penalty's gradient is added to the loss gradient first (the notebooks' L1)."""
    penalty = (optax.add_decayed_weights(hp.weight_decay) if static.reg == "l2"
               else add_sign_decay(hp.weight_decay))
    lr = optax.scale_by_learning_rate(hp.lr)
    if static.optimizer == "adamw":
        return optax.chain(optax.scale_by_adam(hp.beta1, hp.beta2, hp.eps), penalty, lr)
    if static.optimizer == "adam":
        return optax.chain(penalty, optax.scale_by_adam(hp.beta1, hp.beta2, hp.eps), lr)
    return optax.chain(penalty, lr)


# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------


def _norms(params) -> tuple[jax.Array, jax.Array]:
    leaves = jax.tree.leaves(params)
    l2 = jnp.sqrt(sum(jnp.sum(jnp.square(w)) for w in leaves))
    l1 = sum(jnp.sum(jnp.abs(w)) for w in leaves)
    return l2, l1


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def metrics_of(static: Static, hp: HParams, data, state: TrainState) -> dict[str, jax.Array]:
    """Logged metrics and progress measures of the current state; NaN once it has diverged."""
    m = problem.evaluate(state.params, static, data, hp.train_size)
    m["l2_norm"], m["l1_norm"] = _norms(state.params)
    if static.progress:
        m.update(progress_measures(state.params, static))
    nan = jnp.array(jnp.nan, static.jnp_dtype)
    return {k: jnp.where(state.alive, m[k], nan) for k in metric_names(static)}


def init_state(static: Static, hp: HParams, data) -> TrainState:
    params = problem.init_params(static, jax.random.key(hp.seed), hp.init_scale)
    return TrainState(params=params, opt_state=make_optimizer(static, hp).init(params),
                      step=jnp.int32(0), alive=jnp.bool_(True), nan_step=jnp.int32(-1))


def train_step(static: Static, hp: HParams, data, state: TrainState) -> TrainState:
    """One full-batch step.  A non-finite loss or gradient freezes the run (nothing is lost:
    the parameters stay at their last finite values, ``nan_step`` records the step)."""
    opt = make_optimizer(static, hp)
    loss, grads = jax.value_and_grad(problem.train_loss)(state.params, static, data,
                                                         hp.train_size)
    updates, opt_state = opt.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    ok = jnp.isfinite(loss) & _all_finite(grads)
    keep = state.alive & ok

    def pick(new, old):
        return jax.tree.map(lambda n, o: jnp.where(keep, n, o), new, old)

    return TrainState(
        params=pick(params, state.params), opt_state=pick(opt_state, state.opt_state),
        step=state.step + 1, alive=keep,
        nan_step=jnp.where(state.alive & ~ok, state.step, state.nan_step))


def run_segment(static: Static, hp: HParams, data, state: TrainState, n_blocks: int) -> Segment:
    """``n_blocks`` blocks of ``log_every`` steps, with metrics after each block."""

    def block(s: TrainState, _):
        s = jax.lax.fori_loop(0, static.log_every, lambda _, x: train_step(static, hp, data, x),
                              s)
        return s, metrics_of(static, hp, data, s)

    with jax.default_matmul_precision(static.matmul_precision):
        state, metrics = jax.lax.scan(block, state, None, length=n_blocks)
    return Segment(state, metrics)


def start(static: Static, hp: HParams, data=None):
    """(data, state, metrics at step 0).  Pass ``data`` to share one data set across runs."""
    static.check_precision()
    with jax.default_matmul_precision(static.matmul_precision):
        if data is None:
            data = problem.make_data(static, hp.data_seed)
        state = init_state(static, hp, data)
        return data, state, metrics_of(static, hp, data, state)


class Result(NamedTuple):
    state: TrainState
    curves: dict[str, jax.Array]  # name -> (n_logs,) values at steps 0, log_every, ..., steps


def train(static: Static, hp: HParams, data=None) -> Result:
    """The whole run as one pure function: data, init, ``steps`` steps, logged curves."""
    data, state, m0 = start(static, hp, data)
    seg = run_segment(static, hp, data, state, static.steps // static.log_every)
    curves = {k: jnp.concatenate([m0[k][None], seg.metrics[k]]) for k in metric_names(static)}
    return Result(seg.state, curves)
