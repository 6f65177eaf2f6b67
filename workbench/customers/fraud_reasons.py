"""Reason codes for the fraud models of :mod:`workbench.models`: a gradient-boosted
detector trained on the standard split of the point-in-time transaction features, and the
top reasons for its most suspicious test transactions."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.customers.explain import global_importance, reason_codes
from workbench.models.data import feature_columns, labels, model_frame, standard_split
from workbench.models.supervised import SupervisedDetector
from workbench.validation import check_int

__all__ = ["FraudReasons", "fraud_reasons"]


@dataclass
class FraudReasons:
    """The fitted detector, its test rows' features, the reasons of the top-scored rows and
    the global importance."""

    detector: SupervisedDetector
    X_test: pd.DataFrame
    reasons: pd.DataFrame
    importance: pd.Series


def fraud_reasons(data: str | os.PathLike, features: str | os.PathLike, seed: int = 0,
                  top_rows: int = 5, top: int = 3) -> FraudReasons:
    """Fit ``hgb`` on the training block and explain the ``top_rows`` highest test scores."""
    top_rows = check_int("top_rows", top_rows, 1, 10_000)
    frame = model_frame(data, features)
    cols = feature_columns(frame)
    split = standard_split(frame)
    y = labels(frame)
    # a small boosted model: the point is to explain one, not to win the fraud benchmark
    det = SupervisedDetector(model="hgb", seed=seed, max_iter=50).fit(frame.loc[split.train, cols],
                                                         y[split.train])
    X_test = frame.loc[split.test, cols]
    pick = X_test.index[np.argsort(-det.score(X_test), kind="stable")[:top_rows]]
    reasons = reason_codes(det, X_test.loc[pick], top)
    reasons.insert(0, "is_fraud", y[split.test][np.searchsorted(X_test.index, pick)])
    reasons.insert(1, "fraud_type", frame.loc[pick, "fraud_type"].to_numpy())
    sample = X_test.iloc[:: max(len(X_test) // 5000, 1)]
    return FraudReasons(det, X_test, reasons, global_importance(det, sample))
