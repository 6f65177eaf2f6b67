"""Model scores as a pipeline product: one row per validation/test transaction with each
model's score, written atomically, read by later notebooks (ensembles, evaluation)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.features.splits import Split
from workbench.io import write_parquet
from workbench.validation import InputError


def split_column(split: Split) -> np.ndarray:
    """'train', 'validation', 'test' or '' (gaps) per row."""
    out = np.full(len(split.train), "", dtype=object)
    out[split.train], out[split.validation], out[split.test] = "train", "validation", "test"
    return out


def write_scores(
    frame: pd.DataFrame, split: Split, scores: dict[str, np.ndarray], out: str | os.PathLike
) -> Path:
    """Write txn_id, split and every model's score for the validation and test rows (scores
    given for all rows of ``frame``)."""
    for name, s in scores.items():
        if len(s) != len(frame):
            raise InputError(
                f"scores.{name}", len(s), f"one score per row of the frame ({len(frame)})"
            )
    keep = split.validation | split.test
    table = pd.DataFrame(
        {
            "txn_id": frame["txn_id"].to_numpy()[keep],
            "split": split_column(split)[keep],
            **{k: np.asarray(v, np.float64)[keep] for k, v in scores.items()},
        }
    )
    return write_parquet(out, table)
