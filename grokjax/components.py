"""The open component surface: tasks, models, optimizers and penalties as pure functions.

Built-ins and a user's own code use exactly this surface (``docs/extending.md``); the engine
never branches on a component's name.  Every function receives ``cfg``, the run's *static*
configuration (hashable; settings read as attributes, e.g. ``cfg.hidden``, plus ``cfg.train_pad``,
the padded train-set length of the run's compiled group), and must be pure and jittable: the
engine vmaps it over runs.  Per-run numbers (``hp``: seed, lr, weight decay, the task's own
``run`` settings...) are traced arrays, read as attributes (``hp.weight_decay``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from grokjax.settings import Setting

# fail(key, message): raise a SpecError naming the file and the key (for resolve hooks)
Fail = Callable[[str, str], None]


class Batch(NamedTuple):
    """A padded training set: ``inputs`` (a pytree, leading example axis) and ``targets``.

    Row i of a padded set must not depend on the padded length (generate rows per index), so a
    run padded into a bigger group sees exactly the data it would see alone; the engine uses the
    first ``train_size`` rows.
    """

    inputs: Any
    targets: Any


class EvalBatch(NamedTuple):
    """Examples evaluated at log steps; ``train_mask`` / ``test_mask`` (bool, per example) say
    which count toward the train and the test metrics."""

    inputs: Any
    targets: Any
    train_mask: Any
    test_mask: Any


@dataclasses.dataclass(frozen=True)
class Task:
    """A task: its settings, its data, its loss and what it logs.

    inputs: the kind of inputs its batches hold, a contract with the models that accept it
      ("bits": x_BxD floats with D = cfg.n + 1; "token_pairs": (a_B, b_B) ints in [0, cfg.p),
      p output logits expected; a plugin may name its own kind).
    make_data(cfg, data_seed) -> data (a pytree); train rows padded to ``cfg.train_pad``.
    train_batch(cfg, data, hp) -> Batch: the padded train set (the engine masks rows >=
      ``hp.train_size``); ``hp`` holds the run's traced numbers, e.g. a label-noise fraction.
    eval_batches(cfg, data, hp) -> tuple of EvalBatch for the train and test metrics.
    loss(cfg, outputs, targets) -> (loss_B, correct_B): per-example loss and correctness.
    resolve(cfg, fail): cross-checks of a run's full configuration (a dict) and derived values;
      must leave ``cfg["train_size"]`` (the number of training examples) set.
    progress_keys(cfg) / progress(cfg, params): scalar progress measures logged at every log
      step inside the compiled loop (same keys for every run of a task configuration).
    stability_keys(cfg) / stability(cfg, outputs, targets): per-example booleans of the train
      set logged as fractions at every log step (telemetry), e.g. a softmax task's
      ``softmax_collapse`` (grokjax.normalisers.softmax_collapsed).
    run_columns(cfg, params_R, n): host-side extra row columns from the final parameters of
      ``n`` runs (a leading run axis), e.g. a modular run's key frequencies.
    defaults: defaults for settings the task does not own (steps, lr, weight_decay...).
    """

    name: str
    doc: str
    settings: tuple[Setting, ...]
    make_data: Callable[[Any, Any], Any]
    train_batch: Callable[[Any, Any, Any], Batch]
    eval_batches: Callable[[Any, Any, Any], tuple[EvalBatch, ...]]
    loss: Callable[[Any, Any, Any], tuple[Any, Any]]
    resolve: Callable[[dict, Fail], None]
    default_model: str
    inputs: str = ""
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    progress_keys: Callable[[Any], tuple[str, ...]] = lambda cfg: ()
    progress: Callable[[Any, Any], dict[str, Any]] | None = None
    run_columns: Callable[[Any, Any, int], dict[str, list]] | None = None
    stability_keys: Callable[[Any], tuple[str, ...]] = lambda cfg: ()
    stability: Callable[[Any, Any, Any], dict[str, Any]] | None = None


@dataclasses.dataclass(frozen=True)
class Model:
    """A model: its settings, pure ``init(key, cfg, init_scale, dtype)`` and
    ``apply(params, cfg, inputs)``.

    inputs: the input kinds it accepts (``Task.inputs``; None: any).
    resolve(cfg, fail): cross-checks and derived values, as for tasks.
    views: optional analysis hooks by name -- ``"collapsed"``: (params, cfg) -> (W_input_a p x H,
      W_input_b p x H, W_output H x p), the model as two matrices, used by the Fourier analysis,
      progress measures and the explorer; ``"token_tables"``: the same shapes for a model whose
      token tables do not compose into its logits (a transformer's W_E, W_U): the Fourier
      analysis and panels without the logit waves; ``"attention"`` / ``"neurons"``: (params,
      cfg, a_B, b_B) -> B x heads x positions / B x M, the explorer's attention and neuron
      panels; ``"input_weights"``: (params, cfg) -> D x H first-layer weights per input feature.
    activation_width(cfg): hidden width of one example's activations (the memory estimate).
    defaults: defaults for settings the model does not own (they win over the task's).
    """

    name: str
    doc: str
    settings: tuple[Setting, ...]
    init: Callable[..., Any]
    apply: Callable[[Any, Any, Any], Any]
    inputs: tuple[str, ...] | None = None
    resolve: Callable[[dict, Fail], None] | None = None
    views: Mapping[str, Callable[..., Any]] = dataclasses.field(default_factory=dict)
    activation_width: Callable[[Any], int] | None = None
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Penalty:
    """A weight penalty: ``make(cfg, hp)`` -> an optax GradientTransformation that adds the
    penalty's gradient to the updates (numbers traced per run, e.g. ``hp.weight_decay``)."""

    name: str
    doc: str
    settings: tuple[Setting, ...]
    make: Callable[[Any, Any], Any]


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """An optimizer: ``make(cfg, hp, penalty)`` -> an optax GradientTransformation whose
    numbers are traced per run; it places ``penalty`` (a Penalty's transformation) in its chain
    (before the moments: the penalty is in the gradient; after: decoupled)."""

    name: str
    doc: str
    settings: tuple[Setting, ...]
    make: Callable[[Any, Any, Any], Any]


@dataclasses.dataclass(frozen=True)
class GradFilter:
    """A gradient filter: ``make(cfg, hp)`` -> an optax GradientTransformation applied to the
    loss gradient before the optimizer and its penalty (Grokfast, orthogonal gradients); its
    state lives in the optimizer state, its numbers are traced per run.  Selected by the core
    setting ``grad_filter``."""

    name: str
    doc: str
    settings: tuple[Setting, ...]
    make: Callable[[Any, Any], Any]


@dataclasses.dataclass(frozen=True)
class Normaliser:
    """How a classification task turns logits into log-probabilities:
    ``log_probs(logits_BxC)`` -> log p_BxC (softmax, StableMax).  Tasks with a softmax
    cross-entropy select one with their ``normaliser`` setting."""

    name: str
    doc: str
    log_probs: Callable[[Any], Any]


Component = Task | Model | Penalty | Optimizer | GradFilter | Normaliser
