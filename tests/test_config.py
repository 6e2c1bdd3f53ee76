"""Sweep files: expansion, stable ids, and one clear error (exit status 2) per kind of bad input."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grokjax.errors import SpecError
from grokjax.options import ReportOptions
from grokjax.spec import load_spec, parse_spec, resolve, run_id

ROOT = Path(__file__).resolve().parent.parent


def spec_of(text: str, tmp_path: Path, name: str = "s.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return load_spec(p)


GOOD = """
[sweep]
seeds = 2
[fixed]
task = "parity"
n = 10
k = 3
steps = 200
log_every = 100
[grid]
weight_decay = {logspace = [0.01, 1.0], num = 3}
hidden = [8, 16]
"""


def test_expansion_order_values_and_seed_axis(tmp_path):
    spec = spec_of(GOOD, tmp_path)
    runs = spec.runs()
    assert len(runs) == 3 * 2 * 2
    assert spec.grid["weight_decay"] == [0.01, 0.1, 1.0]
    assert list(spec.grid) == ["weight_decay", "hidden", "seed"]
    assert [r["seed"] for r in runs[:4]] == [0, 1, 0, 1]
    assert {r["hidden"] for r in runs} == {8, 16}
    assert all(r["data_seed"] == 0 and r["lr"] == 3e-3 for r in runs)  # defaults filled in
    assert spec.varying == ["weight_decay", "hidden"]
    assert len({r["run_id"] for r in runs}) == 12


def test_run_ids_are_stable_golden():
    """A run's id is a hash of its full configuration: it must not change between versions
    unless a setting's default does (then results are genuinely different runs)."""
    cfg = resolve("parity", {"n": 10, "k": 3})
    assert run_id(cfg) == run_id(dict(reversed(list(cfg.items()))))
    assert run_id(cfg) == "4984c2682cea46af"
    assert run_id({**cfg, "seed": 1}) != run_id(cfg)
    # a setting added later (matmul_precision) keeps ids at its default, changes them otherwise
    assert cfg["matmul_precision"] == "highest"
    assert run_id({**cfg, "matmul_precision": "default"}) != run_id(cfg)


def test_spec_hash_ignores_phases_and_report_tables(tmp_path):
    a = spec_of(GOOD, tmp_path, "a.toml")
    b = spec_of(GOOD + '\n[phases]\nrule = "accuracy"\n', tmp_path, "b.toml")
    c = spec_of(GOOD.replace("steps = 200", "steps = 300"), tmp_path, "c.toml")
    assert a.spec_hash() == b.spec_hash() != c.spec_hash()


def test_per_seed_data(tmp_path):
    spec = spec_of(GOOD.replace("seeds = 2", 'seeds = 2\ndata_seeds = "per_seed"'), tmp_path)
    assert all(r["data_seed"] == r["seed"] for r in spec.runs())


def test_modular_train_size_is_derived():
    cfg = resolve("modular", {"p": 67, "symmetric": True, "train_frac": 0.4})
    assert cfg["train_size"] == 911


