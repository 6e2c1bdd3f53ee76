"""A user's components from their own files: plugins registered through the same surface as
the built-ins, validated, trained by pinned workers, resumed, reported and explored."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import optax
import pandas as pd
import pytest

from grokjax import EngineOptions, registry, run_sweep, store
from grokjax.errors import SpecError
from grokjax.spec import load_spec, parse_spec, resolve
from grokjax.static import HParams, Static
from grokjax.train import make_data, train

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = Path(__file__).resolve().parent / "plugins"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GROKJAX_QUIET": "1"}

MAJORITY = """
[sweep]
seeds = 2
plugins = ["majority.py"]
[fixed]
task = "majority"
n = 7
test_size = 256
steps = 300
log_every = 50
[grid]
train_size = [48, 96]
bias = [true, false]
"""


def _write(tmp_path: Path, text: str, plugin: str = "majority.py", name: str = "maj.toml"):
    shutil.copy(PLUGINS / plugin, tmp_path / plugin)
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def _cli(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, "-m", "grokjax", *map(str, args)], env=ENV, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def test_plugin_task_and_model_sweep_with_two_workers(tmp_path):
    spec = load_spec(_write(tmp_path, MAJORITY))
    assert {r["model"] for r in spec.runs()} == {"linear"} and len(spec.runs()) == 8
    rep = run_sweep(spec, tmp_path / "out", options=EngineOptions(workers=2), quiet=True,
                    report=True)
    assert rep.workers == 2 and rep.n_trained == 8
    df = store.load_results(tmp_path / "out")
    assert sorted(df["run_id"]) == sorted(r["run_id"] for r in spec.runs())
    assert set(df["task"]) == {"majority"} and set(df["model"]) == {"linear"}
    assert df["bias"].dtype == "boolean" and df["n"].dropna().unique().tolist() == [7]
    # majority is a threshold: a linear model learns it with a bias and cannot without one
    acc = df.groupby("bias")["final_test_acc"]
    assert acc.min()[True] > 0.9 and acc.max()[False] < 0.8, acc.describe()
    # the worker's run equals the same run trained alone in this process
    row = df.iloc[0]
    cfg = next(r for r in spec.runs() if r["run_id"] == row["run_id"])
    static = Static.from_config(cfg)
    alone = train(static, HParams.from_config(cfg, static.dtype)).curves
    np.testing.assert_allclose(row["train_loss"], alone["train_loss"], rtol=1e-5, atol=1e-7)
    assert (tmp_path / "out" / "index.html").is_file()
    # the report and an explorer page from a fresh process (plugins come from the manifest)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["plugins"] == [
        str((tmp_path / "majority.py").resolve())]
    out = _cli("report", tmp_path / "out", "--no-png", "--no-explorers")
    assert out.returncode == 0, out.stderr
    out = _cli("explore", tmp_path / "out", row["run_id"])
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "out" / "explore" / f"{row['run_id']}.html").read_text()
    assert "majority" in html


@pytest.mark.parametrize("text,key,words", [
    ("n = 8", "[fixed] n", "must be odd"),
    ("n = -1", "[fixed] n", "> 0"),
    ('bias = "yes"', "[fixed] bias", "true or false"),
    ("p = 7", "[fixed] p", "does not apply"),
])
def test_plugin_settings_get_the_same_one_line_errors(tmp_path, text, key, words):
    p = _write(tmp_path, MAJORITY.replace("n = 7", text))
    out = _cli("sweep", p, "--out", tmp_path / "res", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"error: {p}: {key}: ") and words in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("plugin,words", [
    ("broken.py", "failed to import (line 5): RuntimeError: this plugin is broken on purpose"),
    ("twice.py", "a task named 'parity' is already registered"),
    ("missing.py", "no such Python file"),
])
def test_bad_plugin_is_a_clear_error(tmp_path, plugin, words):
    if (PLUGINS / plugin).exists():
        shutil.copy(PLUGINS / plugin, tmp_path / plugin)
    p = tmp_path / "bad.toml"
    p.write_text(f'[sweep]\nplugins = ["{plugin}"]\n[fixed]\ntask = "parity"\n')
    out = _cli("validate", p, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"error: {p}: [sweep] plugins[0]: ") and words in out.stderr, \
        out.stderr
    assert "Traceback" not in out.stderr


def test_a_failed_plugin_registers_nothing(tmp_path):
    (tmp_path / "half.py").write_text(textwrap.dedent("""
        import dataclasses
        import grokjax
        from grokjax.models import parity_mlp
        grokjax.register(dataclasses.replace(parity_mlp.MODEL, name="half_model"))
        raise ValueError("late failure")
        """))
    with pytest.raises(SpecError, match="late failure"):
        parse_spec({"sweep": {"plugins": ["half.py"]}}, base_dir=tmp_path)
    assert "half_model" not in registry.names("model")


def test_unknown_model_and_incompatible_model_are_clear_errors():
    with pytest.raises(SpecError, match=r"\[fixed\] model: 'nope' is not allowed; allowed: "
                       r"one of .*'modular_mlp'"):
        parse_spec({"fixed": {"task": "parity", "model": "nope"}}, source="s.toml")
    with pytest.raises(SpecError, match="model 'modular_mlp' does not apply to task 'parity'"):
        parse_spec({"fixed": {"task": "parity", "model": "modular_mlp"}}, source="s.toml")


# ---------------------------------------------------------------------------------------------
# The shipped example: modular addition with label noise
# ---------------------------------------------------------------------------------------------

EXAMPLE = ROOT / "examples" / "label_noise.toml"


def test_label_noise_example_corrupts_the_asked_fraction_and_zero_noise_is_modular():
    load_spec(EXAMPLE)  # registers the plugin
    base = {"p": 31, "embed": 16, "hidden": 8, "steps": 200, "log_every": 100,
            "train_frac": 0.6}
    noisy = resolve("modular_label_noise", {**base, "label_noise": 0.3})
    static = Static.from_config(noisy)
    hp = HParams.from_config(noisy, static.dtype)
    data = make_data(static, hp.data_seed)
    task = registry.get("task", "modular_label_noise")
    y = np.asarray(task.train_batch(static, data, hp).targets)[:noisy["train_size"]]
    clean = np.asarray(data.clean.y_train_N)[:noisy["train_size"]]
    wrong = y != clean
    assert 0.2 < wrong.mean() < 0.4 and ((y >= 0) & (y < 31)).all()
    # no noise: the built-in modular task -- the same training bit for bit (same data, loss and
    # model); the metrics agree to float rounding (the plugin sums its train and test metrics
    # in two batches, the built-in in one pass over every pair)
    a = resolve("modular_label_noise", {**base, "label_noise": 0.0})
    b = resolve("modular", base)
    ra = train(Static.from_config(a), HParams.from_config(a, "float32"))
    rb = train(Static.from_config(b), HParams.from_config(b, "float32"))
    for k in rb.state.params:
        np.testing.assert_array_equal(np.asarray(ra.state.params[k]),
                                      np.asarray(rb.state.params[k]))
    for k in ("train_loss", "test_loss", "test_acc"):
        np.testing.assert_allclose(np.asarray(ra.curves[k]), np.asarray(rb.curves[k]),
                                   rtol=1e-6)


@pytest.mark.slow
def test_label_noise_example_end_to_end_kill9_and_resume(tmp_path):
    """`sweep examples/label_noise.toml --quick` trains, resumes after kill -9 and writes a
    page: the same rows as one uninterrupted sweep."""
    out = tmp_path / "noisy"
    args = [sys.executable, "-m", "grokjax", "sweep", str(EXAMPLE), "--quick", "--out",
            str(out), "--workers", "2"]
    proc = subprocess.Popen([*args, "--no-report"], env=ENV,
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while not store.part_files(out) and proc.poll() is None:
        assert time.time() < deadline, "sweep made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.read()  # EOF: the workers, which share its stderr, have died with it too
    partial = len(pd.read_parquet(out / "runs")) if store.part_files(out) else 0
    rerun = subprocess.run([*args, "--quiet"], env=ENV, cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    df = store.load_results(out)
    assert len(df) == 4 and df["run_id"].is_unique and partial <= 4
    assert set(df["task"]) == {"modular_label_noise"}
    assert sorted(df["label_noise"].unique()) == [0.0, 0.3]
    assert (out / "index.html").is_file() and any((out / "explore").glob("*.html"))


def test_plugin_optimizer_traced_per_run_matches_optax():
    """docs/extending.md's momentum optimizer: its numbers are traced (one group for every
    momentum), and two steps equal optax's own SGD with momentum."""
    import jax

    from grokjax import group_runs
    from grokjax.train import init_state, make_data, train_loss, train_step

    spec = parse_spec({"sweep": {"plugins": ["momentum.py"]},
                       "fixed": {"task": "parity", "n": 8, "k": 2, "hidden": 8,
                                 "train_size": 32, "test_size": 32, "steps": 100,
                                 "optimizer": "momentum", "weight_decay": 0.0},
                       "grid": {"momentum": [0.5, 0.9]}}, base_dir=PLUGINS)
    assert len(group_runs(spec.runs())) == 1  # momentum is per run: one compiled group
    cfg = spec.runs()[1]
    static = Static.from_config(cfg)
    hp = HParams.from_config(cfg, static.dtype)
    data = make_data(static, hp.data_seed)
    s = init_state(static, hp, data)
    ref = optax.sgd(cfg["lr"], momentum=0.9)
    params, opt = s.params, ref.init(s.params)
    for _ in range(2):
        s = train_step(static, hp, data, s)
        g = jax.grad(train_loss)(params, static, data, hp)
        upd, opt = ref.update(g, opt, params)
        params = optax.apply_updates(params, upd)
    for k in params:
        np.testing.assert_allclose(np.asarray(s.params[k]), np.asarray(params[k]), rtol=1e-5,
                                   atol=1e-7)


