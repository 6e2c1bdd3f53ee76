"""The optimizer example of docs/extending.md, verbatim."""

import optax

import grokjax
from grokjax.optim import LR

MOMENTUM = grokjax.Setting("momentum", float, 0.9, grokjax.RUN, "heavy-ball momentum",
                           check=lambda v: None if 0 <= v < 1 else "must be in [0, 1)")

grokjax.register(grokjax.Optimizer(
    "momentum", "SGD with momentum, the penalty in the gradient", (LR, MOMENTUM),
    lambda cfg, hp, penalty: optax.chain(penalty, optax.trace(decay=hp.momentum),
                                         optax.scale_by_learning_rate(hp.lr))))
