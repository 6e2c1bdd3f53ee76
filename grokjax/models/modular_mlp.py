"""The modular-arithmetic MLP family ``modular_mlp`` of docs/experiments.md §1-2 (one hidden
layer, no biases).

    logits = act(E_a[a] W_in_a + E_b[b] W_in_b) W_out U^T

Variants (static settings): ``input_side`` factored (as above) or collapsed (hidden =
E_a[a] + E_b[b], embeddings of width ``hidden``); ``output_side`` factored (W_out U^T) or
collapsed (a free hidden x p matrix ``W_output``); ``tie`` -- tied (one E embeds a and b and
unembeds, U = E), input_tied (a and b share E, U separate), untied (E_a, E_b, U all separate);
``shared_win`` (W_in_a = W_in_b); ``fixed_embed`` (E is a fixed circular embedding, not trained).

The forward pass is reassociated (docs/benchmarks.md, "Performance notes the code relies on"):
the batch holds at most p^2 distinct pairs, so the p x H input tables E W_in and the H x p output
table W_out U^T are formed first and rows gathered, instead of pushing every example through the
embedding width.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grokjax.components import Model
from grokjax.models.activations import ACTIVATION, ACTIVATIONS
from grokjax.models.init import haiku_linear, rescaled_linear, variance_scaling
from grokjax.precision import full_precision
from grokjax.registry import register
from grokjax.settings import STATIC, Setting, positive

LINEAR_INIT = {"haiku": haiku_linear, "rescaled": rescaled_linear}


def circular_embedding(p: int, freqs, dtype=jnp.float32) -> jax.Array:
    """p x 2F matrix of columns cos(2 pi i k / p), sin(2 pi i k / p), each of unit L2 norm."""
    i = np.arange(p)[:, None]
    cols = []
    for k in freqs:
        cols += [np.cos(2 * np.pi * i * k / p), np.sin(2 * np.pi * i * k / p)]
    e_PxD = np.concatenate(cols, axis=1)
    return jnp.asarray(e_PxD / np.linalg.norm(e_PxD, axis=0, keepdims=True), dtype)


def embed_width(cfg: Any) -> int:
    if cfg.fixed_embed:
        return 2 * len(cfg.fixed_embed)
    return cfg.embed if cfg.input_side == "factored" else cfg.hidden


def init_modular(key: jax.Array, cfg: Any, init_scale, dtype) -> dict:
    """Parameters of the variant described by ``cfg`` (p, hidden, embed, input_side, ...).

    ``init = "haiku"`` follows the notebook's dm-haiku defaults exactly: embeddings
    ``VarianceScaling(2.0)`` over their first axis (p for E, E_a, E_b; d for the unembedding,
    which the notebook stores d x p), linear layers ``TruncatedNormal(1/sqrt(fan_in))`` without
    haiku's rescaling.  ``init = "rescaled"`` is grokjax's earlier rule (linear layers rescaled
    to std exactly 1/sqrt(fan_in), the unembedding over p).  ``embed_dtype = "float32"`` keeps
    the trained embeddings in float32 whatever the run's dtype, as ``hk.get_parameter`` does,
    while the linear layers take the run's dtype as ``hk.Linear`` takes its input's.
    """
    p, h, d = cfg.p, cfg.hidden, embed_width(cfg)
    linear = LINEAR_INIT[cfg.init]
    e_dtype = jnp.float32 if cfg.embed_dtype == "float32" else dtype
    keys = iter(jax.random.split(key, 8))
    params = {}
    if not cfg.fixed_embed:
        names = ("E",) if cfg.tie in ("tied", "input_tied") else ("E_a", "E_b")
        for name in names:
            params[name] = variance_scaling(next(keys), p, (p, d), init_scale, e_dtype)
    if cfg.input_side == "factored":
        for name in ("W_in",) if cfg.shared_win else ("W_in_a", "W_in_b"):
            params[name] = linear(next(keys), d, (d, h), init_scale, dtype)
    if cfg.output_side == "factored":
        params["W_out"] = linear(next(keys), h, (h, d), init_scale, dtype)
        if cfg.tie != "tied":
            u_fan_in = d if cfg.init == "haiku" else p
            params["U"] = variance_scaling(next(keys), u_fan_in, (p, d), init_scale, e_dtype)
    else:
        params["W_output"] = linear(next(keys), h, (h, p), init_scale, dtype)
    return params


def compute_dtype(params: dict) -> Any:
    """The dtype the forward pass runs in: the widest parameter's (float32 embeddings are
    upcast in a float64 model, as the notebook's float64 one-hot products do)."""
    return jnp.result_type(*jax.tree.leaves(params))


def _embeddings(params: dict, cfg: Any, dtype) -> tuple[jax.Array, jax.Array]:
    if cfg.fixed_embed:
        e = circular_embedding(cfg.p, cfg.fixed_embed, dtype)
        return e, e
    if "E" in params:
        e = params["E"].astype(dtype)
        return e, e
    return params["E_a"].astype(dtype), params["E_b"].astype(dtype)


