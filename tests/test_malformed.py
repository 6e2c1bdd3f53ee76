"""Malformed input, as a table: every bad sweep file or flag is one ``error:`` line, exit 2.

Each case is a folder with its files; the command runs there.  The cases run in ONE child
process (``grokjax.cli.main`` per case, stderr captured), plus a few true ``python -m grokjax``
subprocesses to prove the real command line path.  For each case: exit status 2, stderr is
exactly one line ``error: SOURCE: KEY: ...`` naming the file (or "command line") and the key,
no traceback, and nothing written (the folder's files are unchanged, no results/).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grokjax import spec as spec_mod
from grokjax.spec import parse_spec

ROOT = Path(__file__).resolve().parent.parent
OK = '[fixed]\ntask = "parity"\nn = 6\nk = 2\nhidden = 8\nsteps = 100\ntrain_size = 32\n'
MOD = '[fixed]\ntask = "modular"\np = 7\nembed = 4\nhidden = 4\nsteps = 100\n'


def _linspace(n: int) -> str:
    return f"{{linspace = [0.1, 1.0], num = {n}}}"


# (id, files {name: text or bytes}, argv after the command, source, key, words in the message)
# argv[0] is the command; "s.toml" is the default file.  key "" : a whole-file error.
CASES = [
    # -- the file itself
    ("not utf-8", {"s.toml": b'[fixed]\ntask = "par\xffity"\n'}, ["validate", "s.toml"],
     "s.toml", "", ["not UTF-8"]),
    ("not toml", {"s.toml": "[fixed\nx = "}, ["validate", "s.toml"], "s.toml", "",
     ["not valid TOML"]),
    ("no such file", {}, ["validate", "nope.toml"], "nope.toml", "", ["no such sweep file"]),
    ("a directory", {"d.toml/x": "."}, ["validate", "d.toml"], "d.toml", "",
     ["is a directory, not a sweep file"]),
    ("empty file", {"s.toml": ""}, ["validate", "s.toml"], "s.toml", "[fixed]",
     ["no settings", "task ="]),
    ("only [sweep] seeds", {"s.toml": "[sweep]\nseeds = 3\n"}, ["validate", "s.toml"],
     "s.toml", "[fixed]", ["no settings"]),
    ("unknown table", {"s.toml": OK + "[model]\nx = 1\n"}, ["validate", "s.toml"], "s.toml",
     "[model]", ["unknown table", "[grid]"]),
    ("table not a table", {"s.toml": "fixed = 3\n"}, ["validate", "s.toml"], "s.toml", "fixed",
     ["must be a table"]),
    # -- [sweep]
    ("name with ..", {"s.toml": '[sweep]\nname = "../escaped"\n' + OK},
     ["sweep", "s.toml", "--quiet"], "s.toml", "[sweep] name", ["letters, digits", "--out"]),
    ("name absolute", {"s.toml": '[sweep]\nname = "ABSOLUTE"\n' + OK},
     ["sweep", "s.toml", "--quiet"], "s.toml", "[sweep] name", ["letters, digits"]),
    ("name with space", {"s.toml": '[sweep]\nname = "my sweep"\n' + OK},
     ["validate", "s.toml"], "s.toml", "[sweep] name", ["letters, digits"]),
    ("name starts with .", {"s.toml": '[sweep]\nname = ".hidden"\n' + OK},
     ["validate", "s.toml"], "s.toml", "[sweep] name", ["not first"]),
    ("name too long", {"s.toml": f'[sweep]\nname = "{"a" * 101}"\n' + OK},
     ["validate", "s.toml"], "s.toml", "[sweep] name", ["at most 100"]),
    ("name not a string", {"s.toml": "[sweep]\nname = 3\n" + OK}, ["validate", "s.toml"],
     "s.toml", "[sweep] name", ["a string"]),
    ("stem not a plain name", {"my sweep!.toml": OK}, ["sweep", "my sweep!.toml", "--quiet"],
     "my sweep!.toml", "[sweep] name", ["stem", "give [sweep] name"]),
    ("unknown [sweep] key", {"s.toml": "[sweep]\nseed = 3\n" + OK}, ["validate", "s.toml"],
     "s.toml", "[sweep] seed", ["unknown key", "seeds"]),
    ("seeds = 0", {"s.toml": "[sweep]\nseeds = 0\n" + OK}, ["validate", "s.toml"], "s.toml",
     "[sweep] seeds", [">= 1"]),
    ("seeds and seed", {"s.toml": "[sweep]\nseeds = 2\n" + OK + "[grid]\nseed = [1, 2]\n"},
     ["validate", "s.toml"], "s.toml", "[sweep] seeds", ["not both"]),
    ("bad data_seeds", {"s.toml": '[sweep]\ndata_seeds = "each"\n' + OK},
     ["validate", "s.toml"], "s.toml", "[sweep] data_seeds", ["per_seed"]),
    ("per_seed without seeds", {"s.toml": '[sweep]\ndata_seeds = "per_seed"\n' + OK},
     ["validate", "s.toml"], "s.toml", "[sweep] data_seeds", ["seed axis"]),
    ("plugins not a list", {"s.toml": '[sweep]\nplugins = "x.py"\n' + OK},
     ["validate", "s.toml"], "s.toml", "[sweep] plugins", ["list of Python file"]),
    ("plugin missing", {"s.toml": '[sweep]\nplugins = ["gone.py"]\n' + OK},
     ["validate", "s.toml"], "s.toml", "[sweep] plugins[0]", ["no such Python file"]),
    ("plugin fails", {"s.toml": '[sweep]\nplugins = ["bad.py"]\n' + OK,
                      "bad.py": "x = 1\nraise RuntimeError('boom')\n"},
     ["validate", "s.toml"], "s.toml", "[sweep] plugins[0]", ["failed to import", "line 2"]),
    # -- settings
    ("unknown setting", {"s.toml": OK + "width = 3\n"}, ["validate", "s.toml"], "s.toml",
     "[fixed] width", ["unknown setting", "hidden"]),
    ("wrong type", {"s.toml": OK.replace("hidden = 8", 'hidden = "big"')},
     ["validate", "s.toml"], "s.toml", "[fixed] hidden", ["integer"]),
    ("float for int", {"s.toml": OK.replace("hidden = 8", "hidden = 3.5")},
     ["validate", "s.toml"], "s.toml", "[fixed] hidden", ["integer"]),
    ("bool for number", {"s.toml": OK + "lr = true\n"}, ["validate", "s.toml"], "s.toml",
     "[fixed] lr", ["number"]),
    ("lr = inf", {"s.toml": OK + "lr = inf\n"}, ["validate", "s.toml"], "s.toml",
     "[fixed] lr", ["not finite"]),
    ("bad choice", {"s.toml": OK + 'activation = "swish"\n'}, ["validate", "s.toml"],
     "s.toml", "[fixed] activation", ["'relu'"]),
    ("k > n", {"s.toml": OK.replace("k = 2", "k = 9")}, ["validate", "s.toml"], "s.toml",
     "[fixed] k", ["k <= n"]),
    ("unknown task", {"s.toml": OK.replace('"parity"', '"sorting"')}, ["validate", "s.toml"],
     "s.toml", "[fixed] task", ["'parity'"]),
    ("task in grid", {"s.toml": '[grid]\ntask = ["parity", "modular"]\n'},
     ["validate", "s.toml"], "s.toml", "[grid] task", ["fixed"]),
    ("setting of another task", {"s.toml": OK + "p = 7\n"}, ["validate", "s.toml"],
     "s.toml", "[fixed] p", ["does not apply"]),
    ("log_every", {"s.toml": OK + "log_every = 30\n"}, ["validate", "s.toml"], "s.toml",
     "[fixed] log_every", ["multiple"]),
    ("modular p = 1", {"s.toml": MOD.replace("p = 7", "p = 1")}, ["validate", "s.toml"],
     "s.toml", "[fixed] p", [">= 2"]),
    ("train_frac", {"s.toml": MOD + "train_frac = 1.5\n"}, ["validate", "s.toml"], "s.toml",
     "[fixed] train_frac", ["between 0 and 1"]),
    # -- numeric limits from the device dtypes
    ("seed >= 2^32", {"s.toml": OK + "seed = 4294967296\n"}, ["validate", "s.toml"],
     "s.toml", "[fixed] seed", ["uint32", "4,294,967,295"]),
    ("grid seed >= 2^32", {"s.toml": OK + "[grid]\nseed = [0, 4294967296]\n"},
     ["validate", "s.toml"], "s.toml", "[grid] seed[1]", ["uint32"]),
    ("data_seed >= 2^32", {"s.toml": OK + "data_seed = 4294967296\n"},
     ["validate", "s.toml"], "s.toml", "[fixed] data_seed", ["uint32"]),
    ("steps >= 2^31", {"s.toml": OK.replace("steps = 100", "steps = 2147483648")},
     ["validate", "s.toml"], "s.toml", "[fixed] steps", ["int32", "2,147,483,647"]),
    ("train_size >= 2^31", {"s.toml": OK.replace("train_size = 32", "train_size = 2147483648")},
     ["validate", "s.toml"], "s.toml", "[fixed] train_size", ["int32"]),
    ("derived train_size >= 2^31",
     {"s.toml": MOD.replace("p = 7", "p = 70000") + "train_frac = 0.5\n"},
     ["validate", "s.toml"], "s.toml", "train_size (derived", ["int32"]),
    # -- [grid]
    ("empty axis", {"s.toml": OK + "[grid]\nweight_decay = []\n"}, ["validate", "s.toml"],
     "s.toml", "[grid] weight_decay", ["empty"]),
    ("negative in axis", {"s.toml": OK + "[grid]\nweight_decay = [0.1, -0.1]\n"},
     ["validate", "s.toml"], "s.toml", "[grid] weight_decay[1]", [">= 0"]),
    ("repeated value", {"s.toml": OK.replace("hidden = 8\n", "") + "[grid]\nhidden = [8, 8]\n"},
     ["validate", "s.toml"], "s.toml", "[grid] hidden", ["repeats"]),
    ("bad logspace", {"s.toml": OK + "[grid]\nlr = {logspace = [0, 1], num = 3}\n"},
     ["validate", "s.toml"], "s.toml", "[grid] lr", ["> 0"]),
    ("range num 0", {"s.toml": OK + "[grid]\nlr = {linspace = [0.1, 1], num = 0}\n"},
     ["validate", "s.toml"], "s.toml", "[grid] lr", ["num must be"]),
    ("axis in fixed and grid", {"s.toml": OK + "[grid]\nhidden = [4, 8]\n"},
     ["validate", "s.toml"], "s.toml", "[grid] hidden", ["also in [fixed]"]),
    ("over a million runs", {"s.toml": OK + f"[grid]\nlr = {_linspace(101)}\n"
                             f"weight_decay = {_linspace(101)}\n"
                             f"init_scale = {_linspace(101)}\n"},
     ["validate", "s.toml"], "s.toml", "[grid]", ["1,030,301 runs", "1,000,000",
                                                  "--allow-huge"]),
    # -- the later stages' tables
    ("bad phase rule", {"s.toml": OK + '[phases]\nrule = "vibes"\n'}, ["validate", "s.toml"],
     "s.toml", "[phases] rule", ["loss"]),
    ("report x not an axis", {"s.toml": OK + '[report]\nx = "lr"\n'}, ["validate", "s.toml"],
     "s.toml", "[report] x", ["not an axis"]),
    ("report curves_per_phase", {"s.toml": OK + "[report]\ncurves_per_phase = 0\n"},
     ["validate", "s.toml"], "s.toml", "[report] curves_per_phase", ["1 to 20"]),
    ("unknown engine key", {"s.toml": OK + "[engine]\nthreads = 4\n"}, ["validate", "s.toml"],
     "s.toml", "[engine] threads", ["chunk_size"]),
    ("engine chunk_size < 1", {"s.toml": OK + "[engine]\nchunk_size = -1\n"},
     ["validate", "s.toml"], "s.toml", "[engine] chunk_size", ["> 0"]),
    ("memory_budget = inf", {"s.toml": OK + "[engine]\nmemory_budget = inf\n"},
     ["validate", "s.toml"], "s.toml", "[engine] memory_budget", ["finite"]),
    ("memory_budget = nan", {"s.toml": OK + "[engine]\nmemory_budget = nan\n"},
     ["validate", "s.toml"], "s.toml", "[engine] memory_budget", ["finite"]),
    ("memory_budget = 0", {"s.toml": OK + "[engine]\nmemory_budget = 0\n"},
     ["validate", "s.toml"], "s.toml", "[engine] memory_budget", [">= 1"]),
    ("memory_budget text", {"s.toml": OK + '[engine]\nmemory_budget = "lots"\n'},
     ["validate", "s.toml"], "s.toml", "[engine] memory_budget", ["not a size"]),
    ("flush_seconds = nan", {"s.toml": OK + "[engine]\nflush_seconds = nan\n"},
     ["validate", "s.toml"], "s.toml", "[engine] flush_seconds", ["finite"]),
    ("flush_seconds = inf", {"s.toml": OK + "[engine]\nflush_seconds = inf\n"},
     ["validate", "s.toml"], "s.toml", "[engine] flush_seconds", ["finite"]),
    ("checkpoint snapshots < 0", {"s.toml": OK + "[checkpoints]\nsnapshots = -1\n"},
     ["validate", "s.toml"], "s.toml", "[checkpoints] snapshots", [">= 0"]),
    ("checkpoint where axis", {"s.toml": OK + "[checkpoints]\nwhere = {width = [1]}\n"},
     ["validate", "s.toml"], "s.toml", "[checkpoints] where.width", ["not a setting"]),
    ("unknown checkpoint key", {"s.toml": OK + "[checkpoints]\nevery = 3\n"},
     ["validate", "s.toml"], "s.toml", "[checkpoints] every", ["snapshots"]),
    # -- [quick]
    ("unknown [quick] key", {"s.toml": OK + "[quick]\nsteps = 3\n"}, ["validate", "s.toml"],
     "s.toml", "[quick] steps", ["seeds, fixed, grid"]),
    ("[quick] fixed not a table", {"s.toml": OK + "[quick]\nfixed = 3\n"},
     ["validate", "s.toml"], "s.toml", "[quick] fixed", ["must be a table"]),
    ("[quick] bad value", {"s.toml": OK + "[quick]\nfixed = {hidden = 0}\n"},
     ["validate", "s.toml"], "s.toml [quick]", "[fixed] hidden", ["> 0"]),
    ("--quick without [quick]", {"s.toml": OK}, ["validate", "s.toml", "--quick"], "s.toml",
     "[quick]", ["no [quick] table"]),
    # -- flags only sweep has
    ("--memory-budget 1e999", {"s.toml": OK}, ["sweep", "s.toml", "--memory-budget", "1e999"],
     "command line", "--memory-budget", ["finite"]),
    ("--memory-budget 0", {"s.toml": OK}, ["sweep", "s.toml", "--memory-budget", "0"],
     "command line", "--memory-budget", [">= 1"]),
    ("--memory-budget lots", {"s.toml": OK}, ["sweep", "s.toml", "--memory-budget", "lots"],
     "command line", "--memory-budget", ["not a size"]),
    ("--chunk-size 0", {"s.toml": OK}, ["sweep", "s.toml", "--chunk-size", "0"],
     "command line", "--chunk-size", [">= 1"]),
    ("--workers 0", {"s.toml": OK}, ["sweep", "s.toml", "--workers", "0"], "command line",
     "--workers", [">= 1"]),
]
IDS = [c[0] for c in CASES]
assert len(IDS) == len(set(IDS)) >= 40

# One child process runs every case: chdir to its folder, main(argv), stderr captured.
_RUNNER = textwrap.dedent("""
    import contextlib, io, json, os, sys
    from grokjax.cli import main
    out = {}
    for case in json.load(sys.stdin):
        os.chdir(case["dir"])
        err, std = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
            try:
                rc = main(case["argv"])
            except SystemExit as e:
                rc = e.code
            except BaseException as e:  # a traceback is what the table must never see
                import traceback
                rc, _ = "raised", traceback.print_exc(file=err)
        out[case["id"]] = {"rc": rc, "stderr": err.getvalue(), "stdout": std.getvalue()}
    print(json.dumps(out))
