"""Ensembles of fitted detectors: a weighted average of their scores, or stacking (a
logistic regression fitted on their validation scores)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.linear_model import LogisticRegression

from workbench.validation import InputError, check_float


def weighted_average(scores: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Weighted mean of member scores (each in [0, 1]); weights are normalised to sum to 1,
    e.g. ``{"isolation_forest": 0.4, "autoencoder": 0.4, "lstm": 0.2}``."""
    missing = set(weights) - set(scores)
    if missing or not weights:
        raise InputError("weights", dict(weights), f"weights for members among {sorted(scores)}")
    w = {k: check_float(f"weights.{k}", v, 0.0) for k, v in weights.items()}
    total = sum(w.values())
    if total <= 0:
        raise InputError("weights", dict(weights), "non-negative weights with a positive sum")
    return sum(np.asarray(scores[k], np.float64) * v / total for k, v in w.items())


class Stacker:
    """Logistic regression on member scores, fitted on the validation split (never on the
    rows the members were trained on); ``score`` returns the stacked fraud probability."""

    def __init__(self, members: list[str]) -> None:
        if not members:
            raise InputError("members", members, "at least one member name")
        self.members = list(members)

    def _matrix(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        missing = [m for m in self.members if m not in scores]
        if missing:
            raise InputError("scores", sorted(scores), f"scores of every member ({self.members})")
        s = np.column_stack([np.asarray(scores[m], np.float64) for m in self.members])
        return np.log(
            np.clip(s, 1e-6, 1 - 1e-6) / (1 - np.clip(s, 1e-6, 1 - 1e-6))
        )  # logits: scores near 0 and 1 spread out

    def fit(self, scores: Mapping[str, np.ndarray], y: np.ndarray) -> Stacker:
        """Fit on validation scores and labels."""
        self.model_ = LogisticRegression(max_iter=1000).fit(
            self._matrix(scores), np.asarray(y).astype(int)
        )
        return self

    def score(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        """Stacked fraud probability."""
        return self.model_.predict_proba(self._matrix(scores))[:, 1]
