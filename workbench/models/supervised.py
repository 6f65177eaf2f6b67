"""Supervised tabular detectors with an imbalance strategy from imbalanced-learn.

Models: logistic regression (``lr``), random forest (``rf``), histogram gradient boosting
(``hgb``). Strategies: ``none``, ``class_weight``, ``undersample`` (random undersampling),
``smote``, ``smote_enn``, ``balanced_bagging`` and ``balanced_rf`` (its own forest; model
``rf`` only). Resampling runs inside an imbalanced-learn pipeline, so only training rows are
ever resampled. Every strategy but ``none`` trains as if fraud were far more common than it
is; with ``calibrate`` (default) the scores are corrected back to the training prior by the
prior-shift formula ``odds = odds_model * (pi / (1 - pi)) / (pi_s / (1 - pi_s))`` (pi the
training fraud rate, pi_s the rate the model was trained at), which makes them probabilities
again (Dal Pozzolo et al. 2015).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from imblearn.combine import SMOTEENN
from imblearn.ensemble import BalancedBaggingClassifier, BalancedRandomForestClassifier
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from workbench.models.base import Detector
from workbench.models.trees import compile_hgb
from workbench.validation import InputError, check_choice, check_int

MODELS = ("lr", "rf", "hgb")
STRATEGIES = ("none", "class_weight", "undersample", "smote", "smote_enn", "balanced_bagging", "balanced_rf")


class SupervisedDetector(Detector):
    """A tabular classifier with an imbalance strategy; score = (calibrated) fraud probability."""

    supervised = True

    def __init__(self, model: str = "hgb", strategy: str = "none", calibrate: bool = True, seed: int = 0, **params) -> None:
        self.model = check_choice("model", model, MODELS)
        self.strategy = check_choice("strategy", strategy, STRATEGIES)
        if strategy == "balanced_rf" and model != "rf":
            raise InputError("strategy", strategy, f"balanced_rf with model='rf' only (got model={model!r})")
        self.calibrate = bool(calibrate)
        self.seed = check_int("seed", seed, 0)
        self.params = params
        self.name = f"{model}+{strategy}"

    def _classifier(self):
        weight = "balanced" if self.strategy == "class_weight" else None
        if self.model == "lr":
            return LogisticRegression(max_iter=1000, class_weight=weight, **self.params)
        if self.model == "rf":
            return RandomForestClassifier(n_estimators=self.params.get("n_estimators", 200), min_samples_leaf=self.params.get("min_samples_leaf", 2),
                                          max_depth=self.params.get("max_depth"), class_weight=weight, random_state=self.seed, n_jobs=2)
        return HistGradientBoostingClassifier(class_weight=weight, random_state=self.seed, **self.params)

    def _pipeline(self):
        seed = self.seed
        if self.strategy == "balanced_rf":
            return BalancedRandomForestClassifier(n_estimators=self.params.get("n_estimators", 200), sampling_strategy="all",
                                                  replacement=True, bootstrap=False, random_state=seed, n_jobs=2)
        if self.strategy == "balanced_bagging":
            base = self._classifier()
            if self.model == "rf":  # ten bags of a full forest would be ten forests: one tenth of the trees per bag
                base.set_params(n_estimators=max(10, base.n_estimators // 10))
            return BalancedBaggingClassifier(estimator=base, n_estimators=10, random_state=seed, n_jobs=1)
        sampler = {"undersample": RandomUnderSampler(random_state=seed), "smote": SMOTE(random_state=seed),
                   "smote_enn": SMOTEENN(random_state=seed)}.get(self.strategy)
        steps = ([("resample", sampler)] if sampler is not None else []) + [("model", self._classifier())]
        return Pipeline(steps)

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> SupervisedDetector:
        """Fit on ``X`` with labels ``y`` (both classes needed)."""
        if y is None or len(np.unique(np.asarray(y))) != 2:
            raise InputError("y", None if y is None else np.unique(np.asarray(y)).tolist(), "labels with both classes (0 and 1)")
        values = self._matrix(X, fitting=True)
        y = np.asarray(y).astype(int)
        self.pipeline_ = self._pipeline().fit(values, y)
        self.prior_ = float(y.mean())
        # the prior the model learned at: 0.5 for balancing strategies, the data's otherwise
        self.trained_prior_ = self.prior_ if self.strategy == "none" else 0.5
        self.threshold_ = 0.5
        return self

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Fraud probability in [0, 1] (prior-corrected when ``calibrate``)."""
        return self._calibrated(self.pipeline_.predict_proba(self._matrix(X))[:, 1])

    def score_values(self, values: np.ndarray) -> np.ndarray:
        """:meth:`score` of a matrix of the training features, skipping per-call validation;
        resamplers only act in fit, so a pipeline's last step scores alone. Gradient boosting
        is evaluated by :class:`~workbench.models.trees.CompiledTrees` (the same values,
        without scikit-learn's fixed cost per call)."""
        model = self.pipeline_[-1] if isinstance(self.pipeline_, Pipeline) else self.pipeline_
        if "_trees" not in self.__dict__:
            self._trees = compile_hgb(model)
        if self._trees is not None:
            return self._calibrated(expit(self._trees.raw(self._transform_values(values))))
        return self._calibrated(model.predict_proba(self._transform_values(values))[:, 1])

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_trees", None)  # derived from the fitted model; not part of a package
        return state

    def _calibrated(self, p: np.ndarray) -> np.ndarray:
        """Prior-shift correction of probabilities learned at the rebalanced prior."""
        if not self.calibrate or self.trained_prior_ == self.prior_:
            return p
        ratio = (self.prior_ / (1 - self.prior_)) / (self.trained_prior_ / (1 - self.trained_prior_))
        odds = p / np.maximum(1 - p, 1e-12) * ratio
        return odds / (1 + odds)
