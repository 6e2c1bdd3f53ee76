"""Training: the one assembly of a run -- data, init, loss, one step, segments of steps -- and
the compiled programs the engine runs.

Everything here is pure and vmappable.  A run is ``train(static, hp)``; the engine instead
compiles ``programs(...)`` -- a *start* (data, init, metrics at step 0) and a *segment* of steps
-- so that the host loop between segments can report progress and write results (no callbacks
inside jit).  ``static`` (a hashable :class:`grokjax.static.Static`) decides shapes and code
paths; per-run numbers live in :class:`grokjax.static.HParams` as arrays, so one compiled
program trains any mix of them.  The task and model come from the registry through
``static.components``.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct

from grokjax import telemetry
from grokjax.optim import make_optimizer
from grokjax.static import HParams, Static

METRICS = ("train_loss", "test_loss", "train_acc", "test_acc", "l2_norm", "l1_norm")


def metric_names(static: Static) -> tuple[str, ...]:
    """Curves logged for a run: the common metrics, the task's progress measures, then the
    stability telemetry (grokjax.telemetry) unless ``static.telemetry`` is off."""
    extra = static.components.task.progress_keys(static) if static.progress else ()
    return METRICS + tuple(extra) + (telemetry_names(static) if static.telemetry else ())


@functools.cache
def telemetry_names(static: Static) -> tuple[str, ...]:
    task = static.components.task
    shapes = jax.eval_shape(lambda: init_params(static, jax.random.key(0), jnp.float32(1)))
    return ("zero_loss_frac", *(f"{k}_frac" for k in task.stability_keys(static)), "grad_cos",
            *telemetry.tensor_norm_keys(shapes))


def _telemetry(static: Static, hp: HParams, data: Any, params: Any) -> dict[str, jax.Array]:
    """One more forward and backward pass over the train set at a log step."""
    task = static.components.task
    batch = task.train_batch(static, data, hp)
    mask_N = jnp.arange(static.train_pad) < hp.train_size

    def loss_and_aux(p):
        outputs = static.components.model.apply(p, static, batch.inputs)
        loss_N, _ = task.loss(static, outputs, batch.targets)
        mean = jnp.sum(jnp.where(mask_N, loss_N, 0)) / hp.train_size.astype(loss_N.dtype)
        return mean, (loss_N, outputs)

    grads, (loss_N, outputs) = jax.grad(loss_and_aux, has_aux=True)(params)
    out = {"zero_loss_frac": telemetry.masked_share(loss_N == 0, mask_N)}
    if task.stability is not None:
        for k, flag_N in task.stability(static, outputs, batch.targets).items():
            out[f"{k}_frac"] = telemetry.masked_share(flag_N, mask_N)
    out["grad_cos"] = telemetry.cosine(grads, params)
    out.update(telemetry.tensor_norms(params))
    return out


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
# A task bound to a model
# ---------------------------------------------------------------------------------------------


def make_data(static: Static, data_seed: jax.Array) -> Any:
    return static.components.task.make_data(static, data_seed)


def init_params(static: Static, key: jax.Array, init_scale: jax.Array) -> Any:
    return static.components.model.init(key, static, init_scale, static.jnp_dtype)


def per_example(static: Static, params: Any, inputs: Any, targets: Any
                ) -> tuple[jax.Array, jax.Array]:
    """(loss_B, correct_B) of the model on a batch of the task."""
    parts = static.components
    return parts.task.loss(static, parts.model.apply(params, static, inputs), targets)


# Stream of a run's minibatch keys: fold_in(fold_in(key(seed), BATCH_STREAM), step).  Init
# uses key(seed) itself; folding in a constant first keeps the two streams apart.
BATCH_STREAM = 0x6261


def minibatch_rows(static: Static, hp: HParams, step: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(rows_B, use_B): the ``batch_size`` rows of step ``step``, distinct, drawn uniformly among
    the run's first ``hp.train_size`` rows of the padded set, and which of them count (all,
    unless batch_size > train_size: then every train row once).  A function of (seed, step)
    only, so a resumed run or a run in any chunk draws the same batches."""
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(hp.seed), BATCH_STREAM), step)
    # One uniform number per row from (key, row), so a row's number does not depend on the
    # padded length; rows past train_size (and past the padded set) never win.
    n = max(static.train_pad, static.batch_size)
    i_N = jnp.arange(n)
    u_N = jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(key, i)))(i_N)
    u_N = jnp.where(i_N < jnp.minimum(hp.train_size, static.train_pad), u_N, jnp.inf)
    neg_u_B, rows_B = jax.lax.top_k(-u_N, static.batch_size)  # the smallest: a uniform subset
    return jnp.minimum(rows_B, static.train_pad - 1), jnp.isfinite(neg_u_B)