def test_cli_settings_lists_a_plugins_components_and_rejects_unknown_names():
    out = _cli("settings", "--plugin", "examples/label_noise.py", "--task",
               "modular_label_noise")
    assert out.returncode == 0, out.stderr
    assert "label_noise" in out.stdout and "model modular_mlp" in out.stdout
    assert "task parity" not in out.stdout  # only the asked task
    out = _cli("settings", "--task", "nope")
    assert out.returncode == 2 and out.stderr.startswith("error: command line: --task: no task "
                                                         "named 'nope'"), out.stderr
    assert "--plugin FILE" in out.stderr  # a plugin's task is not registered without it


def test_misspelled_setting_lists_the_chosen_models_settings_and_the_closest_one(tmp_path):
    spec = {"sweep": {"plugins": [str(PLUGINS / "sqsum.py")]},
            "fixed": {"task": "sqsum", "model": "ln_mlp", "p": 11, "layernrom": False}}
    with pytest.raises(SpecError) as e:
        parse_spec(spec, source="sq.toml")
    msg = str(e.value)
    assert "[fixed] layernrom: unknown setting (did you mean 'layernorm'?)" in msg, msg
    allowed = msg.split("allowed: ")[1].split(", ")
    assert "layernorm" in allowed and "embed" not in allowed  # ln_mlp's, not modular_mlp's
    # a [grid] of models: the settings of each of them
    spec = {"sweep": {"plugins": [str(PLUGINS / "sqsum.py")]},
            "fixed": {"task": "sqsum", "p": 11}, "grid": {"model": ["ln_mlp", "modular_mlp"],
                                                        "hiddden": [4]}}
    with pytest.raises(SpecError, match=r"did you mean 'hidden'\?.*layernorm.*embed"):
        parse_spec(spec, source="sq.toml")


def _code_tokens(src: str) -> list[str]:
    """The tokens of Python source without comments, line breaks and the module docstring."""
    import io
    import tokenize

    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
    toks = [t for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type not in skip]
    if toks and toks[0].type == tokenize.STRING:  # the module docstring
        toks = toks[1:]
    return [t.string for t in toks]


def test_extending_docs_model_example_is_the_tested_plugin():
    """docs/extending.md's "A new model" example is tests/plugins/sqsum.py, which the explorer
    browser tests train and render: the doc's code cannot drift from code that runs."""
    doc = (ROOT / "docs" / "extending.md").read_text()
    section = doc[doc.index("## A new model"):]
    code = section[section.index("```python") + len("```python"):]
    code = code[:code.index("```")]
    assert _code_tokens(code) == _code_tokens((PLUGINS / "sqsum.py").read_text())
