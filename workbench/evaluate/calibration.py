"""Calibration: the Brier score and a reliability table (mean score against the observed
fraud rate per bin), for the reliability plot. Bins are quantiles of the score by default:
fraud scores crowd near 0, so equal-width bins would leave all but the first nearly empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.evaluate.ranking import check_scores
from workbench.validation import check_choice, check_int


def brier(y: np.ndarray, s: np.ndarray) -> float:
    """Mean squared difference between score and label (0 is perfect)."""
    y, s = check_scores(y, s)
    return float(np.mean((s - y) ** 2))


def reliability(
    y: np.ndarray, s: np.ndarray, bins: int = 10, strategy: str = "quantile"
) -> pd.DataFrame:
    """Per bin: rows, mean score and observed fraud rate. ``strategy`` is ``quantile``
    (bins of equal rows; tied edges merge) or ``uniform`` (equal-width bins on [0, 1])."""
    y, s = check_scores(y, s)
    bins = check_int("bins", bins, 1, 1000)
    strategy = check_choice("strategy", strategy, ("quantile", "uniform"))
    if strategy == "quantile":
        edges = np.unique(np.quantile(s, np.linspace(0, 1, bins + 1)))
    else:
        edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, max(len(edges) - 2, 0))
    table = (
        pd.DataFrame({"bin": idx, "s": s, "y": y})
        .groupby("bin")
        .agg(rows=("y", "size"), mean_score=("s", "mean"), fraud_rate=("y", "mean"))
    )
    return table.reset_index()
