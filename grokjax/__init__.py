"""grokjax: thousands of grokking experiments in one compiled JAX program.

    spec = grokjax.load_spec("sweeps/parity_quick.toml")
    grokjax.run_sweep(spec)                       # -> results/parity_quick/
    df = grokjax.load_results("results/parity_quick")
"""

__version__ = "0.1.0"

from grokjax.checkpoints import load_params, saved_steps
from grokjax.config import SETTINGS, SpecError, SweepSpec, load_spec, parse_spec, resolve
from grokjax.engine import EngineOptions, SweepReport, group_runs, run_sweep, train_chunk
from grokjax.models import constructed_params, modular_logits, parity_logit
from grokjax.report.plots import curves_chart, save_chart
from grokjax.static import Static
from grokjax.store import ResultsError, load_results, read_manifest
from grokjax.train import HParams, TrainState, make_optimizer, train

__all__ = [
    "SETTINGS",
    "EngineOptions",
    "HParams",
    "ResultsError",
    "SpecError",
    "Static",
    "SweepReport",
    "SweepSpec",
    "TrainState",
    "__version__",
    "constructed_params",
    "curves_chart",
    "group_runs",
    "load_params",
    "load_results",
    "load_spec",
    "make_optimizer",
    "modular_logits",
    "parity_logit",
    "parse_spec",
    "read_manifest",
    "resolve",
    "run_sweep",
    "save_chart",
    "saved_steps",
    "train",
    "train_chunk",
]
