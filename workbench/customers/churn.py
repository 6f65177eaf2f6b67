"""The churn study: predict who leaves within a horizon, trained on earlier cut-offs and
tested on a later one, against a naive baseline.

Time split without leakage: a training cut-off's outcome window must end by the test cut
(``train_cut + horizon <= test_cut``), so nothing after the test cut reaches the model.
With ``before_wind_down`` the test customers who had already decided to leave at the cut
(their fading is visible) are set aside and counted in the notes: the model must predict
from causes, not from a departure already under way (possible only with a horizon longer
than the wind-down).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from workbench.customers.features import as_dataset, customer_features, window_of
from workbench.customers.outcomes import churn_outcome
from workbench.dataset.reader import Dataset
from workbench.evaluate.calibration import brier, reliability
from workbench.models.supervised import SupervisedDetector
from workbench.validation import InputError, check_int

CHURN_MODELS = ("lr", "hgb")
# churners are few: shallow, slow, regularised trees (and a scaled logistic regression)
CHURN_PARAMS = {"lr": {"max_iter": 2000, "C": 0.1},
                "hgb": {"max_iter": 150, "learning_rate": 0.05, "max_leaf_nodes": 8,
                        "min_samples_leaf": 40, "l2_regularization": 1.0}}
# a naive score: customers buying less than they used to leave (needs no training)
BASELINE = "purchase_trend"
__all__ = ["ChurnStudy", "churn_cutoffs", "churn_frames", "churn_study", "lift_at",
           "campaign_curve", "CHURN_MODELS"]


@dataclass
class ChurnStudy:
    """What the churn study produced: metrics per model, the test frame with scores,
    fitted models, and notes on what was set aside."""

    metrics: pd.DataFrame
    test: pd.DataFrame
    models: dict[str, SupervisedDetector]
    features: list[str]
    cutoffs: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)


def churn_cutoffs(data: str | os.PathLike | Dataset, horizon_days: int = 30,
                  train_cuts: int = 2, step_days: int = 7,
                  min_history_days: int = 10) -> tuple[list[pd.Timestamp], pd.Timestamp]:
    """Training cut-offs and the test cut-off: the test cut leaves ``horizon_days`` before
    the window's end; training cuts step back ``step_days`` from ``horizon_days`` before the
    test cut, each with at least ``min_history_days`` of history."""
    horizon_days = check_int("horizon_days", horizon_days, 1, 3650)
    train_cuts = check_int("train_cuts", train_cuts, 1, 52)
    step_days = check_int("step_days", step_days, 1, 365)
    start, end = window_of(as_dataset(data))
    test = end - pd.Timedelta(days=horizon_days)
    first = test - pd.Timedelta(days=horizon_days)
    cuts = [first - pd.Timedelta(days=step_days * k) for k in range(train_cuts)]
    cuts = [c for c in cuts if c >= start + pd.Timedelta(days=min_history_days)]
    if not cuts:
        days = (end - start).days
        raise InputError("horizon_days", horizon_days,
                         f"a horizon leaving a training cut with {min_history_days} days of "
                         f"history in a {days}-day window (at most "
                         f"{(days - min_history_days) // 2})")
    return sorted(cuts), test


def churn_frames(data: str | os.PathLike | Dataset, cut: pd.Timestamp,
                 horizon_days: int) -> pd.DataFrame:
    """Features as of ``cut`` joined with the churn outcome after it (and the cut)."""
    ds = as_dataset(data)
    frame = customer_features(ds, cut).join(churn_outcome(ds, cut, horizon_days), how="inner")
    return frame.assign(cut=cut)


def lift_at(y: np.ndarray, s: np.ndarray, share: float = 0.1) -> float:
    """Churn rate among the top ``share`` scores over the overall churn rate."""
    y = np.asarray(y)
    k = max(int(round(len(y) * share)), 1)
    top = np.argsort(-np.asarray(s), kind="stable")[:k]
    return float(y[top].mean() / y.mean()) if y.mean() > 0 else float("nan")


def campaign_curve(y: np.ndarray, s: np.ndarray, contact_cost: float = 50.0,
                   retained_value: float = 2000.0, save_rate: float = 0.3) -> pd.DataFrame:
    """Net value of a retention campaign contacting the top-scored customers: each contact
    costs ``contact_cost``; a contacted churner is kept with probability ``save_rate`` and is
    worth ``retained_value``. One row per number contacted (0 .. all)."""
    y = np.asarray(y)[np.argsort(-np.asarray(s), kind="stable")]
    contacted = np.arange(len(y) + 1)
    caught = np.r_[0, np.cumsum(y)]
    net = caught * save_rate * retained_value - contacted * contact_cost
    return pd.DataFrame({"contacted": contacted, "churners_reached": caught, "net_value": net})


def _metrics(y: np.ndarray, s: np.ndarray, probability: bool) -> dict[str, float]:
    out = {"roc_auc": float(roc_auc_score(y, s)), "average_precision":
           float(average_precision_score(y, s)), "lift_top_decile": lift_at(y, s)}
    out["brier"] = brier(y, s) if probability else float("nan")
    return out


def churn_study(data: str | os.PathLike | Dataset, horizon_days: int = 30,
                train_cuts: int = 2, before_wind_down: bool | None = None, seed: int = 0,
                models: tuple[str, ...] = CHURN_MODELS) -> ChurnStudy:
    """Train the churn models on the training cut-offs and score the test cut-off (see the
    module docstring); the naive baseline is the falling purchase trend. ``before_wind_down``
    None sets the fading customers aside (in training too) when test churners remain without
    them, and says so in the notes either way."""
    for m in models:
        if m not in CHURN_MODELS:
            raise InputError("models", list(models), "models among " + ", ".join(CHURN_MODELS))
    ds = as_dataset(data)
    cuts, test_cut = churn_cutoffs(ds, horizon_days, train_cuts)
    train = pd.concat([churn_frames(ds, c, horizon_days) for c in cuts])
    test = churn_frames(ds, test_cut, horizon_days)
    features = [c for c in customer_features_names(test) if c in train.columns]
    notes = []
    fading = test["fading"].to_numpy()
    kept = test["churned"].to_numpy()[~fading]
    if before_wind_down is None:
        before_wind_down = bool(kept.any())
        if not before_wind_down:
            notes.append("no test churner decided after the cut (the horizon is not longer "
                         "than the wind-down): fading customers stay in the test")
    if before_wind_down:
        notes.append(f"{int(fading.sum())} test customers already fading at the cut set aside "
                     f"({int(test['churned'][fading].sum())} of them churned)")
        test = test[~fading]
        train = train[~train["fading"].to_numpy()]  # the same population in training
    for name, part in (("train", train), ("test", test)):
        if part["churned"].nunique() < 2:
            raise InputError("horizon_days", horizon_days,
                             f"a horizon with churners and stayers in the {name} cut-offs")
    y_train, y_test = train["churned"].to_numpy(), test["churned"].to_numpy()
    fitted, rows, scored = {}, [], test[["churned", "fading"]].copy()
    for m in models:
        det = SupervisedDetector(model=m, seed=seed, **CHURN_PARAMS[m])
        det.fit(train[features], y_train)
        fitted[m] = det
        scored[m] = det.score(test[features])
        rows.append({"model": m, **_metrics(y_test, scored[m], True)})
    scored["baseline"] = -test[BASELINE].to_numpy()
    rows.append({"model": f"baseline (-{BASELINE})", **_metrics(y_test, scored["baseline"],
                                                                  False)})
    rows.append({"model": "random", "roc_auc": 0.5, "average_precision": float(y_test.mean()),
                 "lift_top_decile": 1.0, "brier": float("nan")})
    metrics = pd.DataFrame(rows).set_index("model")
    metrics["test_customers"] = len(test)
    metrics["test_churn_rate"] = float(y_test.mean())
    cutoffs = {"train": [str(c) for c in cuts], "test": [str(test_cut)]}
    return ChurnStudy(metrics, scored.join(test[features]), fitted, features, cutoffs, notes)


def customer_features_names(frame: pd.DataFrame) -> list[str]:
    """The feature columns of a churn frame (the catalogue's, by name)."""
    from workbench.customers.catalogue import customer_catalogue

    return [f.name for f in customer_catalogue() if f.name in frame.columns]


def calibration_table(study: ChurnStudy, model: str = "hgb", bins: int = 5) -> pd.DataFrame:
    """Reliability of a churn model's probabilities on the test cut-off."""
    return reliability(study.test["churned"].to_numpy(), study.test[model].to_numpy(), bins)
