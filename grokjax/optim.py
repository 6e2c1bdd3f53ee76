"""Built-in optimizers and penalties: small optax chains whose numbers are traced per run.

optax bakes Python floats into the compiled program, so every number here comes from ``hp``
(arrays with a run axis under vmap): one program trains any mix of learning rates, decays,
betas and epsilons.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from grokjax.components import Optimizer, Penalty
from grokjax.registry import register
from grokjax.settings import RUN, STATIC, Setting, nonneg, positive, unit_open

LR = Setting("lr", float, 1e-3, RUN, "learning rate", check=positive)
BETA1 = Setting("beta1", float, 0.9, RUN, "Adam beta1", check=unit_open)
BETA2 = Setting("beta2", float, 0.98, RUN, "Adam beta2", check=unit_open)
EPS = Setting("eps", float, 1e-8, RUN, "Adam epsilon", check=positive)
MUON_BETA = Setting("muon_beta", float, 0.95, RUN, "Muon momentum (optax.contrib.muon's beta)",
                    check=unit_open)
WEIGHT_DECAY = Setting("weight_decay", float, 1.0, RUN, "weight-decay strength", check=nonneg)
WARMUP = Setting("warmup_steps", int, 0, STATIC,
                 "linear learning-rate warm-up: update t (from 0) uses lr * min(t / "
                 "warmup_steps, 1), so the first update has lr 0 (torch LambdaLR(min(step / 10, "
                 "1)) in Nanda et al.'s train script is warmup_steps = 10); 0: constant lr",
                 check=nonneg, id_at_default=False)


def scale_by_lr(cfg: Any, hp: Any) -> optax.GradientTransformation:
    """-lr times the updates, with the ``warmup_steps`` ramp (the penalty is scaled too, as in
    torch's AdamW).  No warm-up keeps the plain transformation (and its empty state)."""
    if not cfg.get("warmup_steps", 0):
        return optax.scale_by_learning_rate(hp.lr)
    n = cfg.warmup_steps
    return optax.scale_by_schedule(
        lambda count: -hp.lr * jnp.minimum(count.astype(hp.lr.dtype) / n, 1))


def add_sign_decay(strength: jax.Array) -> optax.GradientTransformation:
    """Add strength * sign(w) to the updates (the L1 penalty's (sub)gradient)."""

    def update(updates, state, params):
        return jax.tree.map(lambda g, w: g + strength * jnp.sign(w), updates, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def _adam(hp: Any) -> optax.GradientTransformation:
    return optax.scale_by_adam(hp.beta1, hp.beta2, hp.eps)


register(Penalty("l2", "L2: adds weight_decay * w", (WEIGHT_DECAY,),
                 lambda cfg, hp: optax.add_decayed_weights(hp.weight_decay)))
register(Penalty("l1", "L1: adds weight_decay * sign(w)", (WEIGHT_DECAY,),
                 lambda cfg, hp: add_sign_decay(hp.weight_decay)))
register(Optimizer(
    "adamw", "Adam with decoupled weight decay: update = -lr (adam + penalty'(w))",
    (LR, BETA1, BETA2, EPS, WARMUP),
    lambda cfg, hp, penalty: optax.chain(_adam(hp), penalty, scale_by_lr(cfg, hp))))
register(Optimizer(
    "adam", "Adam with the penalty's gradient added to the loss gradient first (the notebooks' "
    "L1)", (LR, BETA1, BETA2, EPS, WARMUP),
    lambda cfg, hp, penalty: optax.chain(penalty, _adam(hp), scale_by_lr(cfg, hp))))
register(Optimizer(
    "sgd", "plain gradient descent with the penalty in the gradient", (LR, WARMUP),
    lambda cfg, hp, penalty: optax.chain(penalty, scale_by_lr(cfg, hp))))


def muon(hp: Any, penalty: optax.GradientTransformation) -> optax.GradientTransformation:
    """optax.contrib.muon for the direction (Newton-Schulz-orthogonalised Nesterov momentum on
    2-D parameters; Nesterov Adam with beta1, beta2, eps on the others), then the penalty,
    decoupled as in adamw: update = -lr (direction + penalty'(w)).  With the L2 penalty this is
    optax.contrib.muon(lr, weight_decay=wd, adam_weight_decay=wd) (tested)."""
    direction = optax.contrib.muon(learning_rate=1.0, beta=hp.muon_beta, eps=hp.eps,
                                   adam_b1=hp.beta1, adam_b2=hp.beta2)  # = -direction
    return optax.chain(direction, optax.scale(-1.0), penalty,
                       optax.scale_by_learning_rate(hp.lr))


register(Optimizer(
    "muon", "Muon (optax.contrib.muon) on matrices, Nesterov Adam on vectors; decoupled "
    "penalty as in adamw", (LR, MUON_BETA, BETA1, BETA2, EPS), lambda cfg, hp, penalty: muon(
        hp, penalty)))


def make_optimizer(static: Any, hp: Any) -> optax.GradientTransformation:
    """The run's gradient filter, then its optimizer with its penalty in place
    (``grad_filter``, ``optimizer`` and ``reg`` settings); a filter whose ``make`` gives None
    adds nothing (the optimizer state keeps its shape)."""
    parts = static.components
    opt = parts.optimizer.make(static, hp, parts.penalty.make(static, hp))
    grad_filter = parts.grad_filter.make(static, hp)
    return opt if grad_filter is None else optax.chain(grad_filter, opt)
