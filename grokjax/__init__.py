"""grokjax: thousands of grokking experiments in one compiled JAX program.

    spec = grokjax.load_spec("sweeps/parity_quick.toml")
    grokjax.run_sweep(spec)                       # -> results/parity_quick/
    grokjax.run_adaptive(grokjax.load_spec("sweeps/parity_adaptive.toml"))  # [adaptive] files
    df = grokjax.load_results("results/parity_quick")
    grokjax.cell_stats(df, ["weight_decay"])      # shares and median steps, with 95% intervals
    grokjax.compare_arms(df, "grad_filter", "none", "grokfast_ema")  # paired on the seeds
    grokjax.predict_runs("results/parity_quick", at=0.1).table()  # early prediction of grokking

Your own task, model, optimizer, penalty, gradient filter or normaliser: build a ``Task`` /
``Model`` / ``Optimizer`` / ``Penalty`` / ``GradFilter`` / ``Normaliser`` from pure functions
and ``register`` it (docs/extending.md).
"""

__version__ = "0.1.0"

from grokjax.adaptive_sweep import AdaptiveReport, run_adaptive
from grokjax.checkpoints import load_params, saved_steps
from grokjax.components import (
    Batch,
    EvalBatch,
    GradFilter,
    Model,
    Normaliser,
    Optimizer,
    Penalty,
    Task,
)
from grokjax.engine import SweepReport, run_sweep
from grokjax.errors import PlanError, SpecError
from grokjax.models import constructed_params, modular_logits, parity_logit
from grokjax.optim import make_optimizer
from grokjax.options import CheckpointOptions, EngineOptions, ReportOptions
from grokjax.plan import group_runs
from grokjax.predict import Prediction, predict_runs
from grokjax.registry import RegistryError, load_plugin, register
from grokjax.report.plots import curves_chart, save_chart
from grokjax.runner import train_chunk
from grokjax.settings import RUN, STATIC, Setting
from grokjax.shards import Shard, parse_shard
from grokjax.spec import SweepSpec, describe_settings, load_spec, parse_spec, resolve, run_id
from grokjax.static import HParams, Static
from grokjax.stats import StatsError, cell_stats, compare_arms
from grokjax.store import ResultsError, load_results, read_manifest
from grokjax.train import TrainState, train

__all__ = [
    "RUN",
    "STATIC",
    "AdaptiveReport",
    "Batch",
    "CheckpointOptions",
    "EngineOptions",
    "EvalBatch",
    "GradFilter",
    "HParams",
    "Model",
    "Normaliser",
    "Optimizer",
    "Penalty",
    "PlanError",
    "Prediction",
    "RegistryError",
    "ReportOptions",
    "ResultsError",
    "Setting",
    "Shard",
    "SpecError",
    "Static",
    "StatsError",
    "SweepReport",
    "SweepSpec",
    "Task",
    "TrainState",
    "__version__",
    "cell_stats",
    "compare_arms",
    "constructed_params",
    "curves_chart",
    "describe_settings",
    "group_runs",
    "load_params",
    "load_plugin",
    "load_results",
    "load_spec",
    "make_optimizer",
    "modular_logits",
    "parity_logit",
    "parse_shard",
    "parse_spec",
    "predict_runs",
    "read_manifest",
    "register",
    "resolve",
    "run_adaptive",
    "run_id",
    "run_sweep",
    "save_chart",
    "saved_steps",
    "train",
    "train_chunk",
]