""")


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _write_case(folder: Path, files: dict[str, str | bytes]) -> None:
    folder.mkdir(parents=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text.replace("ABSOLUTE", str(folder.parent / "escaped_abs")))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    base = tmp_path_factory.mktemp("malformed")
    cases, before = [], {}
    for i, (cid, files, argv, *_rest) in enumerate(CASES):
        folder = base / f"c{i:02d}" / "work"
        _write_case(folder, files)
        before[cid] = _listing(folder)
        cases.append({"id": cid, "dir": str(folder), "argv": argv})
    proc = subprocess.run([sys.executable, "-c", _RUNNER], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=120, cwd=base,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    return base, before, results


def _check(rc, stderr: str, source: str, key: str, words: list[str]) -> None:
    assert rc == 2, (rc, stderr)
    assert "Traceback" not in stderr, stderr
    assert stderr.startswith("error: ") and stderr.count("\n") == 1 and stderr.endswith("\n"), \
        repr(stderr)
    line = stderr.rstrip("\n")
    assert line.startswith(f"error: {source}: "), line
    if key:
        assert f": {key}" in line, line
    for w in words:
        assert w in line, line


@pytest.mark.parametrize("cid,files,argv,source,key,words", CASES, ids=IDS)
def test_malformed_input_is_one_error_line(outcomes, cid, files, argv, source, key, words):
    base, before, results = outcomes
    r = results[cid]
    _check(r["rc"], r["stderr"], source, key, words)
    folder = base / f"c{IDS.index(cid):02d}" / "work"
    assert _listing(folder) == before[cid], "the command wrote files"
    assert not (folder.parent / "escaped").exists() and not (folder.parent / "escaped_abs").exists()


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grokjax", *args], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=120)


@pytest.mark.parametrize("cid", ["not utf-8", "a directory", "name with ..",
                                 "--memory-budget 1e999"])
def test_true_command_line(tmp_path, cid):
    _, files, argv, source, key, words = next(c for c in CASES if c[0] == cid)[:6]
    folder = tmp_path / "work"
    _write_case(folder, files)
    before = _listing(folder)
    out = _cli(*argv, cwd=folder)
    _check(out.returncode, out.stderr, source, key, words)
    assert _listing(folder) == before and not (tmp_path / "escaped").exists()


def test_non_prime_modulus_is_allowed():
    """Decision: (a op b) mod p is defined for any p >= 2, so a composite or even p is a valid
    sweep (the Fourier progress measures are NaN for an even p; see the setting's doc)."""
    for p in (8, 9, 15):
        spec = parse_spec({"fixed": {"task": "modular", "p": p, "embed": 4, "hidden": 4,
                                     "steps": 100}}, source="m.toml")
        assert [r["p"] for r in spec.runs()] == [p]


def test_allow_huge_lets_a_large_grid_through(tmp_path, monkeypatch):
    from grokjax.cli import main

    monkeypatch.setattr(spec_mod, "MAX_RUNS", 3)
    (tmp_path / "s.toml").write_text(OK + "[grid]\nweight_decay = [0.1, 0.3, 1.0, 3.0]\n")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "s.toml"]) == 2
    assert main(["validate", "s.toml", "--allow-huge"]) == 0
    with pytest.raises(spec_mod.SpecError, match="4 runs"):
        spec_mod.load_spec("s.toml")
    assert len(spec_mod.load_spec("s.toml", allow_huge=True).runs()) == 4


def test_validate_expands_each_grid_once(tmp_path, monkeypatch, capsys):
    from grokjax.cli import main

    calls = []
    real = spec_mod.expand
    monkeypatch.setattr(spec_mod, "expand", lambda *a: calls.append(a[0]) or real(*a))
    (tmp_path / "s.toml").write_text(OK + "[grid]\nweight_decay = [0.1, 1.0]\n"
                                     "[quick]\ngrid = {weight_decay = [1.0]}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "s.toml"]) == 0
    assert len(calls) == 2  # the file's grid and its [quick] grid, each once
    calls.clear()
    assert main(["validate", "s.toml", "--quick"]) == 0
    assert len(calls) == 2 and "1 runs" in capsys.readouterr().out
