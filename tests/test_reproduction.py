"""Small-scale checks of reproduced claims (docs/reproduction.md); each runs in seconds."""

from pathlib import Path

import numpy as np

from grokjax.config import load_spec, parse_spec
from grokjax.engine import EngineOptions, run_sweep
from grokjax.store import load_results

ROOT = Path(__file__).resolve().parent.parent


def test_fixed_embedding_model_generalizes_without_grokking(tmp_path):
    """science.md 2: the 5-neuron model on a fixed circular embedding reaches 100% test
    accuracy, with test accuracy rising together with train accuracy (no grokking delay).
    Quick variant: the x^2 runs of sweeps/modadd_fixed_embed.toml, 2,000 steps, 2 seeds."""
    spec = load_spec(ROOT / "sweeps" / "modadd_fixed_embed.toml")
    raw = {**spec.raw, "sweep": {**spec.raw["sweep"], "seeds": 2},
           "fixed": {**spec.raw["fixed"], "steps": 2000, "activation": "square"},
           "grid": {}}
    quick = parse_spec(raw, source="modadd_fixed_embed (quick)")
    run_sweep(quick, tmp_path / "fe", options=EngineOptions(workers=1), quiet=True,
              report=False)
    df = load_results(tmp_path / "fe")
    assert len(df) == 2
    assert (df["final_test_acc"] == 1.0).all()
    assert (df["phase"] == "generalize").all()  # accuracy rule: train and test rise together
    assert (df["grok_delay"].astype(float).abs() <= 100).all()
    assert np.all(df["n_key_freqs_norm"].apply(lambda c: c[-1]) >= 1)