BAD = [
    # (what, toml text, key named in the message, words that must appear)
    ("unknown key", '[fixed]\ntask = "parity"\nwidth = 3\n', "[fixed] width", ["hidden"]),
    ("unknown table", "[model]\nx = 1\n", "[model]", ["[grid]"]),
    ("wrong type", '[fixed]\nhidden = "big"\n', "[fixed] hidden", ["integer"]),
    ("float for int", "[fixed]\nhidden = 3.5\n", "[fixed] hidden", ["integer"]),
    ("bool for number", "[fixed]\nlr = true\n", "[fixed] lr", ["number"]),
    ("empty axis", "[grid]\nweight_decay = []\n", "[grid] weight_decay", ["empty"]),
    ("negative weight decay", "[grid]\nweight_decay = [0.1, -0.1]\n",
     "[grid] weight_decay[1]", [">= 0"]),
    ("k > n", "[fixed]\nn = 3\nk = 5\n", "[fixed] k", ["k <= n"]),
    ("train size larger than the data", "[fixed]\nn = 4\nk = 2\ntrain_size = 100\n",
     "[fixed] train_size", ["2**n = 16"]),
    ("bad choice", '[fixed]\nactivation = "swish"\n', "[fixed] activation", ["'relu'"]),
    ("wrong task key", '[fixed]\ntask = "parity"\np = 7\n', "[fixed] p", ["does not apply"]),
    ("log_every", "[fixed]\nsteps = 250\nlog_every = 100\n", "log_every", ["multiple"]),
    ("repeated value", "[grid]\nhidden = [8, 8]\n", "[grid] hidden", ["repeats"]),
    ("bad range", "[grid]\nlr = {logspace = [0, 1], num = 3}\n", "[grid] lr", ["> 0"]),
    ("seeds and seed", "[sweep]\nseeds = 2\n[grid]\nseed = [1, 2]\n", "[sweep] seeds",
     ["not both"]),
    ("train_frac", '[fixed]\ntask = "modular"\np = 5\ntrain_frac = 0.01\n',
     "train_frac", ["at least one pair"]),
    ("unknown engine key", "[engine]\nthreads = 4\n", "[engine] threads", ["chunk_size"]),
    ("bad phase rule", '[phases]\nrule = "vibes"\n', "[phases] rule", ["loss"]),
    ("task in grid", '[grid]\ntask = ["parity", "modular"]\n', "[grid] task", ["fixed"]),
]


