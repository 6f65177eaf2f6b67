"""The detector interface every model implements, built-in or added by a researcher.

``score`` returns one fraud score per row in [0, 1] where **higher means more suspicious**
(a test guards each detector's direction: Isolation Forest's ``decision_function`` is the
opposite). ``predict`` is classic detection: 1 where the score reaches the threshold the
detector learned (its contamination level) or the one given (a business threshold).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from workbench.validation import InputError, check_float


class Detector(BaseEstimator, ABC):
    """A fraud detector: ``fit`` on a training frame, ``score`` in [0, 1], ``predict``.

    Detectors follow scikit-learn's estimator conventions: every parameter is an explicit
    keyword of ``__init__`` stored unchanged, so ``get_params``, ``set_params`` and
    ``sklearn.base.clone`` work (a protocol refits a clone of a packaged detector)."""

    name: str = "detector"
    supervised: bool = False
    threshold_: float | None = None
    features_: list[str] | None = None

    @abstractmethod
    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> Detector:
        """Learn from training rows ``X`` (and labels ``y`` for supervised detectors)."""

    @abstractmethod
    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Fraud score per row of ``X`` in [0, 1]; higher is more suspicious."""

    @staticmethod
    def _checked_params(
        param: str, params: dict | None, estimator: BaseEstimator, reserved: tuple[str, ...] = ()
    ) -> dict:
        """``params`` validated against ``estimator.get_params()``: an unknown name (or one
        the detector sets itself, ``reserved``) is an error naming it and listing what is
        allowed."""
        if params is None:
            return {}
        if not isinstance(params, dict):
            raise InputError(param, params, "a dict of parameter names to values")
        allowed = sorted(set(estimator.get_params(deep=False)) - set(reserved))
        for key in params:
            if key not in allowed:
                raise InputError(
                    f"{param}.{key}",
                    params[key],
                    f"a parameter of {type(estimator).__name__}: " + ", ".join(allowed),
                )
        return dict(params)

    def predict(self, X: pd.DataFrame, threshold: float | None = None) -> np.ndarray:
        """1 where the score reaches ``threshold`` (default: the learned one), else 0."""
        t = self.threshold_ if threshold is None else check_float("threshold", threshold, 0.0, 1.0)
        if t is None:
            raise InputError(
                "threshold", threshold, "a number in [0, 1] (this detector learned none)"
            )
        return (self.score(X) >= t).astype(np.int8)

    def score_values(self, values: np.ndarray) -> np.ndarray:
        """Scores of a float matrix whose columns are the training features in order: the
        stream's fast path for tiny micro-batches (no DataFrame). Equal to :meth:`score` on
        the same rows; subclasses override it to skip per-call validation."""
        return self.score(pd.DataFrame(values, columns=self.features_))

    def _transform_values(self, values: np.ndarray) -> np.ndarray:
        """The fitted imputation and scaling of :meth:`_matrix` as plain numpy (the same
        arithmetic, without scikit-learn's validation, which costs more than the arithmetic
        on a few rows)."""
        values = np.asarray(values, np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.features_ or ()):
            raise InputError(
                "values",
                values.shape,
                f"a (rows, {len(self.features_ or ())}) matrix of the training features",
            )
        imputer, scaler = self.preprocess_[0], self.preprocess_[1]
        filled = np.where(np.isfinite(values), values, imputer.statistics_)
        return (filled - scaler.mean_) / scaler.scale_

    def _matrix(self, X: pd.DataFrame, fitting: bool = False) -> np.ndarray:
        """``X`` as a float matrix: the training feature list (checked when scoring), missing
        values imputed by the training median and scaled by the training mean and standard
        deviation (fitted on training rows only)."""
        if not isinstance(X, pd.DataFrame) or X.empty:
            raise InputError(
                "X", type(X).__name__, "a non-empty pandas DataFrame of numeric features"
            )
        if fitting:
            self.features_ = list(X.columns)
        elif self.features_ is None:
            raise InputError("X", "unfitted detector", "scoring after fit()")
        elif list(X.columns) != self.features_:
            raise InputError(
                "X.columns",
                list(X.columns)[:5],
                f"the training features in order ({self.features_[:5]}...)",
            )
        try:
            values = X.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        except (TypeError, ValueError):
            raise InputError(
                "X", list(X.dtypes.astype(str).unique()), "numeric columns only"
            ) from None
        values[~np.isfinite(values)] = np.nan
        if fitting:
            self.preprocess_ = make_pipeline(
                SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()
            ).fit(values)
        return self.preprocess_.transform(values)
