"""Every shipped sweep (and its [quick] variant) keeps its run ids and spec hash.

tests/golden/run_ids.json was written from the tree before the component redesign: results
folders written before it resume and report as the same runs.  A change that moves an id must
be a change in what the run computes (then regenerate the file on purpose and say so).

It was regenerated once on purpose: when ``modular_mlp`` took the notebook's dm-haiku init and
float32 embedding (settings ``init``, ``embed_dtype``), every modular run id moved.
tests/golden/run_ids_before_haiku_init.json keeps the ids from before, so that a results folder
trained with the old init can never be resumed into or mixed with new rows.  One entry moved on
purpose since: ``modadd_main_quick`` (its [quick] table went from 10k to 20k steps).
"""

import json
from pathlib import Path

import pytest

from grokjax.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = json.loads((ROOT / "tests" / "golden" / "run_ids.json").read_text())
BEFORE_HAIKU_INIT = json.loads(
    (ROOT / "tests" / "golden" / "run_ids_before_haiku_init.json").read_text())


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


@pytest.mark.parametrize("name", sorted(BEFORE_HAIKU_INIT))
def test_modular_runs_of_the_old_init_share_no_id_with_new_ones(name):
    """Rows trained before the haiku init are other runs: no id and no spec hash in common, so
    `sweep` refuses their folder ("holds results of a different sweep spec") instead of
    topping it up with differently initialised runs."""
    spec = next(s for s in _specs() if s.name == name)
    assert spec.task == "modular"
    assert not {r["run_id"] for r in spec.runs()} & set(BEFORE_HAIKU_INIT[name]["run_ids"])
    assert spec.spec_hash() != BEFORE_HAIKU_INIT[name]["spec_hash"]


def test_the_old_init_is_still_available_and_keeps_its_meaning():
    """``init = "rescaled"``, ``embed_dtype = "run"`` is the rule of before (a different id)."""
    from grokjax.resolve import resolve, run_id

    new = resolve("modular", {})
    old = resolve("modular", {"init": "rescaled", "embed_dtype": "run"})
    assert (new["init"], new["embed_dtype"]) == ("haiku", "float32")
    assert run_id(new) != run_id(old)
