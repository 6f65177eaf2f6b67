"""Leakage-free splits: time-based train / validation / test with delay gaps, the reference
train | delay | test split, prequential folds, removal of cards already known to be
compromised, and train-only preprocessing."""

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


def _blocks(
    times: pd.Series,
    start: pd.Timestamp | str | None,
    days: list[float],
    train_eligible: pd.Series | None,
) -> list[np.ndarray]:
    """Masks of consecutive blocks of ``days`` from ``start`` (default: the first row's
    day); the first block keeps only ``train_eligible`` rows. The last must fit the data."""
    t = pd.to_datetime(pd.Series(times)).reset_index(drop=True)
    edge = _start(t, start)
    masks = []
    for length in days:
        end = edge + length * DAY
        masks.append(((t >= edge) & (t < end)).to_numpy())
        edge = end
    if edge > t.max() + DAY:
        raise InputError(
            "test_days",
            days[-1],
            f"blocks that fit in the data (they end {edge}, the data ends {t.max()})",
        )
    if train_eligible is not None:
        masks[0] = masks[0] & np.asarray(train_eligible, bool)
    return masks


def time_split(
    times: pd.Series,
    train_days: float,
    gap_days: float,
    validation_days: float,
    test_days: float,
    train_eligible: pd.Series | None = None,
    start: pd.Timestamp | None = None,
) -> Split:
    """train | gap | validation | gap | test, consecutive from ``start`` (default: the first
    row). The gap (set it to the label delay) keeps rows whose labels were not yet known at
    the end of a block out of the next; training rows must be ``train_eligible``."""
    for name, value in (
        ("train_days", train_days),
        ("validation_days", validation_days),
        ("test_days", test_days),
    ):
        check_float(name, value, 0.01)
    check_float("gap_days", gap_days, 0.0)
    days = [train_days, gap_days, validation_days, gap_days, test_days]
    train, _, validation, _, test = _blocks(times, start, days, train_eligible)
    return Split(train, validation, test)


def train_delay_test(
    times: pd.Series,
    start: pd.Timestamp | str | None = None,
    train_days: float = 7.0,
    delay_days: float = 7.0,
    test_days: float = 7.0,
    train_eligible: pd.Series | None = None,
) -> Split:
    """The single split of the field's reference protocol: a training block from ``start``
    (default: the first row's day), a delay block as long as the label delay (its rows are
    neither trained nor tested on), then the test block; 7 days each by default. The
    validation mask is empty."""
    for name, value in (("train_days", train_days), ("test_days", test_days)):
        check_float(name, value, 0.01)
    check_float("delay_days", delay_days, 0.0)
    train, _, test = _blocks(times, start, [train_days, delay_days, test_days], train_eligible)
    return Split(train, np.zeros(len(train), bool), test)


def _start(t: pd.Series, start: pd.Timestamp | str | None) -> pd.Timestamp:
    """``start`` as a timestamp (default: the first row's day); it must not be after the data."""
    if start is None:
        return t.min().normalize()
    try:
        t0 = pd.Timestamp(start)
    except (TypeError, ValueError):
        raise InputError("start", start, "a timestamp such as '2025-01-01'") from None
    if t0 > t.max():
        raise InputError("start", str(start), f"a time before the data ends ({t.max()})")
    return t0


def prequential_folds(
    times: pd.Series,
    n_folds: int,
    train_days: float,
    gap_days: float,
    test_days: float,
    end: pd.Timestamp | None = None,
    start: pd.Timestamp | str | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds of (training block, delay gap, test block), the most recent first, each shifted
    by one test block; returns (train mask, test mask) per fold. With ``start`` the folds
    are anchored there (the first fold's training block starts at ``start`` and each later
    fold moves forward one test block); otherwise the most recent test block ends at
    ``end`` (default: the day after the last row) and earlier folds move back."""
    n_folds = check_int("n_folds", n_folds, 1, 1000)
    check_float("gap_days", gap_days, 0.0)
    check_float("train_days", train_days, 0.01)
    check_float("test_days", test_days, 0.01)
    if start is not None and end is not None:
        raise InputError(
            "start", str(start), "None when end is given (anchor the folds at one end)"
        )
    t = pd.to_datetime(pd.Series(times)).reset_index(drop=True)
    span = (train_days + gap_days + test_days) * DAY
    if start is not None:
        t0 = _start(t, start)
        end = t0 + span + (n_folds - 1) * test_days * DAY
        if end > t.max() + DAY:
            raise InputError(
                "n_folds",
                n_folds,
                f"folds that end inside the data from "
                f"start={t0} (they end {end}, the data ends {t.max()})",
            )
    end = pd.Timestamp(end) if end is not None else t.max().normalize() + DAY
    folds = []
    for i in range(n_folds):
        test_end = end - i * test_days * DAY
        test_start = test_end - test_days * DAY
        train_end = test_start - gap_days * DAY
        train_start = train_end - train_days * DAY
        if train_start < t.min().normalize():
            raise InputError(
                "n_folds", n_folds, f"at most {i} folds of these lengths in this data"
            )
        folds.append(
            (
                ((t >= train_start) & (t < train_end)).to_numpy(),
                ((t >= test_start) & (t < test_end)).to_numpy(),
            )
        )
    return folds


def drop_known_compromised(
    test: np.ndarray,
    times: pd.Series,
    cards: pd.Series,
    fraud_confirmed_at: pd.Series,
    is_fraud: pd.Series,
    start: pd.Timestamp | str,
) -> np.ndarray:
    """Remove from ``test`` the rows of cards already known to be compromised: a fraudulent
    row of the card at or after ``start`` (the look-back start, usually the training
    block's start) whose fraud was confirmed before the test row's day. An investigator
    would have blocked those cards, so they inflate test metrics. Only rows labelled fraud
    count: a confirmation time on a legitimate row means nothing."""
    t = pd.to_datetime(pd.Series(times)).reset_index(drop=True)
    t0 = _start(t, start)
    fraud = np.asarray(is_fraud).astype(bool)
    sizes = {len(fraud), len(np.asarray(cards)), len(np.asarray(fraud_confirmed_at)), len(test)}
    if sizes != {len(t)}:
        raise InputError("is_fraud", len(fraud), f"one value per row ({len(t)})")
    at = pd.to_datetime(pd.Series(fraud_confirmed_at)).reset_index(drop=True)
    counted = fraud & (t >= t0).to_numpy() & at.notna().to_numpy()
    first = pd.Series(at[counted].to_numpy()).groupby(np.asarray(cards)[counted]).min()
    known_since = pd.Series(np.asarray(cards)).map(first)
    return np.asarray(test) & ~(known_since.notna() & (known_since < t.dt.normalize())).to_numpy()


def fit_preprocessor(
    train: pd.DataFrame, numeric: list[str], categorical: list[str] = ()
) -> ColumnTransformer:
    """Median imputation and standard scaling of ``numeric``, one-hot encoding of
    ``categorical``, fitted on the training rows only."""
    missing = [c for c in [*numeric, *categorical] if c not in train.columns]
    if missing:
        raise InputError("columns", missing, "columns of the training frame")
    pre = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                list(numeric),
            ),
            ("cat", OneHotEncoder(handle_unknown="ignore"), list(categorical)),
        ]
    )
    return pre.fit(train)