@full_precision
def collapsed_view(params: dict, cfg: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(W_input_a p x H, W_input_b p x H, W_output H x p): the model as two matrices."""
    dtype = compute_dtype(params)
    e_a, e_b = _embeddings(params, cfg, dtype)
    if cfg.input_side == "factored":
        w_a = params.get("W_in", params.get("W_in_a"))
        w_b = params.get("W_in", params.get("W_in_b"))
        t_a_PxH = e_a @ w_a
        t_b_PxH = t_a_PxH if (e_a is e_b and w_a is w_b) else e_b @ w_b
    else:
        t_a_PxH, t_b_PxH = e_a, e_b
    if cfg.output_side == "factored":
        u_PxD = params["U"].astype(dtype) if "U" in params else e_a
        o_HxP = params["W_out"] @ u_PxD.T
    else:
        o_HxP = params["W_output"]
    return t_a_PxH, t_b_PxH, o_HxP


@full_precision
def hidden_activations(params: dict, cfg: Any, a_B: jax.Array, b_B: jax.Array) -> jax.Array:
    t_a, t_b, _ = collapsed_view(params, cfg)
    return ACTIVATIONS[cfg.activation](t_a[a_B] + t_b[b_B])


@full_precision
def modular_logits(params: dict, cfg: Any, a_B: jax.Array, b_B: jax.Array) -> jax.Array:
    """Logits B x p for the pairs (a_B, b_B)."""
    t_a_PxH, t_b_PxH, o_HxP = collapsed_view(params, cfg)
    h_BxH = ACTIVATIONS[cfg.activation](t_a_PxH[a_B] + t_b_PxH[b_B])
    return h_BxH @ o_HxP


def _freqs(v: Any) -> str | None:
    if any((not isinstance(f, int)) or isinstance(f, bool) or f < 1 for f in v):
        return "must be a list of integer frequencies >= 1"
    if len(set(v)) != len(v):
        return "must not repeat a frequency"
    return None


def _resolve(cfg: dict, fail) -> None:
    if cfg["fixed_embed"]:
        bad = [f for f in cfg["fixed_embed"] if f > (cfg["p"] - 1) // 2]
        if bad:
            fail("fixed_embed", f"frequencies {bad} exceed (p-1)/2 = {(cfg['p'] - 1) // 2}")
        for key, need in (("input_side", "factored"), ("output_side", "factored"),
                          ("tie", "tied")):
            if cfg[key] != need:
                fail(key, f"a fixed circular embedding needs {key} = {need!r} "
                     f"(got {cfg[key]!r})")
        cfg["embed"] = 2 * len(cfg["fixed_embed"])


MODEL = register(Model(
    name="modular_mlp",
    doc="the explorable's modular MLP family: embeddings, one hidden layer, (un)embedding",
    settings=(
        Setting("hidden", int, 24, STATIC, "hidden neurons", check=positive),
        ACTIVATION,
        Setting("embed", int, 500, STATIC, "embedding width d (ignored with fixed_embed)",
                check=positive),
        Setting("input_side", str, "factored", STATIC,
                "factored: hidden = E[a] W_in + E[b] W_in; collapsed: hidden = E[a] + E[b]",
                choices=("factored", "collapsed")),
        Setting("output_side", str, "factored", STATIC,
                "factored: logits = h W_out U^T; collapsed: logits = h W_output (hidden x p)",
                choices=("factored", "collapsed")),
        Setting("tie", str, "tied", STATIC,
                "tied: one E embeds a, b and unembeds; input_tied: a and b share E, separate"
                " unembedding; untied: separate E_a, E_b and unembedding",
                choices=("tied", "input_tied", "untied")),
        Setting("shared_win", bool, True, STATIC, "a and b share W_in (else W_in_a, W_in_b)"),
        Setting("init", str, "haiku", STATIC,
                "haiku: the notebook's dm-haiku defaults (linear layers TruncatedNormal("
                "1/sqrt(fan_in)) not rescaled, actual std 0.88/sqrt(fan_in)); rescaled: linear "
                "layers with std exactly 1/sqrt(fan_in) (grokjax before 2026-12)",
                choices=tuple(LINEAR_INIT)),
        Setting("embed_dtype", str, "float32", STATIC,
                "float32: trained embeddings stay float32 in a float64 run (the notebook's "
                "hk.get_parameter default); run: every parameter in the run's dtype",
                choices=("float32", "run")),
        Setting("fixed_embed", list, [], STATIC,
                "frequencies of a fixed circular embedding (empty: trained embedding)",
                check=_freqs),
    ),
    init=init_modular,
    apply=lambda params, cfg, inputs: modular_logits(params, cfg, *inputs),
    inputs=("token_pairs",),
    resolve=_resolve,
    views={"collapsed": collapsed_view},
    activation_width=lambda cfg: cfg.hidden + cfg.p,
))
