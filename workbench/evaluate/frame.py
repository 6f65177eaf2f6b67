"""Evaluation frames: one row per transaction with what the metrics need (time, customer,
card, label, scenario, ring shape, episode and its start, money lost) plus model scores.

- ``label_frame``: a workbench dataset's ground truth (DuckDB over its Parquet files).
- ``scores_frame``: the model score products (``data/scores/*.parquet``) joined to it.
- ``external_frame``: any transaction table through a column mapping (features computed
  by the feature store, labels from the table); it has no episodes, scenarios or rings, so
  the delay and per-scenario metrics are empty for it and everything else applies.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from workbench.dataset.reader import open_dataset
from workbench.validation import InputError

# one row per transaction; the metric modules name the columns they use
LABELS = ("txn_id", "ts", "customer_id", "card_id", "amount", "loss", "is_fraud", "fraud_type", "ring_shape",
          "fraud_episode_id", "episode_start")


def label_frame(data: str | os.PathLike) -> pd.DataFrame:
    """Ground truth of every transaction of a dataset, ordered by time. ``loss`` is the
    amount of approved rows (a declined fraud moves no money); ``episode_start`` is the time
    of the episode's first fraudulent row anywhere in the data."""
    con = open_dataset(data).attach(duckdb.connect())
    return con.execute("""
        SELECT t.txn_id, t.timestamp AS ts, t.customer_id, t.account_id AS card_id, t.amount,
               CASE WHEN t.status = 'approved' THEN t.amount ELSE 0 END AS loss,
               CAST(t.is_fraud AS TINYINT) AS is_fraud, CAST(t.fraud_type AS VARCHAR) AS fraud_type,
               coalesce(CAST(r.shape AS VARCHAR), 'none') AS ring_shape, t.fraud_episode_id,
               min(CASE WHEN t.is_fraud THEN t.timestamp END) OVER (PARTITION BY t.fraud_episode_id) AS episode_start
        FROM transactions t LEFT JOIN rings r ON t.ring_id = r.ring_id AND t.ring_id >= 0
        ORDER BY t.timestamp, t.txn_id""").df()


def read_scores(paths: Mapping[str, str | os.PathLike]) -> pd.DataFrame:
    """The score products ``{task: path}`` as one frame (txn_id, split, one column per
    model). A model name already taken by an earlier file is skipped: the notebooks that
    train a model as their subject come first (anomaly before supervised before sequence)
    and later notebooks' copies (retrained as baselines) are not evaluated twice."""
    if not paths:
        raise InputError("paths", paths, "a mapping of task names to score Parquet files")
    merged: pd.DataFrame | None = None
    for task, path in paths.items():
        if not Path(path).is_file():
            raise InputError(f"paths.{task}", str(path), "an existing score Parquet file (workbench.models.scores)")
        table = pd.read_parquet(path)
        if not {"txn_id", "split"} <= set(table.columns):
            raise InputError(f"paths.{task}", str(path), "a score file with txn_id and split columns")
        if merged is None:
            merged = table
            continue
        new = [c for c in table.columns if c not in merged.columns]
        if len(table) != len(merged) or not np.array_equal(table["txn_id"].to_numpy(), merged["txn_id"].to_numpy()):
            raise InputError(f"paths.{task}", str(path), "score files of the same rows (one pipeline run)")
        merged = pd.concat([merged, table[new]], axis=1)
    return merged


def model_names(frame: pd.DataFrame) -> list[str]:
    """The score columns of an evaluation frame: the columns no role of
    :mod:`workbench.features.roles` claims (score products hold only keys, the split and
    one column per model)."""
    from workbench.features.roles import role

    return [c for c in frame.columns if role(c) is None]


def scores_frame(data: str | os.PathLike, paths: Mapping[str, str | os.PathLike]) -> pd.DataFrame:
    """Labels joined to the score products: the validation and test rows with each model's
    score."""
    return label_frame(data).merge(read_scores(paths), on="txn_id", how="inner", validate="one_to_one").sort_values(["ts", "txn_id"], ignore_index=True)


def external_frame(table: str | os.PathLike | pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """Features and labels of an external transaction table (see module docstring): the
    catalogue features the mapped columns allow, plus the label columns. A mapped
    ``confirmed_at`` becomes ``fraud_confirmed_at`` (when the bank learnt each fraud); without
    it the frame has no label timing, and protocols that need it refuse unless told that
    labels were known immediately."""
    from workbench.features.store import compute_features, table_source

    source = table_source(table, dict(mapping))
    features = compute_features(source)
    timed = "confirmed_at" in source.available
    confirmed = ", confirmed_at AS fraud_confirmed_at" if timed else ""
    labels = source.con.execute(
        f"SELECT txn_id, amount, CAST(is_fraud AS TINYINT) AS is_fraud{confirmed} "
        "FROM base_all").df()
    frame = features.merge(labels, on="txn_id", validate="one_to_one").sort_values(["ts", "txn_id"], ignore_index=True)
    fraud = frame["is_fraud"].to_numpy() == 1
    return frame.assign(loss=frame["amount"], fraud_type=np.where(fraud, "unknown", "none"), ring_shape="none",
                        fraud_episode_id=-1, episode_start=pd.NaT, is_train_eligible=True)


def study_frame(data: str | os.PathLike, features: str | os.PathLike, graph_features: str | os.PathLike | None = None) -> pd.DataFrame:
    """The model frame (features, labels, split metadata; :func:`workbench.models.data.model_frame`)
    with the evaluation columns added: what the protocols fit on and evaluate."""
    from workbench.models.data import model_frame

    frame = model_frame(data, features, graph_features)
    extra = label_frame(data)[["txn_id", "loss", "ring_shape", "episode_start"]]
    frame = frame.merge(extra, on="txn_id", how="left", validate="one_to_one")
    return frame.assign(is_fraud=frame["is_fraud"].astype(np.int8))
