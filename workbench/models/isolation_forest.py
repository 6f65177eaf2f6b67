"""Isolation Forest (scikit-learn), unsupervised, at a contamination level."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from workbench.models.base import Detector
from workbench.validation import check_float, check_int


class IsolationForestDetector(Detector):
    """Isolation Forest whose score is the *negated* ``decision_function`` (sklearn's is higher
    for normal rows), mapped to [0, 1] by the training scores' range; the learned threshold is
    the training score quantile at 1 - contamination. ``estimator_params`` sets any other
    parameter of scikit-learn's ``IsolationForest`` (e.g. ``max_features``, ``bootstrap``);
    unknown names are errors listing the allowed ones."""

    name = "isolation_forest"

    def __init__(
        self,
        contamination: float = 0.01,
        n_estimators: int = 200,
        max_samples: int | str = "auto",
        seed: int = 0,
        estimator_params: dict | None = None,
    ) -> None:
        self.contamination = check_float("contamination", contamination, 1e-4, 0.5)
        self.n_estimators = check_int("n_estimators", n_estimators, 10, 5000)
        self.max_samples = (
            max_samples if max_samples == "auto" else check_int("max_samples", max_samples, 2)
        )
        self.seed = check_int("seed", seed, 0)
        self.estimator_params = estimator_params
        self._checked_params(
            "estimator_params",
            estimator_params,
            IsolationForest(),
            ("n_estimators", "max_samples", "contamination", "random_state"),
        )

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> IsolationForestDetector:
        """Fit on ``X`` (labels are ignored: the detector is unsupervised)."""
        values = self._matrix(X, fitting=True)
        self.model_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            contamination=self.contamination,
            random_state=self.seed,
            **{"n_jobs": 1, **(self.estimator_params or {})},
        ).fit(values)
        raw = -self.model_.decision_function(values)
        self.lo_, self.hi_ = float(raw.min()), float(raw.max())
        self.threshold_ = float(np.quantile(self._scale(raw), 1 - self.contamination))
        return self

    def _scale(self, raw: np.ndarray) -> np.ndarray:
        return np.clip((raw - self.lo_) / max(self.hi_ - self.lo_, 1e-12), 0.0, 1.0)

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Anomaly score in [0, 1]; higher = more isolated = more suspicious."""
        return self._scale(-self.model_.decision_function(self._matrix(X)))