def train_loss(params: Any, static: Static, data: Any, hp: HParams,
               step: jax.Array | None = None) -> jax.Array:
    """Mean loss over the run's first ``hp.train_size`` rows of the padded train set, or, with
    ``batch_size`` > 0, over the minibatch of step ``step`` (``minibatch_rows``)."""
    batch = static.components.task.train_batch(static, data, hp)
    if static.get("batch_size", 0):
        rows_B, use_B = minibatch_rows(static, hp, jnp.int32(0) if step is None else step)
        inputs, targets = jax.tree.map(lambda x: x[rows_B], (batch.inputs, batch.targets))
        loss_B, _ = per_example(static, params, inputs, targets)
        return (jnp.sum(jnp.where(use_B, loss_B, 0))
                / jnp.sum(use_B).astype(loss_B.dtype))
    loss_N, _ = per_example(static, params, batch.inputs, batch.targets)
    mask_N = jnp.arange(static.train_pad) < hp.train_size
    return jnp.sum(jnp.where(mask_N, loss_N, 0)) / hp.train_size.astype(loss_N.dtype)


def evaluate(params: Any, static: Static, data: Any, hp: HParams) -> dict[str, jax.Array]:
    """Train and test loss and accuracy: masked means over the task's evaluation batches."""
    dtype = static.jnp_dtype
    sums = {k: jnp.zeros((), dtype) for k in ("train_loss", "test_loss", "train_acc",
                                               "test_acc", "n_train", "n_test")}
    for b in static.components.task.eval_batches(static, data, hp):
        loss_B, correct_B = per_example(static, params, b.inputs, b.targets)
        for split, mask_B in (("train", b.train_mask), ("test", b.test_mask)):
            sums[f"{split}_loss"] += jnp.sum(jnp.where(mask_B, loss_B, 0))
            sums[f"{split}_acc"] += jnp.sum(jnp.where(mask_B, correct_B, 0))
            sums[f"n_{split}"] += jnp.sum(mask_B)
    return {k: (sums[k] / sums[f"n_{k.split('_')[0]}"]).astype(dtype)
            for k in ("train_loss", "test_loss", "train_acc", "test_acc")}


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


def metrics_of(static: Static, hp: HParams, data: Any, state: TrainState
               ) -> dict[str, jax.Array]:
    """Logged metrics and progress measures of the current state; NaN once it has diverged."""
    m = evaluate(state.params, static, data, hp)
    m["l2_norm"], m["l1_norm"] = _norms(state.params)
    task = static.components.task
    if static.progress and task.progress is not None and task.progress_keys(static):
        m.update(task.progress(static, state.params))
    if static.telemetry:
        m.update(_telemetry(static, hp, data, state.params))
    nan = jnp.array(jnp.nan, static.jnp_dtype)
    return {k: jnp.where(state.alive, m[k].astype(static.jnp_dtype), nan)
            for k in metric_names(static)}


def init_state(static: Static, hp: HParams, data: Any) -> TrainState:
    params = init_params(static, jax.random.key(hp.seed), hp.init_scale)
    return TrainState(params=params, opt_state=make_optimizer(static, hp).init(params),
                      step=jnp.int32(0), alive=jnp.bool_(True), nan_step=jnp.int32(-1))


def train_step(static: Static, hp: HParams, data: Any, state: TrainState) -> TrainState:
    """One step (full batch, or the step's minibatch).  A non-finite loss or gradient freezes
    the run (nothing is lost: the parameters stay at their last finite values, ``nan_step``
    records the step)."""
    opt = make_optimizer(static, hp)
    loss, grads = jax.value_and_grad(train_loss)(state.params, static, data, hp, state.step)
    updates, opt_state = opt.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)  # keeps each parameter's dtype
    # The run's numbers (hp) are in the run's dtype; a float32 parameter of a float64 run (a
    # model's choice) must keep float32 moments, or the loop's state would change type.
    opt_state = jax.tree.map(lambda n, o: n.astype(o.dtype), opt_state, state.opt_state)
    ok = jnp.isfinite(loss) & _all_finite(grads)
    keep = state.alive & ok

    def pick(new, old):
        return jax.tree.map(lambda n, o: jnp.where(keep, n, o), new, old)

    return TrainState(
        params=pick(params, state.params), opt_state=pick(opt_state, state.opt_state),
        step=state.step + 1, alive=keep,
        nan_step=jnp.where(state.alive & ~ok, state.step, state.nan_step))


