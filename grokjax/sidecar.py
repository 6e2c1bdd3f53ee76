"""Columns computed after training, beside a folder's rows: ``results/NAME/predictions.parquet``.

A side file holds ``run_id`` and one or more columns (``predicted_grok_prob``, written by
``python -m grokjax predict --write``).  ``grokjax.store.load_results`` joins it to the rows by
``run_id`` (a left join: a run without an entry gets null; an entry whose run is gone is
ignored; a column the rows already have is never replaced).  The part files a sweep resumes
from are never touched, so nothing a sweep wrote can be lost by a prediction, and a sweep that
adds runs later leaves the existing predictions in place (its new runs read null until the
next ``predict --write``).  Written atomically by the writer (temp file, then rename); removed
by ``sweep --restart``.  Each column's provenance (target, cut, model, folds) is JSON in the
Parquet schema metadata under ``grokjax.columns``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PREDICTIONS = "predictions.parquet"
META_KEY = b"grokjax.columns"
# predict --write's column for each target, and how the page titles it.
PREDICTION_COLUMNS = {"grok_by_end": "predicted_grok_prob", "gen_by_end": "predicted_gen_prob",
                      "step_to_90": "predicted_early_prob"}
COLUMN_TITLES = {"predicted_grok_prob": "predicted P(grok), out of fold",
                 "predicted_gen_prob": "predicted P(test acc 0.9 by the end), out of fold",
                 "predicted_early_prob": "predicted P(early 0.9), out of fold"}


def side_path(results_dir: str | Path) -> Path:
    return Path(results_dir) / PREDICTIONS


def read_side(results_dir: str | Path) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """(the side table or None, column -> provenance).  Raises pyarrow / OS errors as they
    come (the caller words them)."""
    path = side_path(results_dir)
    if not path.is_file():
        return None, {}
    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
    return table.to_pandas(), meta


def join_side(df: pd.DataFrame, side: pd.DataFrame | None) -> pd.DataFrame:
    """``df`` with the side table's columns (by run_id; rows and their order unchanged)."""
    if side is None or "run_id" not in side.columns or "run_id" not in df.columns:
        return df
    extra = [c for c in side.columns if c != "run_id" and c not in df.columns]
    if not extra:
        return df
    side = side.drop_duplicates("run_id", keep="last").set_index("run_id")[extra]
    out = df.join(side, on="run_id")
    out.index = df.index
    return out


def side_bytes(side: pd.DataFrame, meta: dict[str, Any]) -> bytes:
    """The Parquet file of a side table with its provenance."""
    table = pa.Table.from_pandas(side.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           META_KEY: json.dumps(meta, sort_keys=True).encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def merge_column(side: pd.DataFrame | None, meta: dict[str, Any], column: str,
                 values: pd.DataFrame, provenance: dict[str, Any]
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The side table with ``column`` replaced by ``values`` (run_id, column): other columns
    are kept, for the runs they had."""
    new = values[["run_id", column]]
    if side is not None and "run_id" in side.columns:
        keep = side.drop(columns=[column], errors="ignore")
        new = keep.merge(new, on="run_id", how="outer") if len(keep.columns) > 1 else new
    return new.sort_values("run_id").reset_index(drop=True), {**meta, column: provenance}
