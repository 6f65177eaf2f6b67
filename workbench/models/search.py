"""Hyperparameter search over a small grid, scored on the validation block of a time split
(never on training rows; the test block stays untouched), reproducible through seeds."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from workbench.models.base import Detector
from workbench.validation import InputError


def grid_search(
    make: Callable[..., Detector],
    grid: Mapping[str, Sequence[Any]],
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_val: pd.DataFrame,
    y_val: np.ndarray,
) -> tuple[pd.DataFrame, Detector]:
    """Fit ``make(**params)`` for every combination of ``grid`` on the training rows, score
    average precision on the validation rows; returns the results (best first) and the best
    fitted detector."""
    if not grid or any(len(v) == 0 for v in grid.values()):
        raise InputError(
            "grid", dict(grid), "a mapping of parameter names to non-empty lists of values"
        )
    if len(np.unique(y_val)) != 2:
        raise InputError("y_val", np.unique(y_val).tolist(), "validation labels with both classes")
    rows, best, best_ap = [], None, -1.0
    names = list(grid)
    for values in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, values))
        t0 = time.perf_counter()
        det = make(**params).fit(X_train, y_train)
        ap = float(average_precision_score(y_val, det.score(X_val)))
        rows.append(
            {**params, "validation_ap": ap, "fit_seconds": round(time.perf_counter() - t0, 2)}
        )
        if ap > best_ap:
            best, best_ap = det, ap
    return pd.DataFrame(rows).sort_values(
        "validation_ap", ascending=False, kind="stable"
    ).reset_index(drop=True), best
