"""Stability telemetry (Prieto et al. 2025's diagnostics, generic): measures of the train set
and the parameters logged at every log step inside the compiled loop.

- ``zero_loss_frac``: share of training examples whose loss is exactly 0 in the run's dtype;
- the task's ``stability`` booleans as shares (``<key>_frac``, e.g. ``softmax_collapse_frac``);
- ``grad_cos``: cosine between the raw loss gradient and the weights, each flattened over all
  parameters (-1: the gradient only shrinks the weights, as weight decay does);
- ``norm_<path>``: the L2 norm of each parameter tensor, named by its path in the tree.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def _path_name(path: tuple) -> str:
    parts = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                parts.append(str(getattr(k, attr)))
                break
    return "norm_" + "_".join(parts)


def tensor_norm_keys(params: Any) -> tuple[str, ...]:
    """``norm_<path>`` per parameter tensor (shapes suffice: works on ``jax.eval_shape``)."""
    return tuple(_path_name(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0])


def tensor_norms(params: Any) -> dict[str, jax.Array]:
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    return {_path_name(p): jnp.sqrt(jnp.sum(jnp.square(w))) for p, w in leaves}


def cosine(a: Any, b: Any) -> jax.Array:
    """cos(a, b) of two pytrees flattened into one vector each (0 where either is zero)."""
    dot = sum(jnp.sum(x * y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b),
                                             strict=True))
    na = jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(a)))
    nb = jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(b)))
    return jnp.where((na > 0) & (nb > 0), dot / jnp.maximum(na * nb, jnp.finfo(dot.dtype).tiny),
                     0)


def masked_share(flag_N: jax.Array, mask_N: jax.Array) -> jax.Array:
    """Share of the masked rows where ``flag_N`` holds."""
    return jnp.sum(flag_N & mask_N) / jnp.maximum(jnp.sum(mask_N), 1)
