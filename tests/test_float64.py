"""A float64 run is float64 end to end: parameters, gradients, Adam moments, logits, softmax
and loss -- checked on the traced program, so any stage that fell back to float32 fails."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grokjax.spec import resolve
from grokjax.static import HParams, Static
from grokjax.train import init_state, make_data, metrics_of, train_step


@pytest.fixture(autouse=True)
def x64():
    before = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


def _float_dtypes(jaxpr) -> set:
    """Every floating dtype any equation of ``jaxpr`` (and its sub-programs) produces."""
    found = set()
    for eqn in jaxpr.eqns:
        for v in eqn.outvars:
            dt = getattr(v.aval, "dtype", None)
            if dt is not None and jnp.issubdtype(dt, jnp.floating):
                found.add(jnp.dtype(dt))
        for p in eqn.params.values():
            for sub in p if isinstance(p, (list, tuple)) else (p,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    found |= _float_dtypes(inner)
    return found


def _setup(task, **kw):
    cfg = resolve(task, {"dtype": "float64", **kw})
    static = Static.from_config(cfg)
    hp = HParams.from_config(cfg, static.dtype)
    data = make_data(static, hp.data_seed)
    return static, hp, data, init_state(static, hp, data)


@pytest.mark.parametrize("task,kw", [
    ("modular", dict(p=11, embed=8, hidden=6, embed_dtype="run", loss="ce_class_mean")),
    ("modular", dict(p=11, embed=8, hidden=6, embed_dtype="run", tie="untied")),
    ("parity", dict(n=8, k=2, hidden=6, train_size=40, test_size=20)),
])
def test_float64_run_computes_nothing_in_float32(task, kw):
    static, hp, data, state = _setup(task, **kw)
    for leaf in jax.tree.leaves((state.params, state.opt_state)):
        assert leaf.dtype in (jnp.float64, jnp.int32, jnp.int64), leaf.dtype
    step = jax.make_jaxpr(lambda s: train_step(static, hp, data, s))(state)
    assert _float_dtypes(step.jaxpr) == {jnp.dtype(jnp.float64)}
    logged = jax.make_jaxpr(lambda s: metrics_of(static, hp, data, s))(state)  # + progress
    assert _float_dtypes(logged.jaxpr) == {jnp.dtype(jnp.float64)}
    new = train_step(static, hp, data, state)
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(state), strict=True):
        assert a.dtype == b.dtype


def test_the_notebooks_mixed_types_keep_the_embedding_float32():
    """embed_dtype = "float32" (the default, the notebook's hk.get_parameter): E and its Adam
    moments stay float32 through a step; everything else, the forward pass included, is
    float64 -- the only float32 values the step computes are E's gradient and update."""
    static, hp, data, state = _setup("modular", p=11, embed=8, hidden=6)
    assert state.params["E"].dtype == jnp.float32
    assert state.params["W_in"].dtype == state.params["W_out"].dtype == jnp.float64
    new = jax.jit(lambda s: train_step(static, hp, data, s))(state)
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(state), strict=True):
        assert a.dtype == b.dtype
    moments = [x for x in jax.tree.leaves(new.opt_state) if x.ndim == 2]
    assert sorted(str(m.dtype) for m in moments) == ["float32"] * 2 + ["float64"] * 4
    assert not np.array_equal(new.params["E"], state.params["E"])