def run_segment(static: Static, hp: HParams, data: Any, state: TrainState, n_blocks: int
                ) -> Segment:
    """``n_blocks`` blocks of ``log_every`` steps, with metrics after each block."""

    def block(s: TrainState, _):
        s = jax.lax.fori_loop(0, static.log_every, lambda _, x: train_step(static, hp, data, x),
                              s)
        return s, metrics_of(static, hp, data, s)

    with jax.default_matmul_precision(static.matmul_precision):
        state, metrics = jax.lax.scan(block, state, None, length=n_blocks)
    return Segment(state, metrics)


def start(static: Static, hp: HParams, data: Any = None) -> tuple[Any, TrainState, dict]:
    """(data, state, metrics at step 0).  Pass ``data`` to share one data set across runs."""
    static.check_precision()
    with jax.default_matmul_precision(static.matmul_precision):
        if data is None:
            data = make_data(static, hp.data_seed)
        state = init_state(static, hp, data)
        return data, state, metrics_of(static, hp, data, state)


class Result(NamedTuple):
    state: TrainState
    curves: dict[str, jax.Array]  # name -> (n_logs,) values at steps 0, log_every, ..., steps


def train(static: Static, hp: HParams, data: Any = None) -> Result:
    """The whole run as one pure function: data, init, ``steps`` steps, logged curves."""
    data, state, m0 = start(static, hp, data)
    seg = run_segment(static, hp, data, state, static.steps // static.log_every)
    curves = {k: jnp.concatenate([m0[k][None], seg.metrics[k]]) for k in metric_names(static)}
    return Result(seg.state, curves)


# ---------------------------------------------------------------------------------------------
# Compiled programs: two per group (start, segment)
# ---------------------------------------------------------------------------------------------


class Programs(NamedTuple):
    """``start(hp, seeds) -> (data, state, m0)`` and ``segment(hp, data, state) -> Segment``,
    both with a leading run axis (seeds: one shared data seed, or one per run)."""

    start: Any
    segment: Any


@functools.cache
def programs(static: Static, shared_data: bool, n_blocks: int, batched: bool = True
             ) -> Programs:
    """The compiled programs of a group.  ``batched=False`` compiles one run without vmap and
    wraps it to keep the leading run axis: on CPU a plain single-run program is much faster
    than the same run under vmap with a batch of one (docs/benchmarks.md)."""

    # The gj_ names let the engine's compile accounting tell its programs from incidental ones.
    def gj_start(hp, seeds):
        if shared_data or not batched:
            data = make_data(static, seeds)
            init = (jax.vmap(lambda h: start(static, h, data)[1:], in_axes=(0,)) if batched
                    else (lambda h: start(static, h, data)[1:]))
            return (data, *init(hp))
        return jax.vmap(lambda h, s: start(static, h, make_data(static, s)))(hp, seeds)

    def gj_segment(hp, data, state):
        return run_segment(static, hp, data, state, n_blocks)

    if not batched:
        start1 = jax.jit(gj_start)
        segment1 = jax.jit(gj_segment, donate_argnums=2)

        def one(tree):
            return jax.tree.map(lambda x: x[0], tree)

        def run_axis(tree):
            return jax.tree.map(lambda x: x[None], tree)

        def start_w(hp, seeds):
            data, state, m0 = start1(one(hp), seeds if seeds.ndim == 0 else seeds[0])
            return data, run_axis(state), run_axis(m0)

        return Programs(start_w, lambda hp, data, state: run_axis(
            segment1(one(hp), data, one(state))))
    d_axis = None if shared_data else 0
    return Programs(jax.jit(gj_start),
                    jax.jit(jax.vmap(gj_segment, in_axes=(0, d_axis, 0)), donate_argnums=2))
