"""Leakage-free splits: time-based train / validation / test with delay gaps, prequential
folds, removal of cards already known to be compromised, and train-only preprocessing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from workbench.validation import InputError, check_float, check_int

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Split:
    """Boolean masks over the rows of one split."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def time_split(times: pd.Series, train_days: float, gap_days: float, validation_days: float, test_days: float,
               train_eligible: pd.Series | None = None, start: pd.Timestamp | None = None) -> Split:
    """train | gap | validation | gap | test, consecutive from ``start`` (default: the first
    row). The gap (set it to the label delay) keeps rows whose labels were not yet known at
    the end of a block out of the next; training rows must be ``train_eligible``."""
    for name, value in (("train_days", train_days), ("validation_days", validation_days), ("test_days", test_days)):
        check_float(name, value, 0.01)
    check_float("gap_days", gap_days, 0.0)
    t = pd.to_datetime(pd.Series(times)).reset_index(drop=True)
    t0 = pd.Timestamp(start) if start is not None else t.min().normalize()
    a = t0 + train_days * DAY
    b = a + gap_days * DAY
    c = b + validation_days * DAY
    d = c + gap_days * DAY
    e = d + test_days * DAY
    if e > t.max() + DAY:
        raise InputError("test_days", test_days, f"blocks that fit in the data (they end {e}, the data ends {t.max()})")
    eligible = np.ones(len(t), bool) if train_eligible is None else np.asarray(train_eligible, bool)
    return Split(((t >= t0) & (t < a)).to_numpy() & eligible, ((t >= b) & (t < c)).to_numpy(), ((t >= d) & (t < e)).to_numpy())


def prequential_folds(times: pd.Series, n_folds: int, train_days: float, gap_days: float, test_days: float,
                      end: pd.Timestamp | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds of (training block, delay gap, test block), the most recent first, each shifted
    back by one test block; returns (train mask, test mask) per fold."""
    n_folds = check_int("n_folds", n_folds, 1, 1000)
    check_float("gap_days", gap_days, 0.0)
    t = pd.to_datetime(pd.Series(times)).reset_index(drop=True)
    end = pd.Timestamp(end) if end is not None else t.max().normalize() + DAY
    folds = []
    for i in range(n_folds):
        test_end = end - i * test_days * DAY
        test_start = test_end - test_days * DAY
        train_end = test_start - gap_days * DAY
        train_start = train_end - train_days * DAY
        if train_start < t.min().normalize():
            raise InputError("n_folds", n_folds, f"at most {i} folds of these lengths in this data")
        folds.append((((t >= train_start) & (t < train_end)).to_numpy(), ((t >= test_start) & (t < test_end)).to_numpy()))
    return folds


def drop_known_compromised(test: np.ndarray, times: pd.Series, cards: pd.Series, fraud_confirmed_at: pd.Series) -> np.ndarray:
    """Remove from ``test`` the rows of cards with a fraud confirmed before the row's day:
    an investigator would already have blocked them, so they inflate test metrics."""
    t = pd.to_datetime(pd.Series(times)).reset_index(drop=True)
    confirmed = pd.DataFrame({"card": np.asarray(cards), "at": pd.to_datetime(pd.Series(fraud_confirmed_at)).reset_index(drop=True)})
    first = confirmed.dropna().groupby("card")["at"].min()
    known_since = pd.Series(np.asarray(cards)).map(first)
    return np.asarray(test) & ~(known_since.notna() & (known_since < t.dt.normalize())).to_numpy()


def fit_preprocessor(train: pd.DataFrame, numeric: list[str], categorical: list[str] = ()) -> ColumnTransformer:
    """Median imputation and standard scaling of ``numeric``, one-hot encoding of
    ``categorical``, fitted on the training rows only."""
    missing = [c for c in [*numeric, *categorical] if c not in train.columns]
    if missing:
        raise InputError("columns", missing, "columns of the training frame")
    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(numeric)),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), list(categorical))])
    return pre.fit(train)
