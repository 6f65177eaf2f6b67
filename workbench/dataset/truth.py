"""A dataset's ground truth per transaction: what models are trained on and metrics count."""

from __future__ import annotations

import os

import duckdb
import pandas as pd

from workbench.dataset.reader import open_dataset

# one row per transaction; the metric modules name the columns they use
LABELS = (
    "txn_id",
    "ts",
    "customer_id",
    "card_id",
    "amount",
    "loss",
    "is_fraud",
    "fraud_type",
    "ring_shape",
    "fraud_episode_id",
    "episode_start",
)


def label_frame(data: str | os.PathLike) -> pd.DataFrame:
    """Ground truth of every transaction of a dataset, ordered by time. ``loss`` is the
    amount of approved rows (a declined fraud moves no money); ``episode_start`` is the time
    of the episode's first fraudulent row anywhere in the data."""
    con = open_dataset(data).attach(duckdb.connect())
    return con.execute("""
        SELECT t.txn_id, t.timestamp AS ts, t.customer_id, t.account_id AS card_id, t.amount,
               CASE WHEN t.status = 'approved' THEN t.amount ELSE 0 END AS loss,
               CAST(t.is_fraud AS TINYINT) AS is_fraud,
               CAST(t.fraud_type AS VARCHAR) AS fraud_type,
               coalesce(CAST(r.shape AS VARCHAR), 'none') AS ring_shape, t.fraud_episode_id,
               min(CASE WHEN t.is_fraud THEN t.timestamp END)
                   OVER (PARTITION BY t.fraud_episode_id) AS episode_start
        FROM transactions t LEFT JOIN rings r ON t.ring_id = r.ring_id AND t.ring_id >= 0
        ORDER BY t.timestamp, t.txn_id""").df()
