"""The explorable's mod-67 notebook (PAIR-code/ai-explorables, server-side/grokking/
MLP_Modular_Addition.ipynb) rewritten with dm-haiku and optax, as an independent oracle.

Everything the notebook fixes is kept: the tied, factored model with haiku's default
initialisers (``hk.initializers.VarianceScaling(2)`` for the embedding, ``hk.Linear``'s
``TruncatedNormal(1/sqrt(fan_in))`` for the two linear layers), the loss ``-mean(onehot *
log_softmax)`` over the batch *and* the class axis (CE/67), ``optax.adamw`` with Python-float
hyperparameters, the split ``np.random.seed(seed); np.random.permutation`` and the key sequence
``rng, init_rng = split(PRNGKey(seed)); loss_fn.init(init_rng, batch)``.  Under
``jax_enable_x64`` the notebook's parameters are mixed: ``hk.get_parameter`` makes the
embedding float32, ``hk.Linear`` takes its float64 input's dtype, so the linear layers, the
forward pass, the softmax and the loss are float64 (tests/test_notebook_oracle.py checks this).

Two things differ from the notebook, both for speed and neither changing a float: the one-hot
products ``one_hot(a) @ E`` are row gathers ``E[a]`` (a one-hot product adds exact zeros), and
the notebook's Python loop of jitted steps is a ``lax.scan`` (``--reassociate`` also forms the
p x d products first, as grokjax does; that changes rounding, and is off by default).

As a script it trains the notebook itself over many seeds (vmapped) and writes one row per
seed (docs/reproduction.md, "The notebook as an oracle"):

    python tests/notebook_oracle.py --seeds 0-31 --out results/notebook_oracle.parquet
"""

from __future__ import annotations

import argparse
import time
from typing import Any, NamedTuple

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import optax


class Hyper(NamedTuple):
    """The notebook's ``hyper`` dict for the main model."""

    p: int = 67
    percent_train: float = 0.4
    embed: int = 500
    hidden: int = 24
    weight_decay: float = 1.0
    lr: float = 1e-3
    b1: float = 0.9
    b2: float = 0.98
    steps: int = 50000
    symmetric: bool = True


NOTEBOOK = Hyper()


def notebook_split(seed: int, hy: Hyper = NOTEBOOK) -> tuple[tuple, tuple]:
    """(train_inputs N x 2, train_targets), (eval_inputs, eval_targets) as the notebook draws
    them: ``np.random.seed(seed)`` then one ``np.random.permutation``."""
    nums = range(hy.p)
    inputs = np.array([[a, b] for a in nums for b in nums if a <= b or not hy.symmetric],
                      dtype=np.int32)
    outputs = (inputs[:, 0] + inputs[:, 1]) % hy.p
    indices = np.random.RandomState(seed).permutation(len(inputs))
    split = int(hy.percent_train * len(inputs))
    return ((inputs[indices[:split]], outputs[indices[:split]]),
            (inputs[indices[split:]], outputs[indices[split:]]))


def make_fns(hy: Hyper = NOTEBOOK, reassociate: bool = False):
    """(loss_fn, acc_fn) as haiku-transformed functions of ``batch = (inputs, targets)``."""

    def forward(inputs):
        embed = hk.get_parameter("embed", [hy.p, hy.embed],
                                 init=hk.initializers.VarianceScaling(2))
        # The notebook multiplies float64 one-hots (jax.nn.one_hot's default dtype under x64)
        # by the embedding, which upcasts it; a gather of the upcast rows is the same numbers.
        e = embed.astype(jnp.result_type(jnp.float_, embed.dtype))
        hidden = hk.Linear(hy.hidden, name="hidden", with_bias=False)
        out_layer = hk.Linear(hy.embed, name="out", with_bias=False)
        if reassociate:
            table = hidden(e)
            h = jax.nn.relu(table[inputs[:, 0]] + table[inputs[:, 1]])
            w_out = out_layer(jnp.eye(hy.hidden, dtype=h.dtype))
            return h @ (w_out @ e.T)
        h = jax.nn.relu(hidden(e[inputs[:, 0]]) + hidden(e[inputs[:, 1]]))
        return jnp.matmul(out_layer(h), jnp.transpose(e))

    @hk.transform
    def loss_fn(batch):
        inputs, targets = batch
        log_probs = jax.nn.log_softmax(forward(inputs), axis=-1)
        return -jnp.mean(jax.nn.one_hot(targets, hy.p) * log_probs)

    @hk.transform
    def acc_fn(batch):
        inputs, targets = batch
        return jnp.mean(jnp.equal(jnp.argmax(forward(inputs), axis=1), targets))

    return loss_fn, acc_fn


def optimiser(hy: Hyper = NOTEBOOK) -> optax.GradientTransformation:
    return optax.adamw(learning_rate=hy.lr, weight_decay=hy.weight_decay, b1=hy.b1, b2=hy.b2)


