"""Evaluation frames: one row per transaction with what the metrics need (time, customer,
card, label, scenario, ring shape, episode and its start, money lost) plus model scores.

- ``label_frame``: a workbench dataset's ground truth (from :mod:`workbench.dataset.truth`).
- ``scores_frame``: the model score products (``data/scores/*.parquet``) joined to it.
- ``external_frame``: any transaction table through a column mapping (features computed
  by the feature store, labels from the table); it has no episodes, scenarios or rings, so
  the delay and per-scenario metrics are empty for it and everything else applies.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.dataset.truth import label_frame
from workbench.validation import InputError


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
            raise InputError(
                f"paths.{task}",
                str(path),
                "an existing score Parquet file (workbench.models.scores)",
            )
        table = pd.read_parquet(path)
        if not {"txn_id", "split"} <= set(table.columns):
            raise InputError(
                f"paths.{task}", str(path), "a score file with txn_id and split columns"
            )
        if merged is None:
            merged = table
            continue
        new = [c for c in table.columns if c not in merged.columns]
        if len(table) != len(merged) or not np.array_equal(
            table["txn_id"].to_numpy(), merged["txn_id"].to_numpy()
        ):
            raise InputError(
                f"paths.{task}", str(path), "score files of the same rows (one pipeline run)"
            )
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
    return (
        label_frame(data)
        .merge(read_scores(paths), on="txn_id", how="inner", validate="one_to_one")
        .sort_values(["ts", "txn_id"], ignore_index=True)
    )


def external_frame(
    table: str | os.PathLike | pd.DataFrame, mapping: Mapping[str, str]
) -> pd.DataFrame:
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
        f"SELECT txn_id, amount, CAST(is_fraud AS TINYINT) AS is_fraud{confirmed} FROM base_all"
    ).df()
    frame = features.merge(labels, on="txn_id", validate="one_to_one").sort_values(
        ["ts", "txn_id"], ignore_index=True
    )
    fraud = frame["is_fraud"].to_numpy() == 1
    return frame.assign(
        loss=frame["amount"],
        fraud_type=np.where(fraud, "unknown", "none"),
        ring_shape="none",
        fraud_episode_id=-1,
        episode_start=pd.NaT,
        is_train_eligible=True,
    )
