"""``predict --write``: the out-of-fold probabilities as a column beside the rows.

The column goes to the folder's side file (grokjax.sidecar: ``predictions.parquet``, joined by
``load_results``), written atomically under the folder's lock, so a sweep writing the folder
gets (or gives) a clear error instead of a race, and the part files are never rewritten.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from grokjax import locks, sidecar, store
from grokjax.predict.evaluate import Prediction
from grokjax.predict.targets import COLUMNS


def write_predictions(results: str | Path, pred: Prediction, model: str = "logistic") -> Path:
    """Write ``model``'s mean out-of-fold probability of every scored run (null for the others)
    as ``predicted_grok_prob`` (or the target's column); returns the side file."""
    d = store.resolve_dir(results)
    column = COLUMNS[pred.target]
    values = pred.probabilities(model).rename(columns={"prob": column})
    score = pred.score(model)
    provenance = {
        "target": pred.target, "at": pred.at, "model": model, "hold_out": pred.hold_out,
        "folds": pred.n_folds, "repeats": pred.n_repeats, "scored": pred.n_scored,
        "auroc": score.auroc.value, "auroc_low": score.auroc.low,
        "auroc_high": score.auroc.high,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "meaning": "mean out-of-fold probability over the repeated grouped folds; null: the "
                   "run was not scored (generalized or diverged by the cut)",
    }
    with locks.folder_lock(d):
        try:
            side, meta = sidecar.read_side(d)
        except (OSError, ValueError) as e:  # a corrupt side file is replaced
            print(f"warning: {sidecar.side_path(d)} was unreadable ({e}); replacing it",
                  file=sys.stderr)
            side, meta = None, {}
        side, meta = sidecar.merge_column(side, meta, column, values, provenance)
        store.atomic_write_bytes(sidecar.side_path(d), sidecar.side_bytes(side, meta))
    return sidecar.side_path(d)
