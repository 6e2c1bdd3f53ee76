"""Every shipped sweep (and its [quick] variant) keeps its run ids and spec hash.

tests/golden/run_ids.json was written from the tree before the component redesign: results
folders written before it resume and report as the same runs.  A change that moves an id must
be a change in what the run computes (then regenerate the file on purpose and say so).
"""

import json
from pathlib import Path

import pytest

from grokjax.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = json.loads((ROOT / "tests" / "golden" / "run_ids.json").read_text())


def _specs():
    for path in sorted((ROOT / "sweeps").glob("*.toml")):
        spec = load_spec(path)
        yield spec
        if spec.has_quick:
            yield spec.quick()


def test_every_shipped_sweep_is_in_the_golden_file():
    assert {s.name for s in _specs()} == set(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_run_ids_and_spec_hash_unchanged(name):
    spec = next(s for s in _specs() if s.name == name)
    assert [r["run_id"] for r in spec.runs()] == GOLDEN[name]["run_ids"]
    assert spec.spec_hash() == GOLDEN[name]["spec_hash"]
