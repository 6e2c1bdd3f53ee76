"""Minibatches (``batch_size``): the sampling rule, vmapped == alone, segment boundaries, and
kill -9 then resume == uninterrupted, bit for bit."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from grokjax import EngineOptions, group_runs, run_sweep, store, train_chunk
from grokjax.spec import load_spec, resolve
from grokjax.static import HParams, Static
from grokjax.train import METRICS, init_state, make_data, minibatch_rows, train, train_loss

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GROKJAX_QUIET": "1"}

PARITY = dict(n=10, k=3, hidden=16, test_size=200, steps=100, log_every=25, batch_size=32)


def _cfg(task="parity", **kw):
    cfg = resolve(task, kw)
    cfg["run_id"] = str(sorted(kw.items()))
    return cfg


def _rows(cfg, step, train_pad=None):
    static = Static.from_config(cfg, train_pad=train_pad)
    hp = HParams.from_config(cfg, static.dtype)
    rows, use = minibatch_rows(static, hp, jnp.int32(step))
    return np.asarray(rows), np.asarray(use)


def test_rows_are_distinct_within_the_run_and_independent_of_padding():
    cfg = _cfg(**{**PARITY, "train_size": 100})
    rows, use = _rows(cfg, 5)
    assert rows.shape == (32,) and use.all()
    assert len(set(rows)) == 32 and rows.max() < 100
    padded, _ = _rows(cfg, 5, train_pad=300)  # the run padded into a bigger group
    np.testing.assert_array_equal(rows, padded)
    assert set(_rows(cfg, 6)[0]) != set(rows)  # another step, another batch
    other_seed = _cfg(**{**PARITY, "train_size": 100, "seed": 1})
    assert set(_rows(other_seed, 5)[0]) != set(rows)


def test_rows_are_uniform_over_the_train_set():
    """Each of the 40 rows is drawn with probability 8 / 40 per step (400 steps: 80 expected
    draws per row, sd ~8): a chi-square-like bound on the counts."""
    cfg = _cfg(**{**PARITY, "train_size": 40, "batch_size": 8})
    static = Static.from_config(cfg)
    hp = HParams.from_config(cfg, static.dtype)
    rows = jax.vmap(lambda t: minibatch_rows(static, hp, t)[0])(jnp.arange(400))
    counts = np.bincount(np.asarray(rows).ravel(), minlength=40)
    assert counts.sum() == 3200 and counts.min() > 45 and counts.max() < 115


def test_a_batch_larger_than_the_train_set_is_the_full_batch():
    big = _cfg(**{**PARITY, "train_size": 24, "batch_size": 64})
    full = _cfg(**{**PARITY, "train_size": 24, "batch_size": 0})
    rows, use = _rows(big, 3)
    assert use.sum() == 24 and sorted(rows[use]) == list(range(24))
    losses = []
    for cfg in (big, full):
        static = Static.from_config(cfg)
        hp = HParams.from_config(cfg, static.dtype)
        data = make_data(static, hp.data_seed)
        losses.append(float(train_loss(init_state(static, hp, data).params, static, data, hp,
                                       jnp.int32(3))))
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)


def _alone(cfg):
    static = Static.from_config(cfg)
    res = jax.jit(train, static_argnums=0)(static, HParams.from_config(cfg, static.dtype))
    return {k: np.asarray(v) for k, v in res.curves.items()}


def test_vmapped_minibatched_runs_equal_each_run_alone_across_segments():
    """Three minibatched parity runs with different seeds, train sizes (padded) and numbers in
    one chunk, trained in 4 segments, give each run's curves trained alone in one segment."""
    configs = [_cfg(**PARITY, seed=0, train_size=120, lr=3e-3, weight_decay=0.1),
               _cfg(**PARITY, seed=1, data_seed=5, train_size=200, lr=1e-2),
               _cfg(**PARITY, seed=2, data_seed=5, train_size=64, weight_decay=1.0)]
    (static, members), = group_runs(configs, bucket_train_size=False).items()
    res = train_chunk(static, members, segment_steps=static.steps // 4)
    for i, cfg in enumerate(members):
        alone = _alone(cfg)
        for k in METRICS:
            np.testing.assert_allclose(res.curves[k][i], alone[k], rtol=2e-4, atol=1e-6,
                                       err_msg=f"{k} of run {cfg['run_id']}")


def test_minibatched_curves_differ_from_full_batch():
    mini = _alone(_cfg(**{**PARITY, "train_size": 120}))
    full = _alone(_cfg(**{**PARITY, "train_size": 120, "batch_size": 0}))
    assert not np.allclose(mini["train_loss"][1:], full["train_loss"][1:])


SPEC = """
[sweep]
seeds = 3
data_seeds = "per_seed"
[fixed]
task = "parity"
n = 8
k = 2
hidden = 8
test_size = 64
steps = 200
log_every = 50
batch_size = 16
[grid]
train_size = [32, 48]
[engine]
chunk_size = 1
flush_rows = 1
"""


def test_kill9_then_resume_reproduces_minibatched_runs(tmp_path):
    spec_file = tmp_path / "mini.toml"
    spec_file.write_text(textwrap.dedent(SPEC))
    ref = tmp_path / "ref"
    run_sweep(load_spec(spec_file), ref, options=EngineOptions(chunk_size=1, workers=1),
              quiet=True, report=False)
    reference = pd.read_parquet(ref / "runs")
    out = tmp_path / "mini"
    cli = [sys.executable, "-m", "grokjax", "sweep", str(spec_file), "--out", str(out),
           "--no-report", "--quiet", "--workers", "1"]
    proc = subprocess.Popen(cli, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while len(store.part_files(out)) < 2 and proc.poll() is None:
        assert time.time() < deadline, "sweep made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(pd.read_parquet(out / "runs"))
    assert 0 < partial < len(reference)
    rerun = subprocess.run(cli, env=ENV, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{partial} already done" in rerun.stdout
    got = pd.read_parquet(out / "runs").sort_values("run_id").reset_index(drop=True)
    want = reference.sort_values("run_id").reset_index(drop=True)
    assert got["run_id"].is_unique and list(got["run_id"]) == list(want["run_id"])
    for col in ("train_loss", "test_loss", "test_acc", "l2_norm", "phase", "batch_size"):
        for x, y in zip(got[col], want[col], strict=True):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=col)
