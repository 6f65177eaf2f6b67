"""Cost of a detector to the bank: a cost matrix where every alert costs an investigation
fee (true or false) and every missed fraudulent transaction costs the money it moved
(``loss``); savings are measured against running no model (no alerts, every fraud lost).
A caught fraud costs only its fee: the model is credited with the full amount it stops.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.evaluate.budget import rank_in_day
from workbench.validation import InputError, check_float, check_int


def _check(y: np.ndarray, loss: np.ndarray, n_name: str = "loss") -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    loss = np.asarray(loss, np.float64)
    if loss.shape != y.shape or (loss < 0).any() or not np.isfinite(loss).all():
        raise InputError(n_name, loss.shape, f"one finite non-negative amount per row ({len(y)})")
    return y, loss


def alert_cost(
    y: np.ndarray, loss: np.ndarray, alerts: np.ndarray, fee: float
) -> dict[str, float]:
    """Alerts, investigation cost, missed loss, total cost, the no-model cost (all fraud
    lost) and the savings of the alerts against it."""
    y, loss = _check(y, loss)
    fee = check_float("fee", fee, 0.0)
    a = np.asarray(alerts, bool)
    if a.shape != y.shape:
        raise InputError("alerts", a.shape, f"one flag per row ({len(y)})")
    fraud_loss = np.where(y == 1, loss, 0.0)
    baseline = float(fraud_loss.sum())
    investigation = fee * float(a.sum())
    missed = float(fraud_loss[~a].sum())
    total = investigation + missed
    return {
        "alerts": int(a.sum()),
        "investigation": investigation,
        "missed": missed,
        "cost": total,
        "no_model_cost": baseline,
        "savings": baseline - total,
    }


def cost_curve(
    day: np.ndarray | pd.Series,
    y: np.ndarray,
    loss: np.ndarray,
    s: np.ndarray,
    budgets: list[int],
    fee: float,
) -> pd.DataFrame:
    """:func:`alert_cost` at each daily alert budget ``k`` in ``budgets`` (top ``k``
    transactions per day), one row per budget."""
    if not budgets:
        raise InputError("budgets", budgets, "a non-empty list of daily alert budgets")
    ranks = rank_in_day(day, s)
    return pd.DataFrame(
        [
            {"k": k, **alert_cost(y, loss, ranks <= check_int("budgets", k, 1), fee)}
            for k in budgets
        ]
    )
