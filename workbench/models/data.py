"""Model-ready frames: point-in-time features joined to labels, and the time split.

Model inputs are chosen by name from the feature registry (:mod:`workbench.features.roles`,
re-exported here as :func:`feature_columns`), never as "everything that is not a label".

Labels: a model is trained on ``is_fraud`` of rows whose label is settled
(``is_train_eligible``), validated and tested on ground truth. The split leaves a gap of the
label delay between blocks (see :func:`workbench.features.splits.time_split`).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from workbench.dataset.reader import open_dataset
from workbench.dataset.truth import label_frame
from workbench.features.roles import feature_columns
from workbench.features.splits import Split, time_split
from workbench.validation import InputError, check_float

__all__ = ["feature_columns", "labels", "model_frame", "standard_split"]


def model_frame(
    data: str | os.PathLike,
    features: str | os.PathLike,
    graph_features: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Features (and optional graph features) of every transaction with its labels (``is_fraud``
    as int8), label timing and the evaluation columns (loss, ring shape, episode start; see
    :func:`~workbench.dataset.truth.label_frame`), ordered by time: what detectors fit on and
    the protocols evaluate."""
    ds = open_dataset(data)
    for param, path in (("features", features), ("graph_features", graph_features)):
        if path is not None and not Path(path).is_file():
            raise InputError(
                param, str(path), "an existing Parquet file written by the feature store"
            )
    con = ds.attach(duckdb.connect())
    extra = (
        f"LEFT JOIN read_parquet('{graph_features}') g USING (txn_id)" if graph_features else ""
    )
    gcols = ", g.* EXCLUDE (txn_id)" if graph_features else ""
    frame = con.execute(f"""
        SELECT f.*{gcols}, t.is_fraud, CAST(t.fraud_type AS VARCHAR) AS fraud_type, t.ring_id,
               t.amount, t.fraud_episode_id, l.is_train_eligible, l.fraud_confirmed_at
        FROM read_parquet('{features}') f JOIN transactions t USING (txn_id)
             JOIN labels l USING (txn_id) {extra}
        ORDER BY f.ts, f.txn_id""").df()
    if frame.empty:
        raise InputError(
            "features", str(features), "a features Parquet file of this dataset's transactions"
        )
    extra = label_frame(data)[["txn_id", "loss", "ring_shape", "episode_start"]]
    frame = frame.merge(extra, on="txn_id", how="left", validate="one_to_one")
    return frame.assign(is_fraud=frame["is_fraud"].astype(np.int8))


def standard_split(
    frame: pd.DataFrame,
    train: float = 0.5,
    validation: float = 0.2,
    test: float = 0.2,
    gap_days: float = 5.0,
) -> Split:
    """Train | gap | validation | gap | test as shares of the window (the rest is gaps),
    training rows restricted to settled labels."""
    for name, value in (("train", train), ("validation", validation), ("test", test)):
        check_float(name, value, 0.01, 1.0)
    span = (frame["ts"].max() - frame["ts"].min()).total_seconds() / 86400
    gap = min(
        check_float("gap_days", gap_days, 0.0), span * max(0.0, 1 - train - validation - test) / 2
    )
    return time_split(
        frame["ts"],
        span * train,
        gap,
        span * validation,
        span * test,
        train_eligible=frame["is_train_eligible"],
    )


def labels(frame: pd.DataFrame) -> np.ndarray:
    """Ground-truth labels as int8."""
    return frame["is_fraud"].to_numpy().astype(np.int8)