@pytest.mark.parametrize("what,text,key,words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_file_and_key(tmp_path, what, text, key, words):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(SpecError) as e:
        load_spec(p)
    msg = str(e.value)
    assert str(p) in msg and key in msg, msg
    for w in words:
        assert w in msg, msg


def test_missing_file_and_invalid_toml(tmp_path):
    with pytest.raises(SpecError, match="no such sweep file"):
        load_spec(tmp_path / "nope.toml")
    (tmp_path / "broken.toml").write_text("[fixed\nx = ")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(tmp_path / "broken.toml")


def test_parse_spec_from_a_dict():
    spec = parse_spec({"fixed": {"task": "modular", "p": 7}, "grid": {"hidden": [4, 8]}},
                      source="inline")
    assert spec.name == "inline" and len(spec.runs()) == 2


@pytest.mark.parametrize("text,key", [("[fixed]\nn = 3\nk = 5\n", "[fixed] k"),
                                      ("[grid]\nweight_decay = [-1.0]\n", "weight_decay")])
def test_cli_bad_input_exit_2_no_traceback_nothing_written(tmp_path, text, key):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    out = subprocess.run([sys.executable, "-m", "grokjax", "sweep", str(spec), "--out",
                          str(tmp_path / "res")], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and key in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "res").exists()


def test_cli_missing_file_exit_2(tmp_path):
    out = subprocess.run([sys.executable, "-m", "grokjax", "sweep", "no_such_sweep"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 2 and "no such sweep file" in out.stderr
    assert "parity_quick" in out.stderr  # lists the sweeps that do exist


def test_cli_validate_float64_sweep_without_warnings(tmp_path):
    """validate plans float64 runs with x64 on: no 'truncated to float32' warnings."""
    spec = tmp_path / "f64.toml"
    spec.write_text('[fixed]\ntask = "modular"\np = 7\nembed = 4\nhidden = 4\nsteps = 100\n'
                    'dtype = "float64"\n')
    out = subprocess.run([sys.executable, "-m", "grokjax", "validate", str(spec)],
                         capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1 runs in 1 compiled groups" in out.stdout
    assert "truncated" not in out.stderr and "Warning" not in out.stderr, out.stderr


def test_shipped_sweeps_are_valid():
    for path in sorted((ROOT / "sweeps").glob("*.toml")):
        spec = load_spec(path)
        assert spec.runs(), path
        first = path.read_text().splitlines()[0]
        assert first.startswith(f"# {path.stem}"), f"{path}: header comment names the sweep"
        assert "make sweep" in path.read_text() or "python -m grokjax" in path.read_text()
        header = "\n".join(ln for ln in path.read_text().splitlines() if ln.startswith("#"))
        assert "measured" in header.lower(), f"{path}: the header gives the measured run time"
        assert "_NOTE" not in header, f"{path}: an unfilled placeholder in the header"
    assert len(load_spec(ROOT / "sweeps/parity_grid.toml").runs()) == 1125


# ---------------------------------------------------------------------------------------------
# [quick]: the CI-sized variant of a sweep file
# ---------------------------------------------------------------------------------------------

_QUICK_BASE = {
    "sweep": {"seeds": 3},
    "fixed": {"task": "parity", "n": 10, "k": 2, "steps": 1000, "hidden": 16},
    "grid": {"weight_decay": [0.01, 0.1, 1.0], "train_size": [100, 200]},
    "report": {"x": "weight_decay", "y": "train_size"},
}


def test_quick_merges_seeds_fixed_and_grid():
    spec = parse_spec({**_QUICK_BASE, "quick": {
        "seeds": 1, "fixed": {"steps": 100, "train_size": 100},
        "grid": {"weight_decay": [0.1, 1.0]}}}, source="s.toml", name="s")
    q = spec.quick()
    assert q.name == "s_quick" and q.source == "s.toml [quick]"
    assert q.grid == {"weight_decay": [0.1, 1.0], "seed": [0]}
    assert q.fixed["steps"] == 100 and q.fixed["train_size"] == 100 and q.fixed["hidden"] == 16
    assert q.report == ReportOptions(x="weight_decay")  # train_size no longer varies
    assert len(q.runs()) == 2 and len(spec.runs()) == 18
    # the quick runs are the same runs as the full file's where the settings agree
    full = {r["run_id"] for r in parse_spec({**_QUICK_BASE, "fixed": {
        **_QUICK_BASE["fixed"], "steps": 100}}).runs()}
    assert {r["run_id"] for r in q.runs()} <= full


@pytest.mark.parametrize("quick,key,words", [
    ({"steps": 10}, "[quick] steps", "unknown key; allowed: seeds, fixed, grid"),
    ({"fixed": [1]}, "[quick] fixed", "must be a table"),
    ({"fixed": {"hiden": 8}}, "[fixed] hiden", "unknown setting"),
    ({"grid": {"weight_decay": []}}, "[grid] weight_decay", ""),
    ({"seeds": 0}, "[sweep] seeds", "an integer >= 1"),
])
def test_bad_quick_table_is_an_error_of_the_file(quick, key, words):
    with pytest.raises(SpecError) as e:
        parse_spec({**_QUICK_BASE, "quick": quick}, source="s.toml")
    msg = str(e.value)
    assert msg.startswith("s.toml") and key in msg and words in msg


def test_quick_without_table_is_a_clear_error():
    spec = parse_spec(_QUICK_BASE, source="s.toml")
    assert not spec.has_quick
    with pytest.raises(SpecError, match=r"no \[quick\] table"):
        spec.quick()


def test_every_shipped_quick_variant_is_small():
    """--quick is meant for CI: each shipped variant is at most a few hundred thousand steps."""
    for path in sorted((ROOT / "sweeps").glob("*.toml")):
        spec = load_spec(path)
        if spec.has_quick:
            q = spec.quick()
            assert sum(r["steps"] for r in q.runs()) <= 100_000, path


def test_cli_sweep_quick_writes_name_quick(tmp_path):
    spec = tmp_path / "tiny.toml"
    spec.write_text(textwrap.dedent("""
        [fixed]
        task = "parity"
        n = 6
        k = 2
        hidden = 4
        steps = 200
        train_size = 32
        test_size = 32
        [grid]
        weight_decay = [0.1, 1.0]
        [quick]
        fixed = { steps = 100, weight_decay = 0.1 }
        """))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "grokjax", "sweep", str(spec), "--quick",
                          "--quiet", "--no-report", "--workers", "1"], capture_output=True,
                         text=True, cwd=tmp_path, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "tiny_quick: 1 runs" in out.stdout
    assert (tmp_path / "results" / "tiny_quick" / "manifest.json").is_file()
    assert not (tmp_path / "results" / "tiny").exists()
