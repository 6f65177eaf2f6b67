"""Spend forecasting: each customer's purchase spend in the next days from features at the
cut, by gradient boosting trained on an earlier cut, against naive baselines (the last 30
days' spend; the mean 30-day spend of the history), with MAE and MAPE on the truth."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from workbench.customers.features import as_dataset, customer_features, window_of
from workbench.customers.outcomes import next_spend
from workbench.dataset.reader import Dataset
from workbench.validation import InputError, check_int

__all__ = ["Forecast", "spend_forecast", "forecast_errors"]


@dataclass
class Forecast:
    """Predictions per customer at the test cut (truth, model, baselines) and the errors."""

    predictions: pd.DataFrame
    errors: pd.DataFrame
    model: HistGradientBoostingRegressor
    cuts: dict[str, str]


def forecast_errors(truth: np.ndarray, predictions: pd.DataFrame) -> pd.DataFrame:
    """MAE, and MAPE over the customers who spent something (MAPE is undefined at 0)."""
    truth = np.asarray(truth, float)
    spent = truth > 0
    rows = []
    for name in predictions.columns:
        p = predictions[name].to_numpy(float)
        rows.append({"forecast": name, "mae": float(np.mean(np.abs(p - truth))),
                     "mape": float(np.mean(np.abs(p[spent] - truth[spent]) / truth[spent]))})
    return pd.DataFrame(rows).set_index("forecast")


def spend_forecast(data: str | os.PathLike | Dataset, days: int = 30, seed: int = 0) -> Forecast:
    """Train on features at ``end - 2 * days`` (target: the next ``days``), test at
    ``end - days``; the model predicts log spend (robust to heavy spenders)."""
    days = check_int("days", days, 1, 3650)
    ds = as_dataset(data)
    start, end = window_of(ds)
    test_cut = end - pd.Timedelta(days=days)
    train_cut = test_cut - pd.Timedelta(days=days)
    if train_cut < start + pd.Timedelta(days=7):
        raise InputError("days", days, f"a horizon leaving a week of history before a training "
                                       f"cut in a {(end - start).days}-day window (see "
                                       f"usable_horizon)")
    frames = {}
    for name, cut in (("train", train_cut), ("test", test_cut)):
        X = customer_features(ds, cut)
        y = next_spend(ds, cut, days).reindex(X.index).fillna(0.0)
        frames[name] = (X, y, (cut - start).days)
    X_tr, y_tr, _ = frames["train"]
    X_te, y_te, history = frames["test"]
    model = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                          loss="absolute_error", random_state=seed)
    model.fit(X_tr, np.log1p(y_tr))
    preds = pd.DataFrame({
        "truth": y_te,
        "gradient_boosting": np.expm1(model.predict(X_te)),
        "last_30_days": X_te["spend_30d"] * days / 30.0,
        "seasonal_mean": X_te["spend_90d"] / (min(history, 90) / 30.0) * days / 30.0,
    }, index=X_te.index)
    errors = forecast_errors(preds["truth"].to_numpy(), preds.drop(columns="truth"))
    return Forecast(preds, errors, model, {"train": str(train_cut), "test": str(test_cut)})
