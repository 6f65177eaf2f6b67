"""Reason codes for gradient-boosted trees: tree-path contributions (Saabas).

Each node of a fitted :class:`~sklearn.ensemble.HistGradientBoostingClassifier` (or
regressor) gets an expected value, the training-count-weighted mean of its leaves' values.
Walking a row from root to leaf, each split moves the expectation from the parent's to the
child's; that change is credited to the split's feature. Per row the credits plus the bias
(the model's baseline plus every tree's root expectation) add up exactly to the model's raw
score (the log-odds for a classifier), which a test checks. For a workbench detector the
rows go through its fitted imputation and scaling first (per column, so the credits keep
their feature names).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.validation import InputError

__all__ = ["tree_contributions", "reason_codes", "global_importance", "boosted_model"]


def boosted_model(model: object) -> object:
    """The fitted histogram gradient-boosting estimator inside ``model`` (itself, the last
    step of a pipeline, or a workbench detector's)."""
    inner = getattr(model, "pipeline_", model)
    inner = inner[-1] if hasattr(inner, "steps") else inner
    if not hasattr(inner, "_predictors") or not hasattr(inner, "_baseline_prediction"):
        raise InputError("model", type(model).__name__,
                         "a fitted HistGradientBoosting model (or a detector holding one)")
    if np.asarray(inner._baseline_prediction).size != 1:
        raise InputError("model", type(model).__name__, "a binary classifier or a regressor")
    return inner


def _expectations(nodes: np.ndarray) -> np.ndarray:
    """Count-weighted mean leaf value below each node (children have higher indices)."""
    value = nodes["value"].astype(float).copy()
    count = nodes["count"].astype(float).copy()
    for i in range(len(nodes) - 1, -1, -1):
        if not nodes["is_leaf"][i]:
            left, right = nodes["left"][i], nodes["right"][i]
            total = count[left] + count[right]
            count[i] = total
            value[i] = (value[left] * count[left] + value[right] * count[right]) / max(total, 1)
    return value


def tree_contributions(model: object, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, float]:
    """Per row and feature the contribution to the raw score, and the bias common to all
    rows: ``contributions.sum(axis=1) + bias`` is the model's raw score."""
    est = boosted_model(model)
    # a workbench detector imputes and scales before its trees: explain what they saw
    values = model._matrix(X) if hasattr(model, "_matrix") else np.asarray(X, dtype=float)
    n, p = values.shape
    contrib = np.zeros((n, p))
    bias = float(np.asarray(est._baseline_prediction).ravel()[0])
    rows = np.arange(n)
    for predictors in est._predictors:
        nodes = predictors[0].nodes
        expect = _expectations(nodes)
        bias += expect[0]
        node = np.zeros(n, dtype=np.int64)
        leaf = nodes["is_leaf"].astype(bool)
        active = ~leaf[node]
        while active.any():
            r, cur = rows[active], node[active]
            feat = nodes["feature_idx"][cur].astype(np.int64)
            x = values[r, feat]
            go_left = np.where(np.isnan(x), nodes["missing_go_to_left"][cur].astype(bool),
                               x <= nodes["num_threshold"][cur])
            child = np.where(go_left, nodes["left"][cur], nodes["right"][cur]).astype(np.int64)
            np.add.at(contrib, (r, feat), expect[child] - expect[cur])
            node[active] = child
            active = ~leaf[node]
    return contrib, bias


def reason_codes(model: object, X: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """The ``top`` features pushing each row's score up most, with their contributions."""
    contrib, _ = tree_contributions(model, X)
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
    names = np.asarray(X.columns)
    out = {}
    for k in range(top):
        out[f"reason_{k + 1}"] = names[order[:, k]]
        out[f"contribution_{k + 1}"] = contrib[np.arange(len(X)), order[:, k]]
    return pd.DataFrame(out, index=X.index)


def global_importance(model: object, X: pd.DataFrame) -> pd.Series:
    """Mean absolute contribution of each feature over the rows of ``X``, largest first."""
    contrib, _ = tree_contributions(model, X)
    return pd.Series(np.abs(contrib).mean(axis=0), index=X.columns).sort_values(ascending=False)
