"""Supervised tabular detectors with an imbalance strategy from imbalanced-learn.

Models: logistic regression (``lr``), random forest (``rf``), scikit-learn's histogram
gradient boosting (``hgb``) and LightGBM (``lgbm``, the gradient-boosting library the field's
baselines use). Strategies: ``none``, ``class_weight``, ``undersample`` (random undersampling),
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
from lightgbm import LGBMClassifier
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from workbench.models.base import Detector
from workbench.models.trees import compile_hgb
from workbench.validation import InputError, check_choice, check_int

MODELS = ("lr", "rf", "hgb", "lgbm")
STRATEGIES = (
    "none",
    "class_weight",
    "undersample",
    "smote",
    "smote_enn",
    "balanced_bagging",
    "balanced_rf",
)
CLASSIFIERS = {
    "lr": LogisticRegression,
    "rf": RandomForestClassifier,
    "hgb": HistGradientBoostingClassifier,
    "lgbm": LGBMClassifier,
}
SAMPLERS = {
    "undersample": RandomUnderSampler,
    "smote": SMOTE,
    "smote_enn": SMOTEENN,
    "balanced_bagging": BalancedBaggingClassifier,
}
# the workbench's defaults where they differ from scikit-learn's / imbalanced-learn's (any of
# them can be overridden through estimator_params / sampler_params)
DEFAULTS = {
    "lr": {"max_iter": 1000},
    "rf": {"n_estimators": 200, "min_samples_leaf": 2, "n_jobs": 2},
    "hgb": {},
    # two threads (the machine's cores), no training log; deterministic and row-wise
    # histograms so the same seed gives the same trees on every run
    "lgbm": {"n_jobs": 2, "verbose": -1, "deterministic": True, "force_row_wise": True},
    "balanced_rf": {
        "n_estimators": 200,
        "sampling_strategy": "all",
        "replacement": True,
        "bootstrap": False,
        "n_jobs": 2,
    },
}
SAMPLER_DEFAULTS = {"balanced_bagging": {"n_estimators": 10, "n_jobs": 1}}
RESERVED = ("class_weight", "random_state")  # set from strategy and seed


class SupervisedDetector(Detector):
    """A tabular classifier with an imbalance strategy; score = (calibrated) fraud probability.

    ``estimator_params`` sets any parameter of the classifier (``LogisticRegression``,
    ``RandomForestClassifier``, ``HistGradientBoostingClassifier``, ``LGBMClassifier``, or for
    ``balanced_rf`` the ``BalancedRandomForestClassifier``; for ``balanced_bagging`` the
    bagged classifier); ``sampler_params`` any parameter of the resampler (or of the
    ``BalancedBaggingClassifier``). Extra keyword arguments are merged into
    ``estimator_params``. Unknown names are errors listing the allowed ones; ``class_weight``
    and ``random_state`` come from ``strategy`` and ``seed``. Defaults are the libraries'
    except :data:`DEFAULTS` and :data:`SAMPLER_DEFAULTS` (a balanced-bagging forest gets a
    tenth of the trees per bag unless ``n_estimators`` is given)."""

    supervised = True

    def __init__(
        self,
        model: str = "hgb",
        strategy: str = "none",
        calibrate: bool = True,
        seed: int = 0,
        estimator_params: dict | None = None,
        sampler_params: dict | None = None,
        **params,
    ) -> None:
        self.model = check_choice("model", model, MODELS)
        self.strategy = check_choice("strategy", strategy, STRATEGIES)
        if strategy == "balanced_rf" and model != "rf":
            raise InputError(
                "strategy", strategy, f"balanced_rf with model='rf' only (got model={model!r})"
            )
        self.calibrate = calibrate
        self.seed = check_int("seed", seed, 0)
        if params:
            estimator_params = {**(estimator_params or {}), **params}
        self.estimator_params = estimator_params
        self.sampler_params = sampler_params
        self._checked_params(
            "estimator_params", estimator_params, self._estimator_class()(), RESERVED
        )
        sampler = SAMPLERS.get(strategy)
        if sampler is None and sampler_params:
            raise InputError(
                "sampler_params",
                sampler_params,
                f"None for strategy={strategy!r} (it has no resampler)",
            )
        if sampler is not None:
            self._checked_params(
                "sampler_params", sampler_params, sampler(), ("estimator", "random_state")
            )

    @property
    def name(self) -> str:
        return f"{self.model}+{self.strategy}"

    def _estimator_class(self):
        if self.strategy == "balanced_rf":
            return BalancedRandomForestClassifier
        return CLASSIFIERS[self.model]

    def _classifier(self):
        key = "balanced_rf" if self.strategy == "balanced_rf" else self.model
        params = {**DEFAULTS[key], **(self.estimator_params or {}), "random_state": self.seed}
        if self.strategy == "class_weight":
            params["class_weight"] = "balanced"
        return self._estimator_class()(**params)

    def _pipeline(self):
        seed = self.seed
        if self.strategy == "balanced_rf":
            return self._classifier()
        sampler_params = {
            **SAMPLER_DEFAULTS.get(self.strategy, {}),
            **(self.sampler_params or {}),
            "random_state": seed,
        }
        if self.strategy == "balanced_bagging":
            base = self._classifier()
            if self.model == "rf" and "n_estimators" not in (self.estimator_params or {}):
                # ten bags of a full forest would be ten forests: one tenth of the trees per bag
                base.set_params(n_estimators=max(10, base.n_estimators // 10))
            return BalancedBaggingClassifier(estimator=base, **sampler_params)
        sampler = SAMPLERS[self.strategy](**sampler_params) if self.strategy in SAMPLERS else None
        steps = ([("resample", sampler)] if sampler is not None else []) + [
            ("model", self._classifier())
        ]
        return Pipeline(steps)

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> SupervisedDetector:
        """Fit on ``X`` with labels ``y`` (both classes needed)."""
        if y is None or len(np.unique(np.asarray(y))) != 2:
            raise InputError(
                "y",
                None if y is None else np.unique(np.asarray(y)).tolist(),
                "labels with both classes (0 and 1)",
            )
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
        ratio = (self.prior_ / (1 - self.prior_)) / (
            self.trained_prior_ / (1 - self.trained_prior_)
        )
        odds = p / np.maximum(1 - p, 1e-12) * ratio
        return odds / (1 + odds)