def notebook_init(seed: int, batch, hy: Hyper = NOTEBOOK) -> tuple[Any, jax.Array]:
    """(params, rng) exactly as the notebook's ``init``.  The values equal the notebook's for a
    seed only with ``jax_threefry_partitionable = False`` (the key-splitting of jax < 0.5,
    which the notebook's jax 0.4.13 used)."""
    loss_fn, _ = make_fns(hy)
    rng, init_rng = jax.random.split(jax.random.PRNGKey(seed))
    return loss_fn.init(init_rng, batch), rng


def from_grokjax(params: dict) -> dict:
    """grokjax ``modular_mlp`` (tied, factored) parameters in the notebook's haiku layout."""
    return {"~": {"embed": params["E"]}, "hidden": {"w": params["W_in"]},
            "out": {"w": params["W_out"]}}


def step_fn(hy: Hyper = NOTEBOOK, reassociate: bool = False):
    """``(params, opt_state, batch) -> (params, opt_state, loss)``: the notebook's ``update``
    (its rng argument is unused by the model, so it is dropped)."""
    loss_fn, _ = make_fns(hy, reassociate)
    opt = optimiser(hy)

    def step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(loss_fn.apply)(params, None, batch)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def metrics(params, train_batch, eval_batch, hy: Hyper = NOTEBOOK, reassociate: bool = False
            ) -> dict[str, jax.Array]:
    loss_fn, acc_fn = make_fns(hy, reassociate)
    leaves = jax.tree.leaves(params)
    return {"train_loss": loss_fn.apply(params, None, train_batch),
            "test_loss": loss_fn.apply(params, None, eval_batch),
            "train_acc": acc_fn.apply(params, None, train_batch),
            "test_acc": acc_fn.apply(params, None, eval_batch),
            "l2_norm": jnp.sqrt(sum(jnp.sum(jnp.square(w)) for w in leaves))}


def train_curves(params, train_batch, eval_batch, hy: Hyper = NOTEBOOK, log_every: int = 100,
                 reassociate: bool = False) -> dict[str, jax.Array]:
    """Metrics after 0, log_every, ..., hy.steps full-batch updates (one run; vmap it)."""
    step = step_fn(hy, reassociate)
    opt_state = optimiser(hy).init(params)

    def block(carry, _):
        carry = jax.lax.fori_loop(0, log_every, lambda _, c: step(*c, train_batch)[:2], carry)
        return carry, metrics(carry[0], train_batch, eval_batch, hy, reassociate)

    m0 = metrics(params, train_batch, eval_batch, hy, reassociate)
    _, ms = jax.lax.scan(block, (params, opt_state), None, length=hy.steps // log_every)
    return {k: jnp.concatenate([m0[k][None], ms[k]]) for k in m0}


def _seeds(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0-15", help="e.g. 0-31 or 0,5,165")
    ap.add_argument("--steps", type=int, default=50000)
    ap.add_argument("--chunk", type=int, default=8, help="seeds vmapped together")
    ap.add_argument("--float32", action="store_true", help="without jax_enable_x64")
    ap.add_argument("--reassociate", action="store_true")
    ap.add_argument("--out", required=True, help=".parquet: one row per seed, curves as lists")
    args = ap.parse_args(argv)
    import pandas as pd

    jax.config.update("jax_enable_x64", not args.float32)
    jax.config.update("jax_threefry_partitionable", False)  # the notebook's key sequence
    hy = Hyper(steps=args.steps)
    seeds = _seeds(args.seeds)
    run = jax.jit(jax.vmap(lambda p, tr, ev: train_curves(p, tr, ev, hy,
                                                          reassociate=args.reassociate)))
    rows, t0 = [], time.perf_counter()
    for i in range(0, len(seeds), args.chunk):
        chunk = seeds[i:i + args.chunk]
        splits = [notebook_split(s, hy) for s in chunk]
        params = [notebook_init(s, sp[0], hy)[0] for s, sp in zip(chunk, splits, strict=True)]

        def stack(*xs):
            return jnp.stack([jnp.asarray(x) for x in xs])

        curves = run(jax.tree.map(stack, *params),
                     jax.tree.map(stack, *[sp[0] for sp in splits]),
                     jax.tree.map(stack, *[sp[1] for sp in splits]))
        curves = {k: np.asarray(v) for k, v in curves.items()}
        for j, s in enumerate(chunk):
            rows.append({"seed": s, "x64": not args.float32, "reassociate": args.reassociate,
                         "steps": args.steps, **{k: v[j].tolist() for k, v in curves.items()}})
        print(f"seeds {chunk}: {time.perf_counter() - t0:.0f} s", flush=True)
    pd.DataFrame(rows).to_parquet(args.out)


if __name__ == "__main__":
    main()
