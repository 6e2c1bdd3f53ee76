"""Early prediction of grokking: can the first fraction of a run's curves tell whether (and
when) it will grok?  Scored honestly across whole sweeps (docs/prediction.md).

    pred = grokjax.predict_runs("results/predict_modadd", at=0.1)   # a Prediction
    pred.table()                                 # AUROC [CI], Brier, ECE, lead, per predictor
    pred.probabilities("logistic")               # run_id -> out-of-fold probability

Modules: ``features`` (a run's curve prefix -> features), ``spectral`` (training-loss
oscillation), ``targets`` (what is predicted, which runs are scored), ``cv`` (grouped folds),
``models`` (logistic regression, boosted stumps, the cell-rate baseline), ``metrics`` (AUROC
over the pairs one model ranked, cluster bootstrap, calibration), ``evaluate`` (all of it),
``table`` / ``figure`` (output), ``writeback`` (``--write``), ``command`` (the CLI).
"""

from grokjax.predict.command import predict_runs
from grokjax.predict.evaluate import Prediction, Score, evaluate
from grokjax.predict.writeback import write_predictions

__all__ = ["Prediction", "Score", "evaluate", "predict_runs", "write_predictions"]
