"""``plot --where``: a small evaluator that runs no code (``DataFrame.query`` ran a shell
command for ``@store.os.system(...)``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from grokjax.store import ResultsError
from grokjax.where import select_rows

ROOT = Path(__file__).resolve().parent.parent


def _df() -> pd.DataFrame:
    return pd.DataFrame({
        "run_id": ["a", "b", "c", "d"], "weight_decay": [0.1, 0.1, 1.0, 0.1],
        "reg": ["l1", "l2", "l1", "none"], "lr": [1e-3, 1e-2, 1e-1, 1.0], "seed": [0, 1, 2, 3],
        "diverged": [False, False, True, False],
        "step": [[0, 100]] * 4, "test_acc": [[0.5, 1.0]] * 4,
    })


@pytest.mark.parametrize("text,ids", [
    ('weight_decay == 0.1 and reg in ["l1", "l2"]', "ab"),
    ("weight_decay != 0.1", "c"),
    ("0.005 < lr <= 0.1", "bc"),
    ("lr >= 0.1 or seed == 0", "acd"),
    ('not (reg == "l1")', "bd"),
    ('reg not in ("l1",) and not seed > 2', "b"),
    ("diverged == True", "c"),
    ("seed < -1", ""),
    ("lr > 1e-2 and (seed == 2 or seed == 3)", "cd"),
])
def test_selects_rows(text, ids):
    assert "".join(select_rows(_df(), text)["run_id"]) == ids


@pytest.mark.parametrize("text,piece", [
    ('@store.os.system("touch PWNED")', "not a valid expression"),
    ('__import__("os").system("touch PWNED")', "'__import__(\"os\").system(\"touch PWNED\")'"),
    ("reg.str.startswith('l')", "a call"),
    ("lr.real > 0", "an attribute"),
    ("step[0] == 0", "a subscript"),
    ("lr * 2 > 1", "arithmetic"),
    ("lr == wd", "'wd' is not a column"),
    ("lr", "not a comparison"),
    ("lr is None", "Is"),
    ('reg in "l1"', "list or tuple"),
    ("lr == [1, 2]", "in [...]"),
    ("1 < 2", "one column name with one literal"),
    ("lambda: 1", "a lambda"),
    ("", "not a valid expression"),
])
def test_rejects_everything_else(text, piece):
    with pytest.raises(ResultsError) as e:
        select_rows(_df(), text)
    msg = str(e.value)
    assert msg.startswith("command line: --where: ") and piece in msg and "allowed:" in msg, msg


def test_injection_through_the_command_line_runs_nothing(tmp_path):
    runs = tmp_path / "res" / "runs"
    runs.mkdir(parents=True)
    _df().to_parquet(runs / "part-p0-x.parquet")
    for text in ('@store.os.system("touch PWNED")', '__import__("os").system("touch PWNED")'):
        out = subprocess.run([sys.executable, "-m", "grokjax", "plot", str(tmp_path / "res"),
                              "--where", text, "--out", str(tmp_path / "p.json")],
                             capture_output=True, text=True, cwd=tmp_path, timeout=120,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert out.returncode == 2 and out.stderr.startswith("error: command line: --where: ")
        assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1, out.stderr
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "p.json").exists()
